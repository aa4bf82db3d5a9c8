/**
 * Redundancy with the real `par2` tool (par2cmdline): recovery files for each volume, inside the
 * volume folder and within its size, and repair. Running par2 is all this does; what to protect and
 * how much room to keep is decided by the volume writer.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { InputError } from '../errors.js';

const run = promisify(execFile);

export const PAR2_INSTALL_HINT = 'par2 is not installed: install it (Debian/Ubuntu: apt-get install par2) or leave out --par2.';

export async function requirePar2(): Promise<void> {
  try {
    await run('par2', ['--version']);
  } catch {
    throw new InputError(PAR2_INSTALL_HINT);
  }
}

/** par2 block size for a volume of `size` bytes: about 2000 source blocks, a multiple of 4, at least 4 KiB. */
export function par2BlockSize(size: number): number {
  const b = Math.max(4096, Math.ceil(size / 2000));
  return b + ((4 - (b % 4)) % 4);
}

/**
 * Room to keep in a volume of `size` bytes for recovery data at `percent`%: the recovery blocks
 * (percent of the source blocks, each block plus its packet header, one more per protected file for
 * rounding) and the index packets par2 repeats in its files.
 */
export function par2Reserve(size: number, percent: number, files = 6): number {
  const block = par2BlockSize(size);
  const sourceBlocks = Math.ceil(size / block) + files;
  const recoveryBlocks = Math.ceil((percent / 100) * sourceBlocks) + 1;
  return recoveryBlocks * (block + 68) + sourceBlocks * 20 * 4 + 256 * 1024;
}

/** Create recovery files `NAME.par2` (+ `NAME.vol…par2`) for `files` in `dir`. */
export async function par2Create(dir: string, name: string, files: readonly string[], percent: number, blockSize: number): Promise<void> {
  await run('par2', ['create', '-q', '-q', `-s${blockSize}`, `-r${percent}`, '-n1', '--', `${name}.par2`, ...files], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
}

export interface RepairResult {
  /** par2's verdict: all files were intact, repaired, or beyond repair. */
  outcome: 'intact' | 'repaired' | 'unrepairable';
  output: string;
}

/** Verify, and repair if needed, the files of a volume folder from its `NAME.par2`. */
export async function par2Repair(dir: string, par2File: string): Promise<RepairResult> {
  try {
    const { stdout } = await run('par2', ['repair', '--', par2File], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
    return { outcome: /All files are correct, repair is not required/i.test(stdout) ? 'intact' : 'repaired', output: stdout };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string };
    if (err.code === 'ENOENT') throw new InputError(PAR2_INSTALL_HINT);
    return { outcome: 'unrepairable', output: err.stdout ?? String(e) };
  }
}
