/**
 * The checks of pack's options that do not need the disk: the one place --level, --par2, --jobs,
 * --split and --full-every are judged, for the CLI and for code that calls pack() or dryRun() alike. A bad value is a usage
 * error (exit 2), named with the value given.
 */
import { UsageError } from '../errors.js';
import type { PackOptions } from './pack.js';

export const DEFAULT_LEVEL = 6;

/** The deflate level pack will use; throws a UsageError for a level or a par2 percentage out of range. */
export function checkPackOptions(opts: Pick<PackOptions, 'level' | 'par2' | 'jobs' | 'split' | 'fullEvery'>): number {
  const level = opts.level ?? DEFAULT_LEVEL;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new UsageError(`--level must be a whole number from 0 to 9, not ${level}.`);
  if (opts.par2 !== undefined && !(opts.par2 > 0 && opts.par2 <= 100)) throw new UsageError(`--par2 must be a percentage above 0 and at most 100, not ${opts.par2}.`);
  if (opts.jobs !== undefined) checkJobs(opts.jobs);
  if (opts.split !== undefined && (!Number.isInteger(opts.split) || opts.split < 1)) throw new UsageError(`--split must be a whole number of at least 1, not ${opts.split}.`);
  if (opts.fullEvery !== undefined && (!Number.isInteger(opts.fullEvery) || opts.fullEvery < 0)) throw new UsageError(`--full-every must be a whole number of at least 0, not ${opts.fullEvery}.`);
  return level;
}

/** Threads for a pool: a whole number of at least 1. */
export function checkJobs(jobs: number): void {
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be a whole number of at least 1, not ${jobs}.`);
}
