/**
 * `xtar activity DIR...` as one run over several folders: each must be a folder; their files (or,
 * against a set, their changes since its newest backup) go into one clustering, so changes made
 * together in two folders form one cluster, each path under its folder's name when there are several.
 * Rendering the clusters (text, JSON, the HTML chart) is render.ts's; showing them the CLI's.
 */
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { InputError, osErrorSentence } from '../errors.js';
import type { SelectionOptions } from '../scan/select.js';
import { against } from './against.js';
import { clusterFiles, treeFiles, type ActivityFile, type Cluster, type ClusterOptions, type FileSource } from './cluster.js';

export interface ActivityOptions extends ClusterOptions {
  /** What to leave out (pack's selection). */
  select: SelectionOptions;
  /** A set: only what changed since its newest backup of each folder (and what was deleted). */
  against?: string;
}

export interface ActivityResult {
  clusters: Cluster[];
  /** With `against`: the files of the backup no longer in the folders. */
  deleted?: ActivityFile[];
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

/** Every folder checked first, then one clustering of them all. */
export async function activityOf(dirs: readonly string[], o: ActivityOptions): Promise<ActivityResult> {
  for (const dir of dirs) await checkFolder(dir);
  const roots = dirs.length > 1 ? rootNames(dirs) : [''];
  const prefix = (i: number, path: string): string => (roots[i] ? `${roots[i]}/${path}` : path);
  const diffs: Awaited<ReturnType<typeof against>>[] = [];
  const sources: FileSource[] = [];
  for (const dir of dirs) {
    if (o.against !== undefined) {
      const diff = await against(dir, o.against, o.select);
      diffs.push(diff);
      sources.push(diff.source);
    } else sources.push(treeFiles(dir, o.select));
  }
  const source: FileSource = async (visit) => {
    for (const [i, s] of sources.entries()) await s((f) => visit(roots[i] ? { ...f, path: prefix(i, f.path) } : f));
  };
  const clusters = await clusterFiles(source, { radiusMs: o.radiusMs, showFiles: o.showFiles, ...(o.sinceMs === undefined ? {} : { sinceMs: o.sinceMs }) });
  if (o.against === undefined) return { clusters };
  return { clusters, deleted: diffs.flatMap((d, i) => d.deleted.map((f) => ({ ...f, path: prefix(i, f.path) }))) };
}
