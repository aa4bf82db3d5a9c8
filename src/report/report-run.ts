/**
 * The end of an unattended run, for the CLI and for code alike: the report by mail when the settings
 * want one, then the line of the log. Neither can change the run's exit status or its backups: a
 * mail that cannot be sent, or a log that cannot be written, comes back as a warning to show.
 */
import type { MailSettings } from '../config/mail-settings.js';
import { mailWanted, sendReport } from './mail.js';
import { appendLog, logLine, type LogLine } from './run-log.js';
import type { RunSummary } from './summary.js';

export interface ReportSettings {
  /** The `mail:` block (null or absent: no mail). */
  mail?: MailSettings | null;
  /** The file of `--log` (absent: no log line). */
  log?: string;
}

export interface ReportOutcome {
  mail: LogLine['mail'];
  /** Each a sentence for stderr, beginning `warning:`. */
  warnings: string[];
}

export async function reportRun(summary: RunSummary, settings: ReportSettings): Promise<ReportOutcome> {
  const warnings: string[] = [];
  let mail: LogLine['mail'] = 'none';
  const m = settings.mail ?? null;
  if (m !== null) {
    if (!mailWanted(m, summary)) mail = 'not wanted';
    else {
      try {
        await sendReport(m, summary);
        mail = 'sent';
      } catch (e) {
        mail = 'failed';
        warnings.push(`warning: the report could not be mailed to ${m.to.join(', ')} through ${m.host}:${m.port} (${(e as Error).message}); the backup is not affected.`);
      }
    }
  }
  if (settings.log !== undefined) {
    try {
      await appendLog(settings.log, logLine(summary, mail, warnings));
    } catch (e) {
      warnings.push(`warning: could not append to the log ${settings.log} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the backup is not affected.`);
    }
  }
  return { mail, warnings };
}
