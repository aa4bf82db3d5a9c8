/**
 * `xtar prune SET --keep K`: delete the volumes no kept state needs — those `list --obsolete --keep K`
 * names (obsolete.ts) — from a set on disc (the volume folder and its .iso image) or in object
 * storage (the volume's objects, volume.json first), and forget them in the index so they are never
 * named again. Every volume deleted is named; `dryRun` only names them. The caller holds the set's
 * lock (and, in object storage, its lock object) and uploads the index after.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { indexCoversVolumes } from './covers.js';
import { openHealed } from './heal.js';
import { checkKeep, obsoleteVolumes, type ObsoleteVolume } from './obsolete.js';
import { recoverIncomplete } from './recover.js';

export interface PruneOptions {
  keep: number;
  dryRun: boolean;
  /** Delete a volume elsewhere than on disc (object storage): what was deleted, by name. */
  removeVolume?: (name: string) => Promise<string[]>;
  note?: (line: string) => void;
  /** Told of each volume as it is deleted (or, with dryRun, would be). */
  onVolume?: (v: ObsoleteVolume) => void;
}

export interface PruneResult {
  keep: number;
  kept: string[];
  /** The volumes deleted (with dryRun: that would be). */
  deleted: ObsoleteVolume[];
  bytes: number;
  dryRun: boolean;
}

export async function pruneSet(set: string, o: PruneOptions): Promise<PruneResult> {
  checkKeep(o.keep);
  const note = o.note ?? ((): void => undefined);
  // (An index fetched from object storage may not know a backup another machine packed.)
  if (!o.dryRun || o.removeVolume !== undefined) await indexCoversVolumes(set, note);
  const index = await openHealed(set, { write: !o.dryRun, note });
  try {
    for (const id of await recoverIncomplete(index, set)) note(`backup ${id} was complete in the set but not recorded in its index; imported it from its volumes.`);
    const r = obsoleteVolumes(index, o.keep);
    for (const v of r.obsolete) {
      o.onVolume?.(v);
      if (o.dryRun) continue;
      if (o.removeVolume !== undefined) await o.removeVolume(v.name);
      else {
        await rm(join(set, v.name), { recursive: true, force: true });
        const iso = join(set, `${v.name}.iso`);
        if (await stat(iso).then(() => true, () => false)) await rm(iso, { force: true });
      }
      index.forgetVolume(v.backup, v.volume);
    }
    return { keep: o.keep, kept: r.kept, deleted: r.obsolete, bytes: r.bytes, dryRun: o.dryRun };
  } finally {
    index.close();
  }
}
