/** `xtar activity DIR...`: call the clustering of the folders (src/activity/activity.ts); render text, JSON or HTML. */
import { stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InputError, osErrorSentence, UsageError } from '../../errors.js';
import { activityOf } from '../../activity/activity.js';
import { parseDuration } from '../../activity/cluster.js';
import { clustersHtml, clustersJson, clustersText } from '../../activity/render.js';
import { parseTime, zoneFor, type TimeZoneChoice } from '../../util/time.js';
import { printJson, type Io } from '../output/render.js';
import type { SelectionOptions } from '../../scan/select.js';

export interface ActivityArgs {
  dirs: string[];
  radius: string;
  since?: string | undefined;
  /** What to leave out (pack's selection flags). */
  select: SelectionOptions;
  json: boolean;
  quiet: boolean;
  all: boolean;
  html?: string | undefined;
  against?: string | undefined;
  /** Show and read times in UTC instead of local time. */
  utc?: boolean | undefined;
}

/** `--since 7d` (a duration back from now) or `--since 2026-11-01` (a date, local unless it names a zone). */
export function parseSince(text: string, now = Date.now(), zone: TimeZoneChoice = {}): number {
  const d = parseDuration(text);
  if (d !== null) return now - d;
  const t = parseTime(text, zone);
  if (t === null) throw new UsageError(`--since ${JSON.stringify(text)} is neither a duration (7d, 12h) nor a date (2026-11-01, 2026-11-01 18:00, 2026-11-01T18:00Z).`);
  return t;
}

/** The page's folder must exist before the walk, so a long walk does not end in a failed write. */
async function checkHtmlFolder(file: string): Promise<void> {
  const folder = dirname(resolve(file));
  const there = await stat(folder).then((s) => s.isDirectory(), () => false);
  if (!there) throw new InputError(`cannot write the chart to ${file}: the folder ${dirname(file)} does not exist.`, file);
}

export async function runActivity(a: ActivityArgs, io: Io): Promise<number> {
  const zone = zoneFor(a.utc);
  const radiusMs = parseDuration(a.radius);
  if (radiusMs === null) throw new UsageError(`--radius ${JSON.stringify(a.radius)} is not a duration such as 30m, 1h or 2d.`);
  const sinceMs = a.since === undefined ? undefined : parseSince(a.since, Date.now(), zone);
  // (The chart's folder is checked first, so a long walk does not end in a failed write.)
  if (a.html !== undefined) await checkHtmlFolder(a.html);
  const showFiles = a.json || a.all ? Infinity : 5;
  const { clusters: all, deleted = [] } = await activityOf(a.dirs, { radiusMs, showFiles, select: a.select, ...(sinceMs === undefined ? {} : { sinceMs }), ...(a.against === undefined ? {} : { against: a.against }) });
  if (a.html !== undefined) {
    try {
      await writeFile(a.html, clustersHtml(all, `Activity of ${a.dirs.join(', ')}`, zone));
    } catch (e) {
      throw new InputError(`cannot write the chart to ${a.html}: ${osErrorSentence(e, 'fatal') ?? osErrorSentence(e, 'write') ?? (e as Error).message}.`, a.html, e);
    }
  }
  if (a.json) printJson(io, 'activity', clustersJson(all, a.against !== undefined ? deleted : undefined) as object);
  else if (!a.quiet) {
    io.stdout.write(clustersText(all, zone));
    if (a.against !== undefined) {
      io.stdout.write(`${deleted.length} file(s) deleted since the backup${deleted.length ? ':' : ''}\n`);
      for (const d of deleted.slice(0, a.all ? Infinity : 10)) io.stdout.write(`    deleted  ${d.path}\n`);
    }
    if (a.html !== undefined) io.stdout.write(`chart written to ${a.html}\n`);
  }
  return 0;
}
