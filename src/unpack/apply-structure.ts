/**
 * Applying the structure record to a tree under --dest: makes empty folders, symlinks, hard links,
 * FIFOs and devices, then sets owners (as root), modes and times — folders last, deepest first, so a
 * read-only folder still gets its contents. Used by unpack after the data, and by expand-structure
 * after a by-hand restore. Never follows a symlink on the way to a path.
 */
import { execFile } from 'node:child_process';
// Synchronous calls on purpose: a handful of metadata syscalls per entry cost microseconds each,
// where an await per call would cost a thread-pool round trip each.
import { linkSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { entryErrorMessage, isFatalIoError, XtarError, type ProblemKind as AnyProblemKind } from '../errors.js';
import type { StructureEntry } from '../format/records.js';
import { resolveGid, resolveUid } from '../scan/owners.js';
import type { Destination } from '../dest/destination.js';
import { lstatOrNull, setFileMeta, setMetaAt, utimesSeconds, type FileMeta, type FileMetaFound } from '../dest/file-meta.js';

const run = promisify(execFile);

/** The problems applying a structure can meet. */
export type ProblemKind = Extract<AnyProblemKind, 'missing' | 'refused' | 'failed'>;

export type Report = (path: string, reason: string, kind: ProblemKind) => void;

export interface ApplyOptions {
  /** Set owners (only possible as root; otherwise owners are skipped quietly). */
  owners: boolean;
  report: Report;
  /** Paths whose absence is already explained (e.g. a damaged file already reported): not reported again. */
  expectedMissing?: (path: string) => boolean;
  /**
   * Where regular files get their metadata: worker threads (unpack's extraction pool) while this
   * thread reads on. Without it, on this thread, entry by entry.
   */
  files?: FileMetaSink;
  /**
   * A report function for a problem the sink finds later, keeping the place of the entry applied
   * now (so problems are listed in the order one thread would find them). Default: `report`.
   */
  reportLater?: () => Report;
}

/** Sets regular files' metadata, maybe later and on other threads (see ApplyOptions.files). */
export interface FileMetaSink {
  /**
   * Set the metadata of the file at `abs` (the checked path of `components`); `settled` is told what
   * was found there, or the error, once known. A second file at a queued path waits for the first.
   */
  setFileMeta(components: readonly string[], abs: string, meta: FileMeta, settled: (r: FileMetaFound | { error: unknown }) => void): Promise<void>;
  /** Before this thread makes the folder at `components`: wait for the queued files it could meet. */
  clearWayForDir(components: readonly string[]): Promise<void>;
  /** Before this thread replaces what is at `components`: wait for the queued files it could meet. */
  clearWayForFile(components: readonly string[]): Promise<void>;
  /** Every queued file is done, and `settled` told, when this returns. */
  settle(): Promise<void>;
}

/** Folders whose metadata waits (see applyStructure) at most: then the files queued inside them are settled first. */
const CLOSING_DIRS = 1024;

export interface ApplyResult {
  dirs: number;
  files: number;
  symlinks: number;
  hardlinks: number;
  fifos: number;
  devices: number;
}

interface OpenDir {
  path: string;
  abs: string;
  e: StructureEntry;
}

export async function applyStructure(entries: AsyncIterable<StructureEntry>, dest: Destination, opts: ApplyOptions): Promise<ApplyResult> {
  const result: ApplyResult = { dirs: 0, files: 0, symlinks: 0, hardlinks: 0, fifos: 0, devices: 0 };
  const stack: OpenDir[] = [];

  /** An entry's owner (as root), mode and time, as they are set. */
  const metaOf = (e: StructureEntry): FileMeta => ({
    mode: e.mode,
    owner: opts.owners ? { uid: resolveUid(e.uid, e.user), gid: resolveGid(e.gid, e.group) } : null,
    time: utimesSeconds(e.mtimeNs),
  });
  const setMeta = (abs: string, e: StructureEntry, isLink: boolean): void => setMetaAt(abs, metaOf(e), isLink);

  const closeDir = (d: OpenDir): void => {
    try {
      setMeta(d.abs, d.e, false);
    } catch (err) {
      if (isFatalIoError(err)) throw err;
      opts.report(d.path, `cannot set metadata: ${entryErrorMessage(err)}`, 'failed');
    }
  };
  /**
   * Folders left, deepest first, whose metadata is still to be set: after the files queued inside
   * them (a read-only or unsearchable folder would bar them), so the sink is settled first.
   */
  let closing: OpenDir[] = [];
  const closeWaiting = async (): Promise<void> => {
    await opts.files?.settle();
    const dirs = closing;
    closing = [];
    for (const d of dirs) closeDir(d);
  };

  /** An entry's error, listed as one thread's loop lists it; fatal I/O errors end the run. */
  const reportError = (path: string, err: unknown, report: Report): void => {
    if (err instanceof XtarError) report(path, err.message, 'refused');
    else if (isFatalIoError(err)) throw err;
    else report(path, `cannot restore: ${entryErrorMessage(err)}`, 'failed');
  };
  const fileSettled =
    (e: StructureEntry, report: Report) =>
    (r: FileMetaFound | { error: unknown }): void => {
      if (r === 'done') result.files++;
      else if (r === 'missing') {
        if (!opts.expectedMissing?.(e.path)) report(e.path, 'the file is missing', 'missing');
      } else if (r === 'not-a-file') report(e.path, 'something other than a regular file is in its place', 'refused');
      else reportError(e.path, r.error, report);
    };

  const replaceable = (abs: string, path: string): boolean => {
    const st = lstatOrNull(abs);
    if (st === null) return true;
    if (st.isDirectory()) {
      opts.report(path, 'a folder is in the way', 'refused');
      return false;
    }
    unlinkSync(abs);
    return true;
  };

  const one = async (e: StructureEntry): Promise<void> => {
    const parts = e.path.split('/');
    const files = opts.files;
    if (e.type === 'dir') {
      await files?.clearWayForDir(parts);
      const abs = dest.ensureDir(parts);
      stack.push({ path: e.path, abs, e });
      result.dirs++;
      return;
    }
    await files?.clearWayForDir(parts.slice(0, -1));
    dest.ensureDir(parts.slice(0, -1));
    const abs = dest.pathOf(parts);
    if (e.type === 'file') {
      if (files === undefined) fileSettled(e, opts.report)(setFileMeta(abs, metaOf(e)));
      else await files.setFileMeta(parts, abs, metaOf(e), fileSettled(e, opts.reportLater?.() ?? opts.report));
      return;
    }
    // Anything else replaces what is at its path: not while a file there waits for its metadata.
    await files?.clearWayForFile(parts);
    switch (e.type) {
      case 'symlink': {
        const st = lstatOrNull(abs);
        const same = st?.isSymbolicLink() === true && readlinkSync(abs) === e.target;
        if (!same) {
          if (!(replaceable(abs, e.path))) return;
          symlinkSync(e.target as string, abs);
        }
        setMeta(abs, e, true);
        result.symlinks++;
        return;
      }
      case 'hardlink': {
        const targetParts = (e.target as string).split('/');
        await files?.clearWayForDir(targetParts.slice(0, -1));
        dest.ensureDir(targetParts.slice(0, -1));
        const targetAbs = dest.pathOf(targetParts);
        const t = lstatOrNull(targetAbs);
        if (t === null || !t.isFile()) {
          if (!opts.expectedMissing?.(e.target as string)) {
            opts.report(e.path, `its target ${e.target} is ${t === null ? 'missing' : 'not a regular file'}`, t === null ? 'missing' : 'refused');
          }
          return;
        }
        const st = lstatOrNull(abs);
        if (st !== null && st.ino === t.ino && st.dev === t.dev) {
          result.hardlinks++;
          return;
        }
        if (!(replaceable(abs, e.path))) return;
        linkSync(targetAbs, abs);
        result.hardlinks++;
        return;
      }
      case 'fifo': {
        const st = lstatOrNull(abs);
        if (!st?.isFIFO()) {
          if (!(replaceable(abs, e.path))) return;
          await run('mkfifo', ['-m', '600', '--', abs]);
        }
        setMeta(abs, e, false);
        result.fifos++;
        return;
      }
      case 'char':
      case 'block': {
        const st = lstatOrNull(abs);
        const right = e.type === 'char' ? st?.isCharacterDevice() : st?.isBlockDevice();
        if (!right) {
          if (process.getuid?.() !== 0) {
            opts.report(e.path, 'device files can only be made by root', 'failed');
            return;
          }
          if (!(replaceable(abs, e.path))) return;
          await run('mknod', ['-m', '600', '--', abs, e.type === 'char' ? 'c' : 'b', String(e.major), String(e.minor)]);
        }
        setMeta(abs, e, false);
        result.devices++;
        return;
      }
    }
  };

  for await (const e of entries) {
    // Leaving folders: everything inside them is done (or queued), so their own metadata comes next.
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as OpenDir;
      if (e.path.startsWith(`${top.path}/`)) break;
      closing.push(stack.pop() as OpenDir);
    }
    if (closing.length >= CLOSING_DIRS) await closeWaiting();
    try {
      await one(e);
    } catch (err) {
      reportError(e.path, err, opts.report);
    }
  }
  while (stack.length > 0) closing.push(stack.pop() as OpenDir);
  await closeWaiting();
  return result;
}
