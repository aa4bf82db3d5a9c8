/**
 * `xtar unpack` (and, with the VerifySink, verify): restore files from volumes under --dest, then
 * apply the structure record — a pipeline of stages over one RestoreContext. Refused, damaged and
 * missing entries are listed; the rest is restored. The stages live in their own modules.
 */
import { resolve } from 'node:path';
import { Destination, DestinationError, type ExistingPolicy } from '../dest/destination.js';
import { isFatalIoError } from '../errors.js';
import { ReadSession, type ReadPolicy } from './random-reader.js';
import type { ApplyResult } from './apply-structure.js';
import { chooseStructure, OwnCatalogs, StructureFacts } from './choose-records.js';
import { RestoreContext } from './context.js';
import { ExtractPool } from './extract-pool.js';
import { joinSplits } from './join-splits.js';
import { locate, type VolumeSource } from '../set/locate.js';
import { expectedVolumes, planRestore, type RestorePlan } from './plan-restore.js';
import type { Problem } from './problem-log.js';
import { restoreByCatalog } from './restore-by-catalog.js';
import { restoreByWalk } from './restore-by-walk.js';
import { restoreReferenced } from './restore-referenced.js';
import { reportMissingVolumes, reportNoStructure, type NotGivenVolume } from './restore-structure.js';
import { chooseBackup, chooseSource, PathFilter } from './select.js';
import { DryRunSink, VerifySink, WriteSink, type DryRunListing, type Sink } from './sink.js';

export type { Problem } from './problem-log.js';
export type { NeededVolume, RestorePlan } from './plan-restore.js';
export type { NotGivenVolume } from './restore-structure.js';

export interface UnpackOptions {
  inputs: readonly string[];
  dest: string;
  /** Check every blob without writing anything (xtar verify). */
  verifyOnly?: boolean;
  /** Write damaged files as NAME.damaged instead of leaving them out. */
  keepDamaged?: boolean;
  onProgress?: (p: { files: number; bytes: number; totalBytes: number }) => void;
  /** Called with each file's path (from the root folder's name) once it is restored (tar -v). */
  onFile?: (path: string) => void;
  /** Restore the state as of this backup (default: the newest given). */
  backup?: string;
  /** Of a set holding several source folders' backups: this folder's (its path as packed). Without it (or `backup`) such a restore is refused. */
  source?: string;
  /** Restore the state of the newest backup made at or before this time. */
  at?: Date;
  /** Only these paths or globs (and everything below a folder that matches). */
  paths?: readonly string[];
  /** Called before anything is read: the backup chosen and every volume it needs, present or not. */
  onPlan?: (p: RestorePlan) => void;
  /** Threads that inflate, check and write small files (default: the number of cores). */
  jobs?: number;
  /**
   * A file already at a restored file's path (as GNU tar): 'overwrite' replaces it (the default);
   * 'keep-old' keeps it, listed as refused (exit 1); 'keep-newer' keeps it when its mtime is the same
   * as the archive's copy or newer, named in `kept` (not a problem: exit 0).
   */
  existing?: ExistingPolicy;
  /** Write nothing: check every blob and list what would be written, replaced or kept (`dryRun` in the result). */
  dryRun?: boolean;
  /** How hard to try sectors the drive fails (default: 2048-byte sectors, 2 retries). */
  read?: ReadPolicy;
  /** Once aborted, the restore stops between files (its reason, an InterruptedError, is thrown); nothing is left half written. */
  signal?: AbortSignal;
}

export interface UnpackResult {
  /** The backup restored and the volumes it needed. */
  plan: RestorePlan;
  dest: string;
  files: number;
  bytes: number;
  /** Bytes of the archives taken by blobs that failed their checks. */
  damagedBytes: number;
  /** Archives given of which not even the first tar header could be read. */
  unreadableArchives: number;
  structure: ApplyResult | null;
  problems: Problem[];
  /** Files (and other nodes) left as they were by `existing` (with 'keep-old', also listed as problems). */
  kept: string[];
  /** With dryRun: what would be written, replaced and kept, in the order found. */
  dryRun?: DryRunListing;
  /**
   * The paths or globs given that match nothing in the backup (GNU tar's "Not found in archive"):
   * known from its structure record, which lists every path; without one, none is named.
   */
  notFound: string[];
  /** The volumes not given, each with its problem record and its files' (all also in `problems`). */
  notGiven: NotGivenVolume[];
  /** The byte ranges of archive files the drive could not read (EIO after retries), per file. */
  unreadableSectors: { file: string; offset: number; length: number }[];
  /** Seconds spent narrowing down and retrying failed reads. */
  retrySeconds: number;
}

/** What a restore into a sink is told: unpack's options, less where to write. */
export type RestoreOptions = Omit<UnpackOptions, 'dest' | 'verifyOnly'>;

export async function unpack(opts: UnpackOptions): Promise<UnpackResult> {
  if (opts.verifyOnly) return restore(opts, new VerifySink(resolve(opts.dest)));
  const dest = new Destination(opts.dest);
  dest.existing = opts.existing ?? 'overwrite';
  dest.signal = opts.signal;
  return restore(opts, opts.dryRun ? new DryRunSink(dest) : new WriteSink(dest));
}

/** Restore the backup chosen from the volumes given into `sink`: the stages, in order. */
export async function restore(opts: RestoreOptions, sink: Sink): Promise<UnpackResult> {
  const { plan, ctx } = await prepareRestore(opts, sink);
  const { pool } = ctx;
  let structure: ApplyResult | null = null;
  let notGiven: NotGivenVolume[] = [];
  let failure: { error: unknown } | null = null;
  try {
    await ctx.open();
    // The threads (if the archives are worth them) boot while the records are read.
    pool.startFor(ctx.readers.reduce((n, r) => n + r.size, 0));
    await chooseStructure(ctx);
    // (Files held by earlier backups only when a catalog read named one: restoreReferenced reads the same catalogs.)
    if (await restoreByCatalog(ctx)) await restoreReferenced(ctx);
    await restoreByWalk(ctx);
    await joinSplits(ctx);
    // Every file is written (and its problems listed) before the structure is applied.
    await pool.settle();
    if (ctx.structureSrc === null) reportNoStructure(ctx);
    else structure = await sink.finishStructure(ctx, ctx.structureSrc);
    notGiven = reportMissingVolumes(ctx, plan.backup);
  } catch (e) {
    failure = { error: e };
  } finally {
    // (The pool finishes what its threads hold first: their outcomes are listed too.)
    await ctx.close();
  }
  if (failure !== null) {
    // The destination full (or read-only, failing ...): its fault, named, with the files it cost.
    if (sink.dest !== null && isFatalIoError(failure.error)) throw new DestinationError(sink.root, failure.error, sink.dest.notWritten, ctx.log.problems());
    throw failure.error;
  }
  const kept = [...(sink.dest?.kept ?? [])];
  const r: UnpackResult = { plan, dest: sink.root, files: ctx.files, bytes: ctx.bytes, damagedBytes: ctx.damagedBytes, unreadableArchives: ctx.unreadableArchives, structure, problems: ctx.log.problems(), kept, notFound: ctx.structureSrc === null ? [] : ctx.filter.notFound(), notGiven, ...unreadableOf(ctx) };
  if (sink.dryRun !== null) r.dryRun = sink.dryRun.listing;
  return r;
}

/** Choose the backup, plan the restore (told to onPlan) and set up its context, readers not yet open: nothing is read from the volumes' tars yet. */
export async function prepareRestore(opts: RestoreOptions, sink: Sink): Promise<{ plan: RestorePlan; ctx: RestoreContext }> {
  let volumes = await volumesGiven(opts.inputs);
  // (Verify reads whichever backup is newest; a restore must know which folder it brings back.)
  if (!(sink instanceof VerifySink)) volumes = await chooseSource(volumes, { ...(opts.source === undefined ? {} : { source: opts.source }), ...(opts.backup === undefined ? {} : { backup: opts.backup }) });
  const choice = chooseBackup(volumes, { ...(opts.backup === undefined ? {} : { backup: opts.backup }), ...(opts.at === undefined ? {} : { at: opts.at }) });
  const filter = new PathFilter(opts.paths ?? []);
  const catalogs = new OwnCatalogs();
  const expected = await expectedVolumes(choice.own);
  const reads = new ReadSession(opts.read);
  const { plan, own } = await planRestore(choice, filter, catalogs, expected, reads);
  opts.onPlan?.(plan);
  const pool = new ExtractPool(sink.dest, opts.jobs);
  const ctx = new RestoreContext(sink, pool, own, choice.others, filter, catalogs, new StructureFacts(filter), expected, opts.keepDamaged === true, opts.onProgress, opts.onFile);
  ctx.reads = reads;
  return { plan, ctx };
}

function unreadableOf(ctx: RestoreContext): { unreadableSectors: UnpackResult['unreadableSectors']; retrySeconds: number } {
  return { unreadableSectors: ctx.reads.unreadable(), retrySeconds: ctx.reads.retryMs / 1000 };
}

/** The volumes of every input (the same volume given twice, as a set and one of its folders, is read once). */
async function volumesGiven(inputs: readonly string[]): Promise<VolumeSource[]> {
  const given: VolumeSource[] = [];
  for (const input of inputs) given.push(...(await locate(input, true)));
  const seen = new Set<string>();
  return given.filter((v) => (seen.has(v.archive) ? false : (seen.add(v.archive), true)));
}
