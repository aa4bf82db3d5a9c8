/**
 * Making the structure record's non-file nodes under --dest — symlinks, hard links, FIFOs and
 * devices — each replacing what is in its place (never a folder). Walking the record, folders and
 * regular files' metadata are apply-structure.ts's.
 */
import { execFile } from 'node:child_process';
// Synchronous calls on purpose: a handful of metadata syscalls per entry cost microseconds each,
// where an await per call would cost a thread-pool round trip each.
import { linkSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import type { StructureEntry } from '../format/records.js';
import type { Destination } from '../dest/destination.js';
import { lstatOrNull } from '../dest/file-meta.js';
import type { ApplyOptions, ApplyResult } from './apply-structure.js';

const run = promisify(execFile);

/** What making a node needs of the structure being applied. */
export interface NodeContext {
  readonly dest: Destination;
  readonly opts: ApplyOptions;
  readonly result: ApplyResult;
  /** Set the entry's owner (as root), mode and time on `abs` (on the link itself if `isLink`). */
  setMeta(abs: string, e: StructureEntry, isLink: boolean): void;
}

/**
 * Make the node `e` (not a folder or a regular file) at `abs`, its checked path, and count it. The
 * caller has made its parent folder and waited for any file queued at its path.
 */
export function makeNode(ctx: NodeContext, e: StructureEntry, abs: string): Promise<void> | undefined {
  switch (e.type) {
    case 'symlink':
      return makeSymlink(ctx, e, abs);
    case 'hardlink':
      return makeHardlink(ctx, e, abs);
    case 'fifo':
      return makeFifo(ctx, e, abs);
    case 'char':
    case 'block':
      return makeDevice(ctx, e, abs);
  }
  return undefined;
}

/** Clear `abs` for a new node: true if nothing is there (any more); a folder stays, reported. */
function replaceable(ctx: NodeContext, abs: string, path: string): boolean {
  const st = lstatOrNull(abs);
  if (st === null) return true;
  if (st.isDirectory()) {
    ctx.opts.report(path, 'a folder is in the way', 'refused');
    return false;
  }
  unlinkSync(abs);
  return true;
}

/** A symlink already pointing at its target is kept; its own metadata is set either way. */
function makeSymlink(ctx: NodeContext, e: StructureEntry, abs: string): undefined {
  const st = lstatOrNull(abs);
  const same = st?.isSymbolicLink() === true && readlinkSync(abs) === e.target;
  if (!same) {
    if (!replaceable(ctx, abs, e.path)) return undefined;
    symlinkSync(e.target as string, abs);
  }
  ctx.setMeta(abs, e, true);
  ctx.result.symlinks++;
  return undefined;
}

/** A hard link to a regular file under --dest (a missing one reported unless expected missing). */
async function makeHardlink(ctx: NodeContext, e: StructureEntry, abs: string): Promise<void> {
  const { dest, opts } = ctx;
  const targetParts = (e.target as string).split('/');
  await opts.files?.clearWayForDir(targetParts.slice(0, -1));
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
    ctx.result.hardlinks++;
    return;
  }
  if (!replaceable(ctx, abs, e.path)) return;
  linkSync(targetAbs, abs);
  ctx.result.hardlinks++;
}

async function makeFifo(ctx: NodeContext, e: StructureEntry, abs: string): Promise<void> {
  const st = lstatOrNull(abs);
  if (!st?.isFIFO()) {
    if (!replaceable(ctx, abs, e.path)) return;
    await run('mkfifo', ['-m', '600', '--', abs]);
  }
  ctx.setMeta(abs, e, false);
  ctx.result.fifos++;
}

/** A character or block device: made only as root (otherwise reported), kept if already right. */
async function makeDevice(ctx: NodeContext, e: StructureEntry, abs: string): Promise<void> {
  const st = lstatOrNull(abs);
  const right = e.type === 'char' ? st?.isCharacterDevice() : st?.isBlockDevice();
  if (!right) {
    if (process.getuid?.() !== 0) {
      ctx.opts.report(e.path, 'device files can only be made by root', 'failed');
      return;
    }
    if (!replaceable(ctx, abs, e.path)) return;
    await run('mknod', ['-m', '600', '--', abs, e.type === 'char' ? 'c' : 'b', String(e.major), String(e.minor)]);
  }
  ctx.setMeta(abs, e, false);
  ctx.result.devices++;
}
