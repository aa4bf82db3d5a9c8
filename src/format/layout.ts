/**
 * Names on disk around the archives: the set folder's marker, volume folders and the files inside
 * each volume. Pure naming; creating and finding them is src/pack's and src/unpack's.
 */

export const SET_MARKER = 'xtar-set.json';
export const VOLUME_STRUCTURE = 'structure.jsonl';
export const VOLUME_CATALOG = 'catalog.jsonl';
export const VOLUME_README = 'README.txt';
/** Which backup and which volume of how many: written when the whole backup is done. */
export const VOLUME_MANIFEST = 'volume.json';
export const ARCHIVE_SUFFIX = '.xtar';
/** A volume being written; renamed to its final name only when complete. */
export const PARTIAL_PREFIX = '.partial-';

/** Backup ids are the UTC creation time, `YYYYMMDDTHHMMSSZ`: unique in a set, and they sort in time order. */
export function backupIdFor(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

export function volumeName(backupId: string, volume: number): string {
  return `${backupId}-vol${String(volume).padStart(3, '0')}`;
}

export function archiveName(backupId: string, volume: number): string {
  return `${volumeName(backupId, volume)}${ARCHIVE_SUFFIX}`;
}

const VOLUME_RE = /^(\d{8}T\d{6}Z)-vol(\d{3,})$/;

export function parseVolumeName(name: string): { backupId: string; volume: number } | null {
  const m = VOLUME_RE.exec(name);
  return m ? { backupId: m[1] as string, volume: Number(m[2]) } : null;
}
