/** Reading a volume folder's volume.json: decoded and checked by src/format/manifest.ts, or null when absent or not valid. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VOLUME_MANIFEST } from '../format/layout.js';
import { decodeVolumeManifest, type VolumeManifest } from '../format/manifest.js';
import type { RecordOwner } from './read-records.js';
import { firstMissing } from './rescue-map.js';

/**
 * The volume.json of the volume folder `dir`, or null when there is none, it cannot be read, or it
 * is not a valid manifest — a damaged one (its `sum` does not match) included: a volume is still
 * usable without it, its records say the rest.
 */
export async function readVolumeManifest(dir: string, own: RecordOwner): Promise<VolumeManifest | null> {
  return (await checkVolumeManifest(dir, own)).manifest;
}

/** As readVolumeManifest, and why a volume.json that exists was not used (null: it was, or there is none). */
export async function checkVolumeManifest(dir: string, own: RecordOwner): Promise<{ path: string; manifest: VolumeManifest | null; damaged: string | null }> {
  const path = join(dir, VOLUME_MANIFEST);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    // A disc that fails its sectors: the file is there but damaged (the records' own digests still decide).
    const eio = (e as NodeJS.ErrnoException).code === 'EIO';
    return { path, manifest: null, damaged: eio ? 'it cannot be read (the drive failed its sectors)' : null };
  }
  // A rescued copy whose map marks bytes of it unread: zeros, not what the disc held.
  const missing = await firstMissing(path);
  if (missing !== null) return { path, manifest: null, damaged: `it is missing from this rescued copy from byte ${missing} on (its map marks the bytes unread)` };
  let manifest: VolumeManifest;
  try {
    manifest = decodeVolumeManifest(text, path);
  } catch (e) {
    return { path, manifest: null, damaged: (e as Error).message };
  }
  // Another volume's volume.json (copied into the wrong folder) is sound, and says nothing of this one.
  if (own.backupId === null || own.volume === null || (own.backupId === manifest.backup && own.volume === manifest.volume)) return { path, manifest, damaged: null };
  return { path, manifest: null, damaged: `it is not this volume's: it describes volume ${manifest.volume} of backup ${manifest.backup}, not volume ${own.volume} of ${own.backupId}` };
}
