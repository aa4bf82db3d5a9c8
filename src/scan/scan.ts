/**
 * The scan's entry point and its result: scanTree checks the root, then hands the walk to TreeWalker
 * (walker.ts). Also where a scanned entry lies on disk. The walk itself, the exclusion matcher and the
 * device numbers live in their own modules; compressing and writing are src/pack's.
 */
import { lstat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { basename, resolve } from 'node:path';
import { entryErrorMessage, InputError } from '../errors.js';
import { isSafeComponent } from '../format/names.js';
import type { StructureEntry } from '../format/records.js';
import { Selection, type Exclusion, type SelectionOptions } from './select.js';
import { TreeWalker, type LeaveOut } from './walker.js';

export interface ScanOptions {
  /** gitignore lines anchored at SRC (added to `select.exclude`): a pattern without '/' matches a name at any depth. */
  exclude?: readonly string[];
  /** What to leave out (select.ts); by default each folder's `.xtarignore` and `.bkexclude` flag are honoured. */
  select?: SelectionOptions;
  /** Told each path the selection leaves out, and why (a folder once, not what is below it). */
  onExcluded?: (path: string, why: Exclusion) => void;
  /** Leave out files (not folders) last changed before this time, in ns since 1970. */
  changedSinceNs?: bigint;
  /**
   * A folder left out wherever the walk meets it — the set being written, when it lies inside the
   * source — known by device and inode, so no other folder of its name is; `reason` is noted in
   * `ignored` where it is met. Nothing is left out when it does not exist.
   */
  leaveOut?: { path: string; reason: string };
}

export interface Skipped {
  path: string;
  reason: string;
}

export interface ScanResult {
  /** Absolute path of the source. */
  source: string;
  /** The name the source is stored under (its base name). */
  root: string;
  rootType: 'dir' | 'file';
  entries: number;
  files: number;
  dirs: number;
  /** Sum of regular file sizes (hard links counted once). */
  bytes: number;
  /** Directories (record paths) whose nested tar could outgrow the ustar size field. */
  largeDirs: Set<string>;
  /** Files (record paths) whose plain blob name `NAME.zip` is also a sibling folder's name: they use the short form. */
  shortBlobs: Set<string>;
  /** Folders (record paths) with a child folder named like a bundle (`.xtar-bundle-N`): their files are never bundled. */
  noBundle: Set<string>;
  /** The bound of the top-level entry. */
  rootBound: number;
  skipped: Skipped[];
  /** Things left out on purpose (the set being written, ScanOptions.leaveOut): noted, but not a problem. */
  ignored: Skipped[];
}

export type EntrySink = (e: StructureEntry) => void | Promise<void>;

/**
 * Where a scanned entry is on disk: record paths begin with the root's own name, so the root itself
 * (a file, or the folder) has no '/' and anything below it has its path below the root after one.
 */
export function sourcePathOf(root: string, recordPath: string): string {
  const slash = recordPath.indexOf('/');
  if (slash < 0) return root;
  // A record path's components are never empty, `.` or `..`: joined as they are, as join would.
  const rest = recordPath.slice(slash + 1);
  return root.endsWith('/') ? root + rest : `${root}/${rest}`;
}

/** Walk `src`, calling `sink` for every node in archive order. */
export async function scanTree(src: string, sink: EntrySink, opts: ScanOptions = {}): Promise<ScanResult> {
  const source = resolve(src);
  const rootStat = await statRoot(src, source);
  const root = rootName(src, source);
  if (!rootStat.isDirectory() && !rootStat.isFile()) {
    throw new InputError(`${src} is neither a directory nor a regular file.`, src);
  }
  const select = selectionOf(opts);
  const result: ScanResult = {
    source,
    root,
    rootType: rootStat.isDirectory() ? 'dir' : 'file',
    entries: 0,
    files: 0,
    dirs: 0,
    bytes: 0,
    largeDirs: new Set(),
    shortBlobs: new Set(),
    noBundle: new Set(),
    rootBound: 0,
    skipped: [],
    ignored: [],
  };
  const leaveOut = opts.leaveOut === undefined ? undefined : await folderToLeaveOut(opts.leaveOut);
  if (leaveOut !== undefined && rootStat.dev === leaveOut.dev && rootStat.ino === leaveOut.ino) {
    throw new InputError(`${src} is the set itself: it cannot be backed up into itself.`, src);
  }
  await new TreeWalker(result, sink, select, opts.onExcluded, opts.changedSinceNs, leaveOut).walkRoot(source, root, rootStat);
  return result;
}

/** The selection of a scan: `select`, with `exclude` added to its patterns. */
export function selectionOf(opts: Pick<ScanOptions, 'exclude' | 'select'>): Selection {
  const s = opts.select ?? {};
  const exclude = [...(s.exclude ?? []), ...(opts.exclude ?? [])];
  return new Selection({ ...s, exclude });
}

/** The device and inode of the folder to leave out, or undefined when it is not a folder that exists. */
async function folderToLeaveOut(l: { path: string; reason: string }): Promise<LeaveOut | undefined> {
  const st = await lstat(l.path, { bigint: true }).catch(() => null);
  return st?.isDirectory() === true ? { dev: st.dev, ino: st.ino, reason: l.reason } : undefined;
}

async function statRoot(src: string, source: string): Promise<BigIntStats> {
  try {
    return await lstat(source, { bigint: true });
  } catch (e) {
    throw new InputError(`Cannot read ${src}: ${entryErrorMessage(e, 'scan')}.`, src, e);
  }
}

/** The name the source is stored under: its base name ('root' for '/'), which must be storable. */
function rootName(src: string, source: string): string {
  let root = basename(source);
  if (root === '' || root === '/') root = 'root';
  if (!isSafeComponent(root)) throw new InputError(`The source name ${JSON.stringify(root)} cannot be stored.`, src);
  return root;
}
