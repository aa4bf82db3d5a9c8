/** `xtar activity DIR...`: cluster files by when they changed; render text, JSON or HTML. */
import { stat, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { InputError, osErrorSentence, UsageError } from '../../errors.js';
import { against } from '../../activity/against.js';
import { clusterFiles, parseDuration, treeFiles, type ActivityFile, type Cluster, type FileSource } from '../../activity/cluster.js';
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

/**
 * What each folder's paths begin with when several are looked at: its own name, as pack's records
 * begin with the source's name; the folder as given when two of them share a name.
 */
export function rootNames(dirs: readonly string[]): string[] {
  const names = dirs.map((d) => basename(resolve(d)) || d);
  return dirs.map((d, i) => (names.filter((n) => n === names[i]).length > 1 ? d.replace(/\/+$/, '') || '/' : (names[i] as string)));
}

/** Each folder must be there before anything is walked: a missing one is a mistake, not "no files". */
async function checkFolder(dir: string): Promise<void> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new InputError(`${dir} is not a folder.`, dir);
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' || code === 'ENOTDIR' ? `${dir} does not exist.` : `cannot read ${dir}: ${osErrorSentence(e, 'fatal') ?? (e as Error).message}.`, dir, e);
  }
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
  for (const dir of a.dirs) await checkFolder(dir);
  if (a.html !== undefined) await checkHtmlFolder(a.html);
  const showFiles = a.json || a.all ? Infinity : 5;
  const roots = a.dirs.length > 1 ? rootNames(a.dirs) : [''];
  // One source over every folder, so changes made together in two folders form one cluster.
  const diffs: Awaited<ReturnType<typeof against>>[] = [];
  const sources: FileSource[] = [];
  for (const dir of a.dirs) {
    if (a.against !== undefined) {
      const diff = await against(dir, a.against, a.select);
      diffs.push(diff);
      sources.push(diff.source);
    } else sources.push(treeFiles(dir, a.select));
  }
  const prefix = (i: number, path: string): string => (roots[i] ? `${roots[i]}/${path}` : path);
  const source: FileSource = async (visit) => {
    for (const [i, s] of sources.entries()) await s((f) => visit(roots[i] ? { ...f, path: prefix(i, f.path) } : f));
  };
  const all: Cluster[] = await clusterFiles(source, { radiusMs, showFiles, ...(sinceMs === undefined ? {} : { sinceMs }) });
  const deleted: ActivityFile[] = diffs.flatMap((d, i) => d.deleted.map((f) => ({ ...f, path: prefix(i, f.path) })));
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
