/**
 * A backup's id and creation time: the id is its creation second, moved on past ids the set already
 * holds. Knows volume names; knows nothing of the index or of packing.
 */
import { readdir } from 'node:fs/promises';
import { backupIdFor, PARTIAL_PREFIX, parseVolumeName } from '../format/layout.js';

export function creationTime(now: Date | undefined): Date {
  if (now) return now;
  const sde = process.env.SOURCE_DATE_EPOCH;
  if (sde !== undefined && /^\d+$/.test(sde)) return new Date(Number(sde) * 1000);
  return new Date();
}

/** An id for a backup created `when` that no volume (finished or partial) in `set` uses yet. */
export async function freshBackupId(set: string, when: Date): Promise<string> {
  const taken = new Set<string>();
  for (const name of await readdir(set)) {
    const v = parseVolumeName(name.startsWith(PARTIAL_PREFIX) ? name.slice(PARTIAL_PREFIX.length) : name);
    if (v) taken.add(v.backupId);
  }
  let t = Math.floor(when.getTime() / 1000) * 1000;
  while (taken.has(backupIdFor(new Date(t)))) t += 1000;
  return backupIdFor(new Date(t));
}

/** The creation time the backup id stands for (the id may have been moved on by a second). */
export function idTime(backupId: string, created: Date): Date {
  if (backupIdFor(created) === backupId) return created;
  const n = (a: number, b: number): number => Number(backupId.slice(a, b));
  return new Date(Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(9, 11), n(11, 13), n(13, 15)));
}
