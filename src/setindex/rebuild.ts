/**
 * Making the index from the volumes alone (`xtar index rebuild SET`), since discs outlive the disk
 * the index was on; and re-importing one backup whose volumes are complete but whose index rows were
 * not (a pack killed between renaming its volumes and committing). Reads each backup's structure
 * record and newest catalog side by side, both in the records' depth-first order: memory does not
 * grow with the tree.
 */
import { createHash } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { comparePreorder } from '../format/names.js';
import type { VolumeManifest } from '../format/manifest.js';
import { decodeStructureEntry, decodeStructureHeader, decodeTrailer, type BackupKind, type CatalogLine } from '../format/records.js';
import { folderBytes } from '../set/volume-files.js';
import { readVolumeManifest } from '../set/manifest.js';
import { setVolumes, type VolumeSource } from '../set/locate.js';
import { catalogLines, type RecordSource } from '../set/read-records.js';
import { readLines } from '../util/lines.js';
import { INDEX_FILE, SetIndex, type BackupSummary } from './db.js';

export interface ImportResult {
  id: string;
  /** Volumes the backup was written on, and those missing from the set. */
  volumes: number;
  missing: number[];
  files: number;
}

/** Add one backup to the index from its volumes (which must include one with its structure record). */
export async function importBackup(index: SetIndex, id: string, vols: readonly VolumeSource[]): Promise<ImportResult> {
  const present = vols.filter((v) => v.dir !== null);
  let manifest: VolumeManifest | null = null;
  for (const v of present) manifest ??= await readVolumeManifest(v.dir as string);
  const structure = present.find((v) => v.structure !== null)?.structure ?? null;
  if (structure === null) throw new Error(`backup ${id} has no structure record in the set`);
  let header = null;
  for await (const line of readLines(structure)) {
    header = decodeStructureHeader(line, structure);
    break;
  }
  if (header === null) throw new Error(`${structure} is empty`);
  const kind: BackupKind = header.kind ?? manifest?.kind ?? 'full';
  const base = header.base ?? manifest?.base ?? null;
  const total = manifest?.volumes ?? Math.max(...present.map((v) => v.volume ?? 1));
  const numbers = new Set(present.map((v) => v.volume ?? 1));
  const missing = Array.from({ length: total }, (_, i) => i + 1).filter((n) => !numbers.has(n));

  const rowid = index.beginBackup({ id, kind, base, source: manifest?.source ?? header.root, root: header.root, created: header.created });
  try {
    return await importRows(index, rowid, { id, structure, present, total, missing });
  } catch (e) {
    index.dropBackup(rowid);
    throw e;
  }
}

async function importRows(
  index: SetIndex,
  rowid: number,
  b: { id: string; structure: string; present: readonly VolumeSource[]; total: number; missing: number[] },
): Promise<ImportResult> {
  const { id, structure, present, total, missing } = b;
  const newest = [...present].reverse().find((v) => v.catalog !== null);
  const catalog: RecordSource | null = newest?.catalog ? { path: newest.catalog, label: newest.catalog } : null;
  const lines = catalog ? catalogLines(catalog, () => undefined)[Symbol.asyncIterator]() : null;
  let pending: CatalogLine | null = null;
  const nextLine = async (): Promise<CatalogLine | null> => {
    if (lines === null) return null;
    const r = await lines.next();
    return r.done ? null : r.value;
  };
  pending = await nextLine();

  const hash = createHash('sha256');
  let files = 0;
  let bytes = 0;
  let skippedFiles = 0;
  let n = 0;
  for await (const line of readLines(structure)) {
    if (n++ === 0 || decodeTrailer(line) !== null) continue;
    hash.update(`${line}\n`);
    const e = decodeStructureEntry(line, structure);
    if (e.type !== 'file') continue;
    files++;
    bytes += e.size ?? 0;
    while (pending !== null && comparePreorder(pending.path, e.path) < 0) pending = await nextLine();
    const f = { path: e.path, size: e.size ?? 0, mtimeNs: e.mtimeNs, mode: e.mode };
    const c = pending !== null && pending.path === e.path ? pending : null;
    if (c === null) {
      skippedFiles++;
      index.addFile(rowid, { ...f, skipped: 'not in the catalogs of the volumes in the set' }, null);
    } else if ('skipped' in c) {
      skippedFiles++;
      index.addFile(rowid, { ...f, skipped: c.skipped }, null);
    } else if (c.backup === undefined) {
      index.addFile(rowid, f, index.addBlob(rowid, e.path, { sha256: c.sha256, crc32: c.crc32, method: c.method, parts: c.parts }));
    } else {
      const blob = index.blobOf(c.backup, c.as ?? e.path);
      if (blob === null) {
        skippedFiles++;
        index.addFile(rowid, { ...f, skipped: `its bytes are in backup ${c.backup}, which is not in the set` }, null);
      } else index.addFile(rowid, f, blob);
    }
  }
  const summary: BackupSummary = {
    volumeCount: total,
    volumes: [],
    files,
    bytes,
    storedFiles: 0,
    storedBytes: 0,
    skippedFiles,
    structureSha256: hash.digest('hex'),
  };
  for (const v of present) {
    const m = await readVolumeManifest(v.dir as string);
    summary.volumes.push({ number: v.volume ?? 1, bytes: await folderBytes(v.dir as string), files: m?.files ?? 0 });
    summary.storedFiles += m?.files ?? 0;
    summary.storedBytes += m?.bytes ?? 0;
  }
  index.completeBackup(rowid, summary);
  return { id, volumes: total, missing, files };
}

export interface RebuildResult {
  index: string;
  backups: ImportResult[];
  /** Backups that could not be read (no structure record among their volumes), with why. */
  failed: { id: string; reason: string }[];
}

/** Make the set's index again from its volumes: written beside the old one, then renamed over it. */
export async function rebuildIndex(set: string): Promise<RebuildResult> {
  const target = join(set, INDEX_FILE);
  const temp = `${target}.rebuild`;
  for (const suffix of ['', '-journal', '-wal', '-shm']) await rm(temp + suffix, { force: true });
  const index = SetIndex.openFile(temp);
  const backups: ImportResult[] = [];
  const failed: { id: string; reason: string }[] = [];
  try {
    for (const [id, vols] of [...(await setVolumes(set)).entries()].sort(([a], [b]) => a.localeCompare(b))) {
      try {
        backups.push(await importBackup(index, id, vols));
      } catch (e) {
        failed.push({ id, reason: (e as Error).message });
      }
    }
  } finally {
    index.close();
  }
  // A journal left beside the old index would be rolled back into the new one: remove it first.
  for (const suffix of ['-journal', '-wal', '-shm']) await rm(target + suffix, { force: true });
  await rename(temp, target);
  return { index: target, backups, failed };
}
