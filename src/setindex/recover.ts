/**
 * Bringing the index up to date with the volumes before a writer uses it. After a pack was killed, or
 * could not write its last commit (a full disk): a backup the index holds as incomplete is either
 * finished on disk (every volume renamed into place), and is imported from its volumes, or not, and
 * is forgotten with the volumes it had renamed so far (a backup's volumes appear all together or not
 * at all). A complete backup on disk that the index does not hold at all is imported too: a backup
 * whose volumes are in place is never forgotten, and the next one builds on it. Partial folders are
 * removed.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PARTIAL_PREFIX } from '../format/layout.js';
import { setVolumes, type VolumeSource } from '../set/locate.js';
import type { SetIndex } from './db.js';
import { readVolumeManifest } from '../set/manifest.js';
import { importBackup } from './rebuild.js';

/**
 * Whether every volume of a backup is in the set, as the first of its volumes' manifests that reads
 * and checks says; null when none does (unreadable, damaged): then no one can say, and nothing is
 * removed on its word.
 */
export async function completeOnDisk(vols: readonly VolumeSource[]): Promise<boolean | null> {
  for (const v of vols) {
    const m = v.dir === null ? null : await readVolumeManifest(v.dir, v);
    if (m !== null) return vols.length === m.volumes;
  }
  return null;
}

/** Returns the ids of the backups imported from their volumes. */
export async function recoverIncomplete(index: SetIndex, set: string): Promise<string[]> {
  const imported: string[] = [];
  const onDisk = await setVolumes(set);
  for (const b of index.incomplete()) {
    index.dropBackup(b.rowid);
    const vols = onDisk.get(b.id) ?? [];
    const complete = await completeOnDisk(vols);
    if (complete === true) {
      await importBackup(index, b.id, vols);
      imported.push(b.id);
    } else if (complete === false) for (const v of vols) if (v.dir !== null) await rm(v.dir, { recursive: true, force: true });
    // (null: no manifest of its volumes can be read — a damaged record is never a reason to delete
    // volumes; they stay, out of the index, for `xtar index rebuild` or a restore to read.)
  }
  // Complete backups the index lacks, newer than any it holds of their source (oldest first: a later
  // one's references need the earlier's rows). An older one would take a place in the order that is
  // not its own; `xtar index rebuild` puts it where it belongs.
  const known = index.ids();
  for (const [id, vols] of [...onDisk.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (known.has(id) || (await completeOnDisk(vols)) !== true) continue;
    const first = vols[0];
    const source = first === undefined ? undefined : (await readVolumeManifest(first.dir as string, first))?.source;
    if (source === undefined || id <= (index.latest(source)?.id ?? '')) continue;
    try {
      await importBackup(index, id, vols);
      imported.push(id);
    } catch (e) {
      // The index cannot be written: say so. Volumes that cannot be read stay out, as before.
      if (String((e as { code?: unknown }).code).startsWith('SQLITE_')) throw e;
    }
  }
  // Folders of a pack that never finished (the lock says no other pack is running).
  for (const name of await readdir(set)) {
    if (name.startsWith(PARTIAL_PREFIX)) await rm(join(set, name), { recursive: true, force: true });
  }
  return imported;
}
