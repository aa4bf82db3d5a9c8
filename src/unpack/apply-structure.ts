/**
 * Applying the structure record to a tree under --dest: makes empty folders, symlinks, hard links,
 * FIFOs and devices, then sets owners (as root), modes and times — folders last, deepest first, so a
 * read-only folder still gets its contents. Used by unpack after the data, and by expand-structure
 * after a by-hand restore. Never follows a symlink on the way to a path.
 */
import { execFile } from 'node:child_process';
// Synchronous calls on purpose: a handful of metadata syscalls per entry cost microseconds each,
// where an await per call would cost a thread-pool round trip each.
import { chmodSync, lchownSync, linkSync, lstatSync, lutimesSync, readlinkSync, symlinkSync, unlinkSync, utimesSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { entryErrorMessage, isFatalIoError, XtarError } from '../errors.js';
import type { StructureEntry } from '../format/records.js';
import { resolveGid, resolveUid } from '../scan/owners.js';
import type { Destination } from './dest.js';

const run = promisify(execFile);

export type ProblemKind = 'missing' | 'refused' | 'failed';

export interface ApplyOptions {
  /** Set owners (only possible as root; otherwise owners are skipped quietly). */
  owners: boolean;
  report(path: string, reason: string, kind: ProblemKind): void;
  /** Paths whose absence is already explained (e.g. a damaged file already reported): not reported again. */
  expectedMissing?: (path: string) => boolean;
}

export interface ApplyResult {
  dirs: number;
  files: number;
  symlinks: number;
  hardlinks: number;
  fifos: number;
  devices: number;
}

/** Seconds for utimes(), placed half a microsecond in so libuv's truncation to microseconds is exact. */
export function utimesSeconds(ns: bigint): number {
  if (ns < 0n) return Number(ns) / 1e9;
  return (Number(ns / 1000n) + 0.5) / 1e6;
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    if (code(e) === 'ENOENT') return null;
    throw e;
  }
}

interface OpenDir {
  path: string;
  abs: string;
  e: StructureEntry;
}

export async function applyStructure(entries: AsyncIterable<StructureEntry>, dest: Destination, opts: ApplyOptions): Promise<ApplyResult> {
  const result: ApplyResult = { dirs: 0, files: 0, symlinks: 0, hardlinks: 0, fifos: 0, devices: 0 };
  const stack: OpenDir[] = [];

  const setMeta = (abs: string, e: StructureEntry, isLink: boolean): void => {
    if (opts.owners) lchownSync(abs, resolveUid(e.uid, e.user), resolveGid(e.gid, e.group));
    if (!isLink) chmodSync(abs, e.mode);
    const t = utimesSeconds(e.mtimeNs);
    if (isLink) lutimesSync(abs, t, t);
    else utimesSync(abs, t, t);
  };

  const closeDir = (d: OpenDir): void => {
    try {
      setMeta(d.abs, d.e, false);
    } catch (err) {
      if (isFatalIoError(err)) throw err;
      opts.report(d.path, `cannot set metadata: ${entryErrorMessage(err)}`, 'failed');
    }
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
    if (e.type === 'dir') {
      const abs = await dest.ensureDir(parts);
      stack.push({ path: e.path, abs, e });
      result.dirs++;
      return;
    }
    const parentAbs = await dest.ensureDir(parts.slice(0, -1));
    void parentAbs;
    const abs = dest.pathOf(parts);
    switch (e.type) {
      case 'file': {
        const st = lstatOrNull(abs);
        if (st === null) {
          if (!opts.expectedMissing?.(e.path)) opts.report(e.path, 'the file is missing', 'missing');
          return;
        }
        if (!st.isFile()) {
          opts.report(e.path, 'something other than a regular file is in its place', 'refused');
          return;
        }
        setMeta(abs, e, false);
        result.files++;
        return;
      }
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
        await dest.ensureDir(targetParts.slice(0, -1));
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
    // Leaving folders: everything inside them is done, so their own metadata can be set now.
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as OpenDir;
      if (e.path.startsWith(`${top.path}/`)) break;
      stack.pop();
      closeDir(top);
    }
    try {
      await one(e);
    } catch (err) {
      if (err instanceof XtarError) opts.report(e.path, err.message, 'refused');
      else if (isFatalIoError(err)) throw err;
      else opts.report(e.path, `cannot restore: ${entryErrorMessage(err)}`, 'failed');
    }
  }
  while (stack.length > 0) closeDir(stack.pop() as OpenDir);
  return result;
}
