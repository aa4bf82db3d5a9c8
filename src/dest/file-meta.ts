/**
 * Setting a restored file's owner, mode and times by its checked path: run by unpack's main thread
 * and by the extraction workers. Owners come in resolved to this system's numbers (the lookup by
 * name is apply-structure's, above); nothing here checks a path or makes a folder.
 */
// Synchronous calls on purpose: a handful of metadata syscalls per entry cost microseconds each,
// where an await per call would cost a thread-pool round trip each.
import { chmodSync, fchmodSync, fchownSync, futimesSync, lchownSync, lstatSync, lutimesSync, utimesSync, type Stats } from 'node:fs';

/** An entry's metadata, ready to set: owners already resolved to this system's numbers. */
export interface FileMeta {
  mode: number;
  /** The owner to set, or null to leave it (not root). */
  owner: { uid: number; gid: number } | null;
  /** Access and modification time, in seconds for utimes() (utimesSeconds). */
  time: number;
}

/** What setFileMeta found at the path. */
export type FileMetaFound = 'done' | 'missing' | 'not-a-file';
/** Every FileMetaFound, so that a worker can answer with an index. */
export const FILE_META_FOUND: readonly FileMetaFound[] = ['done', 'missing', 'not-a-file'];

/** Seconds for utimes(), placed half a microsecond in so libuv's truncation to microseconds is exact. */
export function utimesSeconds(ns: bigint): number {
  if (ns < 0n) return Number(ns) / 1e9;
  return (Number(ns / 1000n) + 0.5) / 1e6;
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

export function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    if (code(e) === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Set a regular file's owner, mode and times by path, unless nothing (or something other than a
 * regular file) is there. Also run by the extraction workers, on paths the main thread checked.
 */
export function setFileMeta(abs: string, m: FileMeta): FileMetaFound {
  const st = lstatOrNull(abs);
  if (st === null) return 'missing';
  if (!st.isFile()) return 'not-a-file';
  setMetaAt(abs, m, false);
  return 'done';
}

/** Set owner, mode (not on a symlink: it has none of its own) and times of what is at `abs`. */
export function setMetaAt(abs: string, m: FileMeta, isLink: boolean): void {
  if (m.owner !== null) lchownSync(abs, m.owner.uid, m.owner.gid);
  if (isLink) lutimesSync(abs, m.time, m.time);
  else {
    chmodSync(abs, m.mode);
    utimesSync(abs, m.time, m.time);
  }
}

/**
 * Set a file's owner, mode and times by its open descriptor: the writer of a restored file does this
 * right after writing it, before it takes its real name (no path lookup, no lstat, nothing to race).
 */
export function setFileMetaFd(fd: number, m: FileMeta): void {
  // (chown before chmod: changing the owner clears set-user-ID and set-group-ID bits.)
  if (m.owner !== null) fchownSync(fd, m.owner.uid, m.owner.gid);
  fchmodSync(fd, m.mode);
  futimesSync(fd, m.time, m.time);
}
