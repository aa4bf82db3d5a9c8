/**
 * The walk: visits a source tree depth-first in byte order of names, never following symlinks and
 * never opening anything, and emits one structure entry per node (directories before their contents).
 * It reads metadata only; compressing and writing are src/pack's.
 */
// The walk's metadata calls are synchronous on purpose: an lstat of a cached inode takes a few
// microseconds, where an await per call (through libuv's thread pool) costs about five times that
// in CPU — GNU tar walks the same way.
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import picomatch from 'picomatch';
import { entryErrorMessage, InputError } from '../errors.js';
import { dirEntryBound, fileEntryBound } from '../format/bounds.js';
import { isSafeComponent } from '../format/names.js';
import type { StructureEntry } from '../format/records.js';
import { groupName, userName } from './owners.js';

export interface ScanOptions {
  /** GNU tar style: a pattern without '/' matches a name at any depth; with '/' it matches the path below SRC. */
  exclude?: readonly string[];
  /** Leave out files (not folders) last changed before this time, in ns since 1970. */
  changedSinceNs?: bigint;
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
  /** The bound of the top-level entry. */
  rootBound: number;
  skipped: Skipped[];
  /** Things passed over the way GNU tar passes them (sockets): reported, but not an error. */
  ignored: Skipped[];
}

export type EntrySink = (e: StructureEntry) => void | Promise<void>;

/** A folder named like a blob (`x.zip`) or a split part of one (`x.zip.001`). */
const ZIP_LIKE = /\.zip(\.\d{3,})?$/;
const PART_SUFFIX = /\.\d{3,}$/;
const USTAR_MAX = 0o77777777777;

export function compileExcludes(patterns: readonly string[]): (rel: string, name: string) => boolean {
  if (patterns.length === 0) return () => false;
  const byName: picomatch.Matcher[] = [];
  const byPath: picomatch.Matcher[] = [];
  for (const raw of patterns) {
    const p = raw.replace(/^\.\//, '').replace(/\/+$/, '');
    (p.includes('/') ? byPath : byName).push(picomatch(p, { dot: true }));
  }
  return (rel, name) => byName.some((m) => m(name)) || byPath.some((m) => m(rel));
}

/**
 * Where a scanned entry is on disk: record paths begin with the root's own name, so the root itself
 * (a file, or the folder) has no '/' and anything below it has its path below the root after one.
 */
export function sourcePathOf(root: string, recordPath: string): string {
  const slash = recordPath.indexOf('/');
  return slash < 0 ? root : join(root, recordPath.slice(slash + 1));
}

/** Walk `src`, calling `sink` for every node in archive order. */
export async function scanTree(src: string, sink: EntrySink, opts: ScanOptions = {}): Promise<ScanResult> {
  const source = resolve(src);
  let rootStat: BigIntStats;
  try {
    rootStat = await lstat(source, { bigint: true });
  } catch (e) {
    throw new InputError(`Cannot read ${src}: ${entryErrorMessage(e, 'scan')}.`, src, e);
  }
  let root = basename(source);
  if (root === '' || root === '/') root = 'root';
  if (!isSafeComponent(root)) throw new InputError(`The source name ${JSON.stringify(root)} cannot be stored.`, src);
  if (!rootStat.isDirectory() && !rootStat.isFile()) {
    throw new InputError(`${src} is neither a directory nor a regular file.`, src);
  }

  const excluded = compileExcludes(opts.exclude ?? []);
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
    rootBound: 0,
    skipped: [],
    ignored: [],
  };
  const hardlinks = new Map<string, string>();

  const emit = async (e: StructureEntry): Promise<void> => {
    result.entries++;
    await sink(e);
  };

  /** Emit a non-directory node; returns its bound in the parent's tar. */
  const visitLeaf = async (abs: string, path: string, st: BigIntStats): Promise<number> => {
    if (opts.changedSinceNs !== undefined && !st.isDirectory() && st.mtimeNs < opts.changedSinceNs) return 0;
    const base = meta(path, st);
    if (st.isFile()) {
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = hardlinks.get(key);
        if (first !== undefined) {
          await emit({ ...base, type: 'hardlink', target: first });
          return 0;
        }
        hardlinks.set(key, path);
      }
      const size = Number(st.size);
      const e: StructureEntry = { ...base, type: 'file', size };
      if (st.blocks * 512n < st.size) e.sparse = true;
      result.files++;
      result.bytes += size;
      await emit(e);
      return fileEntryBound(size);
    }
    if (st.isSymbolicLink()) {
      let target: Buffer;
      try {
        target = readlinkSync(abs, { encoding: 'buffer' });
      } catch (err) {
        result.skipped.push({ path, reason: entryErrorMessage(err, 'scan') });
        return 0;
      }
      const text = target.toString('utf8');
      if (!Buffer.from(text, 'utf8').equals(target)) {
        result.skipped.push({ path, reason: 'symlink target is not valid UTF-8' });
        return 0;
      }
      await emit({ ...base, type: 'symlink', target: text });
      return 0;
    }
    if (st.isFIFO()) {
      await emit({ ...base, type: 'fifo' });
      return 0;
    }
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      // Linux encoding of dev_t (glibc gnu_dev_major / gnu_dev_minor).
      const d = st.rdev;
      const major = Number(((d & 0xfff00n) >> 8n) | ((d & 0xfffff00000000000n) >> 32n));
      const minor = Number((d & 0xffn) | ((d & 0xffffff00000n) >> 12n));
      await emit({ ...base, type: st.isCharacterDevice() ? 'char' : 'block', major, minor });
      return 0;
    }
    if (st.isSocket()) {
      result.ignored.push({ path, reason: 'socket ignored' });
      return 0;
    }
    result.skipped.push({ path, reason: 'unknown file type' });
    return 0;
  };

  /** Emit a directory and everything below it; returns its bound in the parent's tar. */
  const visitDir = async (abs: string, path: string, rel: string, st: BigIntStats): Promise<number> => {
    result.dirs++;
    await emit({ ...meta(path, st), type: 'dir' });
    let raw: Buffer[];
    try {
      raw = readdirSync(abs, { encoding: 'buffer' });
    } catch (err) {
      result.skipped.push({ path, reason: `cannot read directory: ${entryErrorMessage(err, 'scan')}` });
      return dirEntryBound(0);
    }
    raw.sort(Buffer.compare);
    let bound = 0;
    const fileNames = new Set<string>();
    // Folder names that a file's blob `NAME.zip` (or a split part `NAME.zip.NNN`) would collide with.
    const zipLikeDirs = new Set<string>();
    for (const b of raw) {
      const name = b.toString('utf8');
      const childPath = `${path}/${name}`;
      if (!Buffer.from(name, 'utf8').equals(b)) {
        result.skipped.push({ path: childPath, reason: 'name is not valid UTF-8' });
        continue;
      }
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (excluded(childRel, name)) continue;
      const childAbs = join(abs, name);
      let st: BigIntStats;
      try {
        st = lstatSync(childAbs, { bigint: true });
      } catch (err) {
        result.skipped.push({ path: childPath, reason: entryErrorMessage(err, 'scan') });
        continue;
      }
      if (st.isFile()) fileNames.add(name);
      if (st.isDirectory() && ZIP_LIKE.test(name)) zipLikeDirs.add(name.replace(PART_SUFFIX, ''));
      bound += st.isDirectory() ? await visitDir(childAbs, childPath, childRel, st) : await visitLeaf(childAbs, childPath, st);
    }
    const total = dirEntryBound(bound);
    if (total > USTAR_MAX) result.largeDirs.add(path);
    for (const base of zipLikeDirs) {
      const file = base.slice(0, -4);
      if (fileNames.has(file)) result.shortBlobs.add(`${path}/${file}`);
    }
    return total;
  };

  result.rootBound = rootStat.isDirectory() ? await visitDir(source, root, '', rootStat) : await visitLeaf(source, root, rootStat);
  return result;
}

function meta(path: string, st: BigIntStats): Omit<StructureEntry, 'type'> {
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  const e: Omit<StructureEntry, 'type'> = {
    path,
    mode: Number(st.mode & 0o7777n),
    uid,
    gid,
    mtimeNs: st.mtimeNs,
  };
  const user = userName(uid);
  const group = groupName(gid);
  if (user !== undefined) e.user = user;
  if (group !== undefined) e.group = group;
  return e;
}

export interface QuickFile {
  /** Path below the walked folder, '/'-separated. */
  path: string;
  mtimeMs: number;
  size: number;
}

/**
 * A quick walk for looking, not packing: regular files only, mtime and size, in no particular order,
 * with synchronous calls (a few microseconds each) and the same exclusions as the scan. Symlinks
 * are never followed; unreadable folders are passed over.
 */
export function walkFilesSync(dir: string, exclude: readonly string[], visit: (f: QuickFile) => void): void {
  const excluded = compileExcludes(exclude);
  const stack: [string, string][] = [[resolve(dir), '']];
  while (stack.length > 0) {
    const [abs, rel] = stack.pop() as [string, string];
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const d of entries) {
      const r = rel === '' ? d.name : `${rel}/${d.name}`;
      if (excluded(r, d.name)) continue;
      if (d.isDirectory()) stack.push([join(abs, d.name), r]);
      else if (d.isFile()) {
        try {
          const st = lstatSync(join(abs, d.name));
          visit({ path: r, mtimeMs: st.mtimeMs, size: st.size });
        } catch {
          /* removed meanwhile */
        }
      }
    }
  }
}
