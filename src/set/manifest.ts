/** Reading a volume folder's volume.json: decoded and checked by src/format/manifest.ts, or null when absent or not valid. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ARCHIVE_SUFFIX, parseVolumeName, VOLUME_MANIFEST } from '../format/layout.js';
import { decodeVolumeManifest, type VolumeManifest } from '../format/manifest.js';
import { firstMissing } from './rescue-map.js';

/**
 * The volume.json of the volume folder `dir`, or null when there is none, it cannot be read, or it
 * is not a valid manifest — a damaged one (its `sum` does not match) included: a volume is still
 * usable without it, its records say the rest.
 */
export async function readVolumeManifest(dir: string): Promise<VolumeManifest | null> {
  return (await checkVolumeManifest(dir)).manifest;
}

/** As readVolumeManifest, and why a volume.json that exists was not used (null: it was, or there is none). */
export async function checkVolumeManifest(dir: string): Promise<{ path: string; manifest: VolumeManifest | null; damaged: string | null }> {
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
  const other = await otherVolume(dir, manifest);
  return other === null ? { path, manifest, damaged: null } : { path, manifest: null, damaged: other };
}

/** Why `m` is not the volume.json of the volume in `dir` (its archive's name says which), or null. */
async function otherVolume(dir: string, m: VolumeManifest): Promise<string | null> {
  const archives = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(ARCHIVE_SUFFIX));
  const own = archives.length === 1 ? parseVolumeName((archives[0] as string).slice(0, -ARCHIVE_SUFFIX.length)) : null;
  if (own === null || (own.backupId === m.backup && own.volume === m.volume)) return null;
  return `it is not this volume's: it describes volume ${m.volume} of backup ${m.backup}, not volume ${own.volume} of ${own.backupId}`;
}
