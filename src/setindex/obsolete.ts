/**
 * Which volumes a set no longer needs — discs that can be reused: those holding no byte of any file
 * in the newest state of each folder backed up (or in any of its last K backups), and not the last
 * volume of a kept backup (it carries that backup's whole catalog). Answered by the index in SQL.
 */
import { SetIndex } from './db.js';
import { UsageError } from '../errors.js';
import { volumeName } from '../format/layout.js';

export interface ObsoleteVolume {
  backup: string;
  volume: number;
  /** Folder name in the set. */
  name: string;
  bytes: number;
}

export interface ObsoleteResult {
  /** The backups whose states are kept (the newest K of each source). */
  kept: string[];
  obsolete: ObsoleteVolume[];
  /** Bytes the obsolete volumes take. */
  bytes: number;
}

/** `--keep K` (prune, list --obsolete): a whole number of at least 1, else a usage error. */
export function checkKeep(keep: number): void {
  if (!Number.isInteger(keep) || keep < 1) throw new UsageError('--keep must be a whole number of at least 1.');
}

export function obsoleteVolumes(index: SetIndex, keep = 1): ObsoleteResult {
  const backups = index.backups();
  const bySource = new Map<string, typeof backups>();
  for (const b of backups) bySource.set(b.source, [...(bySource.get(b.source) ?? []), b]);
  const kept = [...bySource.values()].flatMap((list) => list.slice(-Math.max(1, keep)));
  const needed = new Set(index.neededVolumes(kept.map((b) => b.rowid)).map((v) => `${v.backup}:${v.volume}`));
  const obsolete: ObsoleteVolume[] = [];
  for (const b of backups) {
    for (const v of index.volumesOf(b.rowid)) {
      if (!needed.has(`${b.id}:${v.number}`)) obsolete.push({ backup: b.id, volume: v.number, name: volumeName(b.id, v.number), bytes: v.bytes });
    }
  }
  return { kept: kept.map((b) => b.id).sort(), obsolete, bytes: obsolete.reduce((n, v) => n + v.bytes, 0) };
}
