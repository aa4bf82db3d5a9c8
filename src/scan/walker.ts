/**
 * The walk below the root: a folder, each child of a folder, and each kind of leaf, one method each,
 * sharing the result, the hard-link map, the exclusion matcher and the sink. The root's own checks
 * and the result's shape are scan.ts's; nothing here opens a file (lstat, readdir, readlink only).
 */
// The metadata calls are synchronous on purpose: an lstat of a cached inode takes a few
// microseconds, where an await per call (through libuv's thread pool) costs about five times that
// in CPU — GNU tar walks the same way. Per entry the walk awaits no more than the sink and the
// child's own visit; a child passed over returns 0 at once and is not awaited.
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { entryErrorMessage } from '../errors.js';
import { dirEntryBound, fileEntryBound } from '../format/bounds.js';
import { BUNDLE_PREFIX } from '../format/names.js';
import type { StructureEntry } from '../format/records.js';
import { devMajor, devMinor } from './devices.js';
import { groupName, userName } from './owners.js';
import { isExclusion, type DirScope, type Exclusion, type Selection } from './select.js';
import type { EntrySink, ScanResult } from './scan.js';

/** A folder named like a blob (`x.zip`) or a split part of one (`x.zip.001`). */
const ZIP_LIKE = /\.zip(\.\d{3,})?$/;
const PART_SUFFIX = /\.\d{3,}$/;
const USTAR_MAX = 0o77777777777;

/** A folder the walk passes over (the set being written), by device and inode, and why. */
export interface LeaveOut {
  dev: bigint;
  ino: bigint;
  reason: string;
}

export class TreeWalker {
  /** `dev:ino` of each file with more than one name → the record path it was first met under. */
  private readonly hardlinks = new Map<string, string>();

  constructor(
    private readonly result: ScanResult,
    private readonly sink: EntrySink,
    private readonly select: Selection,
    /** Told each entry the selection leaves out (a folder once, not what is below it). */
    private readonly onExcluded: ((path: string, why: Exclusion) => void) | undefined,
    /** Leaves last changed before this (ns) are left out; folders never are. */
    private readonly changedSinceNs: bigint | undefined,
    private readonly leaveOut: LeaveOut | undefined,
  ) {}

  /** Walk from the root (a folder or a regular file, already checked) and note its bound. */
  async walkRoot(source: string, root: string, st: BigIntStats): Promise<void> {
    this.result.rootBound = st.isDirectory() ? await this.visitDir(source, root, '', st, this.select.root(st.dev)) : await this.visitLeaf(source, root, st);
  }

  /** Emit a directory and everything below it; returns its bound in the parent's tar. */
  private async visitDir(abs: string, path: string, rel: string, st: BigIntStats, parent: DirScope): Promise<number> {
    let raw: Buffer[] | undefined;
    let readErr: unknown;
    try {
      raw = readdirSync(abs, { encoding: 'buffer' });
    } catch (err) {
      readErr = err;
    }
    // The selection looks at the names listed (an ignore file, a flag): a folder it leaves out is not emitted; the root is, empty.
    const scope = raw === undefined ? parent : parent.enter(abs, path, rel, raw, (p, r) => this.skip(p, r));
    if (isExclusion(scope) && rel !== '') return this.leaveOutHere(path, scope);
    this.result.dirs++;
    await this.emit(meta(path, st, 'dir'));
    if (raw === undefined) {
      this.skip(path, `cannot read directory: ${entryErrorMessage(readErr, 'scan')}`);
      return dirEntryBound(0);
    }
    if (isExclusion(scope)) return dirEntryBound(this.leaveOutHere(path, scope));
    raw.sort(Buffer.compare);
    let bound = 0;
    const fileNames = new Set<string>();
    // Folder names that a file's blob `NAME.zip` (or a split part `NAME.zip.NNN`) would collide with.
    const zipLikeDirs = new Set<string>();
    for (const b of raw) {
      const child = this.visitChild(abs, path, rel, b, fileNames, zipLikeDirs, scope);
      bound += typeof child === 'number' ? child : await child;
    }
    return this.closeDir(path, bound, fileNames, zipLikeDirs);
  }

  /**
   * One name in a folder: its UTF-8 check, exclusion and lstat, the collision facts, then its visit.
   * Returns its bound, or 0 at once when it is passed over.
   */
  private visitChild(
    abs: string,
    path: string,
    rel: string,
    b: Buffer,
    fileNames: Set<string>,
    zipLikeDirs: Set<string>,
    scope: DirScope,
  ): number | Promise<number> {
    const name = b.toString('utf8');
    const childPath = `${path}/${name}`;
    if (!isExactUtf8(b, name)) {
      this.skip(childPath, 'name is not valid UTF-8');
      return 0;
    }
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const childAbs = childOf(abs, name);
    let st: BigIntStats;
    try {
      st = lstatSync(childAbs, { bigint: true });
    } catch (err) {
      const why = scope.byNameCheck(name, childRel, false);
      if (why !== null) return this.leaveOutHere(childPath, why);
      this.skip(childPath, entryErrorMessage(err, 'scan'));
      return 0;
    }
    const why = scope.checkBig(name, childRel, st);
    if (why !== null) return this.leaveOutHere(childPath, why);
    if (st.isDirectory()) {
      if (this.leaveOut !== undefined && st.ino === this.leaveOut.ino && st.dev === this.leaveOut.dev) {
        this.result.ignored.push({ path: childPath, reason: this.leaveOut.reason });
        return 0;
      }
      if (ZIP_LIKE.test(name)) zipLikeDirs.add(name.replace(PART_SUFFIX, ''));
      if (name.startsWith(BUNDLE_PREFIX)) this.result.noBundle.add(path);
      return this.visitDir(childAbs, childPath, childRel, st, scope);
    }
    if (st.isFile()) fileNames.add(name);
    return this.visitLeaf(childAbs, childPath, st);
  }

  /** A folder's facts once its children are in: a nested tar too large for ustar, and short blob names. */
  private closeDir(path: string, bound: number, fileNames: Set<string>, zipLikeDirs: Set<string>): number {
    const total = dirEntryBound(bound);
    if (total > USTAR_MAX) this.result.largeDirs.add(path);
    for (const base of zipLikeDirs) {
      const file = base.slice(0, -4);
      if (fileNames.has(file)) this.result.shortBlobs.add(`${path}/${file}`);
    }
    return total;
  }

  /** A node that is not a directory: its bound in the parent's tar, or 0 at once when nothing is emitted. */
  private visitLeaf(abs: string, path: string, st: BigIntStats): number | Promise<number> {
    if (this.changedSinceNs !== undefined && st.mtimeNs < this.changedSinceNs) return 0;
    if (st.isFile()) return this.visitFile(path, st);
    if (st.isSymbolicLink()) return this.visitSymlink(abs, path, st);
    if (st.isFIFO()) return this.visitFifo(path, st);
    if (st.isCharacterDevice() || st.isBlockDevice()) return this.visitDevice(path, st);
    this.skip(path, st.isSocket() ? 'a socket cannot be stored' : 'unknown file type');
    return 0;
  }

  /** A regular file, or a hard link to the name its inode was first met under; sparse when blocks fall short of its size. */
  private async visitFile(path: string, st: BigIntStats): Promise<number> {
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = this.hardlinks.get(key);
      if (first !== undefined) {
        await this.emit({ ...meta(path, st, 'hardlink'), target: first });
        return 0;
      }
      this.hardlinks.set(key, path);
    }
    const size = Number(st.size);
    const e = meta(path, st, 'file');
    e.size = size;
    if (st.blocks * 512n < st.size) e.sparse = true;
    this.result.files++;
    this.result.bytes += size;
    await this.emit(e);
    return fileEntryBound(size);
  }

  /** A symlink, its target kept as UTF-8 text; one that cannot be read or is not UTF-8 is skipped. */
  private async visitSymlink(abs: string, path: string, st: BigIntStats): Promise<number> {
    let target: Buffer;
    try {
      target = readlinkSync(abs, { encoding: 'buffer' });
    } catch (err) {
      this.skip(path, entryErrorMessage(err, 'scan'));
      return 0;
    }
    const text = target.toString('utf8');
    if (!isExactUtf8(target, text)) {
      this.skip(path, 'symlink target is not valid UTF-8');
      return 0;
    }
    await this.emit({ ...meta(path, st, 'symlink'), target: text });
    return 0;
  }

  private async visitFifo(path: string, st: BigIntStats): Promise<number> {
    await this.emit(meta(path, st, 'fifo'));
    return 0;
  }

  private async visitDevice(path: string, st: BigIntStats): Promise<number> {
    const type = st.isCharacterDevice() ? 'char' : 'block';
    await this.emit({ ...meta(path, st, type), major: devMajor(st.rdev), minor: devMinor(st.rdev) });
    return 0;
  }

  private async emit(e: StructureEntry): Promise<void> {
    this.result.entries++;
    await this.sink(e);
  }

  /** An entry the selection leaves out: told to onExcluded; nothing else is recorded. */
  private leaveOutHere(path: string, why: Exclusion): 0 {
    this.onExcluded?.(path, why);
    return 0;
  }

  private skip(path: string, reason: string): void {
    this.result.skipped.push({ path, reason });
  }
}

/**
 * Whether `text` (decoded from `bytes`) encodes back to the same bytes: the bytes were valid UTF-8.
 * Decoding turns every invalid sequence into U+FFFD, so a text without one needs no second look
 * (the encoding back cost a buffer per name).
 */
function isExactUtf8(bytes: Buffer, text: string): boolean {
  return !text.includes('\uFFFD') || Buffer.from(text, 'utf8').equals(bytes);
}

/** `dir`/`name` for a name read from `dir` (never empty, `.`, `..` or holding '/'): what join gives, without its normalizing. */
function childOf(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

function meta(path: string, st: BigIntStats, type: StructureEntry['type']): StructureEntry {
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  const e: StructureEntry = {
    path,
    type,
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
