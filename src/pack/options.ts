/**
 * The checks of pack's options that do not need the disk: the one place --level, --par2, --jobs,
 * --split and --full-every (and, for a new key file, XTAR_SCRYPT_LOG_N) are judged, for the CLI and for code that calls pack() or dryRun() alike. A bad value is a usage
 * error (exit 2), named with the value given.
 */
import { availableParallelism, freemem, totalmem } from 'node:os';
import { UsageError } from '../errors.js';
import { scryptLogN } from '../format/encryption.js';
import type { PackOptions } from './pack.js';

export const DEFAULT_LEVEL = 6;

/** The deflate level pack will use; throws a UsageError for a level or a par2 percentage out of range. */
export function checkPackOptions(opts: Pick<PackOptions, 'level' | 'par2' | 'jobs' | 'split' | 'fullEvery' | 'encrypt'>): number {
  const level = opts.level ?? DEFAULT_LEVEL;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new UsageError(`--level must be a whole number from 0 to 9, not ${level}.`);
  if (opts.par2 !== undefined && !(opts.par2 > 0 && opts.par2 <= 100)) throw new UsageError(`--par2 must be a percentage above 0 and at most 100, not ${opts.par2}.`);
  if (opts.jobs !== undefined) checkJobs(opts.jobs);
  if (opts.split !== undefined && (!Number.isInteger(opts.split) || opts.split < 1)) throw new UsageError(`--split must be a whole number of at least 1, not ${opts.split}.`);
  if (opts.fullEvery !== undefined && (!Number.isInteger(opts.fullEvery) || opts.fullEvery < 0)) throw new UsageError(`--full-every must be a whole number of at least 0, not ${opts.fullEvery}.`);
  // A new set's key file is made with it: a bad value ends the run before anything is written.
  if (opts.encrypt?.passphrase !== undefined) scryptLogN();
  return level;
}

/** Threads for a pool: a whole number of at least 1. */
export function checkJobs(jobs: number): void {
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be a whole number of at least 1, not ${jobs}.`);
}

/** What one pool thread may hold at once: its batches of up to ~16 MiB of files and their results. */
export const THREAD_BYTES = 16 * 1024 * 1024;

/**
 * The threads that help: no more than the cores (a thread more only waits its turn and holds its
 * batches), and no more than a quarter of the memory free (at least an eighth of all) can hold.
 */
export function usefulJobs(): number {
  const memory = Math.max(freemem(), totalmem() / 8) / 4;
  return Math.max(1, Math.min(availableParallelism(), Math.floor(memory / THREAD_BYTES)));
}

/**
 * The threads a pool gets for `--jobs N` (checked first): N, or fewer when more would not help, said
 * once through `note`. `undefined` (no --jobs) stays undefined: the pool's own default.
 */
export function capJobs(jobs: number | undefined, note: (line: string) => void): number | undefined {
  if (jobs === undefined) return undefined;
  checkJobs(jobs);
  const useful = usefulJobs();
  if (jobs <= useful) return jobs;
  note(`note: --jobs ${jobs} is more than helps here; using ${useful}.`);
  return useful;
}
