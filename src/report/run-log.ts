/**
 * `pack --log FILE`: one line appended per run, a JSON object (README "Running from cron" documents
 * its keys): when it started and ended, the counts, the outcome and exit status, and any warning
 * (a report that could not be mailed). One write with O_APPEND, so runs never interleave lines.
 */
import { appendFile } from 'node:fs/promises';
import type { RunSummary } from './summary.js';

export interface LogLine {
  start: string;
  end: string;
  seconds: number;
  set: string;
  status: number;
  outcome: string;
  sources: number;
  failedSources: number;
  backups: string[];
  storedFiles: number;
  storedBytes: number;
  skipped: number;
  changed: number;
  volumes: string[];
  /** sent, failed, not wanted (`when: problems` and all well), or none (no mail: block). */
  mail: 'sent' | 'failed' | 'not wanted' | 'none';
  warnings: string[];
  /** Each failed source, as `SOURCE: why`. */
  errors: string[];
  /** What ended the whole run, when something did. */
  error?: string;
}

export function logLine(s: RunSummary, mail: LogLine['mail'], warnings: readonly string[]): LogLine {
  const sum = (f: (x: RunSummary['sources'][number]) => number): number => s.sources.reduce((n, x) => n + f(x), 0);
  return {
    start: s.started.toISOString(),
    end: s.ended.toISOString(),
    seconds: Math.round((s.ended.getTime() - s.started.getTime()) / 100) / 10,
    set: s.set,
    status: s.status,
    outcome: s.outcome,
    sources: s.sources.length,
    failedSources: s.sources.filter((x) => x.error !== undefined).length,
    backups: s.sources.flatMap((x) => (x.backup === null ? [] : [x.backup])),
    storedFiles: sum((x) => x.storedFiles),
    storedBytes: sum((x) => x.storedBytes),
    skipped: sum((x) => x.skipped.length),
    changed: sum((x) => x.changed.length),
    volumes: s.sources.flatMap((x) => x.volumes.map((v) => v.path)),
    mail,
    warnings: [...warnings],
    errors: s.sources.flatMap((x) => (x.error === undefined ? [] : [`${x.source}: ${x.error}`])),
    ...(s.error === undefined ? {} : { error: s.error }),
  };
}

/** Append the line to FILE (created if needed). */
export async function appendLog(file: string, line: LogLine): Promise<void> {
  await appendFile(file, `${JSON.stringify(line)}\n`, { flag: 'a' });
}
