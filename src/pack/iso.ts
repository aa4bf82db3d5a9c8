/**
 * Disc images with the real `xorriso`: each volume folder as an ISO 9660 image with Rock Ridge and
 * Joliet, ready to burn. Running xorriso is all this does; the volume writer keeps room for the
 * image's own file system.
 */
import { execFile } from 'node:child_process';
import { rename, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { InputError } from '../errors.js';

const run = promisify(execFile);

export const XORRISO_INSTALL_HINT = 'xorriso is not installed: install it (Debian/Ubuntu: apt-get install xorriso) or leave out --iso.';

/** Room an ISO 9660 + Rock Ridge + Joliet image of a volume folder needs beyond the folder's bytes. */
export const ISO_OVERHEAD = 1024 * 1024;

export async function requireXorriso(): Promise<void> {
  try {
    await run('xorriso', ['-version']);
  } catch {
    throw new InputError(XORRISO_INSTALL_HINT);
  }
}

/** Write `iso` (atomically: under a temporary name first) from the folder `dir`. Returns its size. */
export async function makeIso(dir: string, iso: string, volumeId: string): Promise<number> {
  const tmp = `${iso}.partial`;
  await run('xorriso', ['-as', 'mkisofs', '-quiet', '-r', '-J', '-joliet-long', '-V', volumeId.slice(0, 32), '-o', tmp, dir], { maxBuffer: 16 * 1024 * 1024 });
  await rename(tmp, iso);
  return (await stat(iso)).size;
}
