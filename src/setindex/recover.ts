/**
 * After a pack was killed: a backup the index holds as incomplete is either finished on disk (every
 * volume renamed into place — the pack died before its last commit), and is imported from its
 * volumes, or not, and is forgotten with the volumes it had renamed so far (a backup's volumes appear
 * all together or not at all). Partial folders are removed.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PARTIAL_PREFIX } from '../format/layout.js';
import { setVolumes } from '../set/locate.js';
import type { SetIndex } from './db.js';
import { readVolumeManifest } from '../set/manifest.js';
import { importBackup } from './rebuild.js';

export async function recoverIncomplete(index: SetIndex, set: string): Promise<void> {
  const stale = index.incomplete();
  if (stale.length > 0) {
    const onDisk = await setVolumes(set);
    for (const b of stale) {
      index.dropBackup(b.rowid);
      const vols = onDisk.get(b.id) ?? [];
      const first = vols[0]?.dir ? await readVolumeManifest(vols[0].dir) : null;
      if (first !== null && vols.length === first.volumes) await importBackup(index, b.id, vols);
      else for (const v of vols) if (v.dir !== null) await rm(v.dir, { recursive: true, force: true });
    }
  }
  // Folders of a pack that never finished (the lock says no other pack is running).
  for (const name of await readdir(set)) {
    if (name.startsWith(PARTIAL_PREFIX)) await rm(join(set, name), { recursive: true, force: true });
  }
}
