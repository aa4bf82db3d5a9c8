/**
 * Whether a set's newest backups can be restored in full: for the newest backup of each folder backed
 * up (the states `list --obsolete` keeps), every one of its own volumes, and every volume of an earlier
 * backup its catalog's reference lines name, is in the set. Reads the manifests and one catalog per
 * backup, no file's bytes: reading them is verify's restore. Older backups are not asked: the volumes
 * `list --obsolete` let you reuse are exactly those only they need.
 */
import { stat } from 'node:fs/promises';
import { setVolumes, type VolumeSource } from '../set/locate.js';
import { readVolumeManifest } from '../set/manifest.js';
import { catalogLines } from '../set/read-records.js';
import { volumeKey } from './select.js';

export interface ChainGap {
  /** The backup that cannot be restored in full. */
  backup: string;
  /** The volume it needs that is not in the set, of which backup (itself or an earlier one). */
  needs: { backup: string; volume: number };
  /** Files whose bytes are on that volume (0: its own volume, whose catalog is not read). */
  files: number;
  message: string;
}

/** The gaps in the chains of a set's newest backups; null when `input` is not a set folder. */
export async function checkChains(input: string): Promise<ChainGap[] | null> {
  if (!(await stat(input).then((s) => s.isDirectory(), () => false))) return null;
  const onDisk = await setVolumes(input);
  if (onDisk.size === 0) return null;
  const present = new Set([...onDisk.values()].flat().map((v) => volumeKey(v.backupId, v.volume)));
  // The newest backup of each source (from the manifests; a backup without one stands alone).
  const newest = new Map<string, { id: string; vols: VolumeSource[]; count: number | null }>();
  for (const [id, vols] of [...onDisk.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    let manifest = null;
    for (const v of vols) manifest ??= v.dir === null ? null : await readVolumeManifest(v.dir, v).catch(() => null);
    newest.set(manifest?.source ?? id, { id, vols, count: manifest?.volumes ?? null });
  }
  const gaps: ChainGap[] = [];
  for (const { id, vols, count } of newest.values()) {
    const own = new Set(vols.map((v) => v.volume ?? 1));
    for (let n = 1; n <= (count ?? 0); n++) {
      if (!own.has(n)) gaps.push({ backup: id, needs: { backup: id, volume: n }, files: 0, message: `backup ${id} needs its own volume ${n} of ${count}, which is not in the set` });
    }
    // The newest volume's catalog.jsonl lists every file of the volumes up to it.
    const holder = [...vols].reverse().find((v) => v.catalog !== null);
    if (holder === undefined || holder.catalog === null) continue;
    const catalog = holder.catalog;
    const lacking = new Map<string, { backup: string; volume: number; files: number }>();
    // (Another volume's catalog copied into this folder says nothing of this backup's chain.)
    for await (const c of catalogLines({ path: catalog, label: catalog, owner: holder }, () => undefined)) {
      if ('skipped' in c || c.backup === undefined) continue;
      for (const volume of new Set(c.parts.map((p) => p.volume))) {
        const key = volumeKey(c.backup, volume);
        if (present.has(key)) continue;
        const gap = lacking.get(key) ?? { backup: c.backup, volume, files: 0 };
        gap.files++;
        lacking.set(key, gap);
      }
    }
    for (const g of lacking.values()) {
      gaps.push({
        backup: id,
        needs: { backup: g.backup, volume: g.volume },
        files: g.files,
        message: `backup ${id} needs volume ${g.volume} of backup ${g.backup}, which is not in the set (${g.files} file(s) have their bytes there)`,
      });
    }
  }
  return gaps;
}
