/**
 * `xtar verify` (and the check after `xtar repair`): read everything, check every blob (CRC and
 * sha256), every tar header and both records, writing nothing (the VerifySink); and say which
 * problems are damage; and, for a set folder, whether its newest backups can be restored in full
 * (check-chain). Rendering the answer is the CLI's job.
 */
import { checkChains, type ChainGap } from './check-chain.js';
import type { Problem } from './problem-log.js';
import { VerifySink } from './sink.js';
import { restore, type RestoreOptions, type UnpackResult } from './unpack.js';

export type VerifyOptions = Pick<RestoreOptions, 'inputs' | 'jobs' | 'onProgress' | 'read'>;

export interface VerifyResult extends UnpackResult {
  /** The problems that are a file's damage (or a refused entry). */
  damaged: Problem[];
  /** Nothing could be read at all: no file intact, and an archive damaged from its first header. */
  unreadable: boolean;
  /** Of an input that is a set folder: the volumes its newest backups need that are not in the set. */
  chainGaps: ChainGap[];
}

export async function verify(opts: VerifyOptions): Promise<VerifyResult> {
  // Nothing is written: the result names no folder.
  const r = await restore(opts, new VerifySink(''));
  const damaged = r.problems.filter((p) => p.kind === 'damaged' || p.kind === 'refused');
  const unreadable = r.files === 0 && r.unreadableArchives > 0;
  const chainGaps: ChainGap[] = [];
  for (const input of opts.inputs) chainGaps.push(...((await checkChains(input)) ?? []));
  return { ...r, damaged, unreadable, chainGaps };
}
