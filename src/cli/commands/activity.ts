/** `xtar activity DIR...`: cluster files by when they changed; render text, JSON or HTML. */
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { UsageError } from '../../errors.js';
import { against } from '../../activity/against.js';
import { clusterFiles, parseDuration, treeFiles, type ActivityFile, type Cluster, type FileSource } from '../../activity/cluster.js';
import { clustersHtml, clustersJson, clustersText } from '../../activity/render.js';
import { printJson, type Io } from '../output/render.js';

export interface ActivityArgs {
  dirs: string[];
  radius: string;
  since?: string | undefined;
  exclude: string[];
  json: boolean;
  quiet: boolean;
  all: boolean;
  html?: string | undefined;
  against?: string | undefined;
}

/** `--since 7d` (a duration back from now) or `--since 2026-11-01` (a date). */
export function parseSince(text: string, now = Date.now()): number {
  const d = parseDuration(text);
  if (d !== null) return now - d;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`--since ${JSON.stringify(text)} is neither a duration (7d, 12h) nor a date (2026-11-01).`);
  return t;
}

export async function runActivity(a: ActivityArgs, io: Io): Promise<number> {
  const radiusMs = parseDuration(a.radius);
  if (radiusMs === null) throw new UsageError(`--radius ${JSON.stringify(a.radius)} is not a duration such as 30m, 1h or 2d.`);
  const sinceMs = a.since === undefined ? undefined : parseSince(a.since);
  const showFiles = a.json || a.all ? Infinity : 5;
  const all: Cluster[] = [];
  const deleted: ActivityFile[] = [];
  for (const dir of a.dirs) {
    let source: FileSource = treeFiles(dir, a.exclude);
    let diff: Awaited<ReturnType<typeof against>> | null = null;
    if (a.against !== undefined) {
      diff = await against(dir, a.against, a.exclude);
      source = diff.source;
    }
    const clusters = await clusterFiles(source, { radiusMs, showFiles, exclude: a.exclude, ...(sinceMs === undefined ? {} : { sinceMs }) });
    if (a.dirs.length > 1) for (const c of clusters) for (const p of c.paths) p.path = `${basename(dir)}/${p.path}`;
    all.push(...clusters);
    if (diff) deleted.push(...diff.deleted);
  }
  all.sort((x, y) => y.end - x.end);
  if (a.html !== undefined) await writeFile(a.html, clustersHtml(all, `Activity of ${a.dirs.join(', ')}`));
  if (a.json) printJson(io, 'activity', clustersJson(all, a.against !== undefined ? deleted : undefined) as object);
  else if (!a.quiet) {
    io.stdout.write(clustersText(all));
    if (a.against !== undefined) {
      io.stdout.write(`${deleted.length} file(s) deleted since the backup${deleted.length ? ':' : ''}\n`);
      for (const d of deleted.slice(0, a.all ? Infinity : 10)) io.stdout.write(`    deleted  ${d.path}\n`);
    }
    if (a.html !== undefined) io.stdout.write(`chart written to ${a.html}\n`);
  }
  return 0;
}
