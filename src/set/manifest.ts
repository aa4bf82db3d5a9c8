/** Reading a volume folder's volume.json: decoded and checked by src/format/manifest.ts, or null when absent or not valid. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VOLUME_MANIFEST } from '../format/layout.js';
import { decodeVolumeManifest, type VolumeManifest } from '../format/manifest.js';

/**
 * The volume.json of the volume folder `dir`, or null when there is none, it cannot be read, or it
 * is not a valid manifest (a volume is still usable without it: its records say the rest).
 */
export async function readVolumeManifest(dir: string): Promise<VolumeManifest | null> {
  const path = join(dir, VOLUME_MANIFEST);
  try {
    return decodeVolumeManifest(await readFile(path, 'utf8'), path);
  } catch {
    return null;
  }
}
