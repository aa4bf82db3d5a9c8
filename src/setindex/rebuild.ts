/**
 * Making the index from the volumes alone (`xtar index rebuild SET`), since discs outlive the disk
 * the index was on; and re-importing one backup whose volumes are complete but whose index rows were
 * not (a pack killed between renaming its volumes and committing). Reads each backup's structure
 * record and its catalog (the newest that checks, as unpack chooses: src/set/choose-copy.ts) side by
 * side, both in the records' depth-first order: memory does not grow with the tree. Records are read
 * through store/remote-files.ts openPositional, so a copy inside an archive of a set in object
 * storage is read from the object, not from its stand-in.
 */
import { createHash } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CATALOG_SUFFIX, comparePreorder, STRUCTURE_SUFFIX } from '../format/names.js';
import { AGE_SUFFIX } from '../format/encryption.js';
import { applyPax, BLOCK_SIZE, decodeHeaderBlock, paddingLength, parsePaxRecords } from '../format/tar.js';
import type { VolumeManifest } from '../format/manifest.js';
import { decodeCatalogHeader, decodeCatalogLine, decodeStructureEntry, decodeStructureHeader, decodeTrailer, RecordDigest, type BackupKind, type CatalogLine } from '../format/records.js';
import { VOLUME_CATALOG } from '../format/layout.js';
import { folderBytes } from '../set/volume-files.js';
import { readVolumeManifest } from '../set/manifest.js';
import { setVolumes, type VolumeSource } from '../set/locate.js';
import { catalogLines, inflateWhy, otherOwner, type BadLine, type RecordSource } from '../set/read-records.js';
import { chooseCopy, expectedDigests } from '../set/choose-copy.js';
import { firstMissing } from '../set/rescue-map.js';
import { INFLATE_FAILED, readLines } from '../util/lines.js';
import { openPositional } from '../store/remote-files.js';
import { INDEX_FILE, SetIndex, type BackupSummary } from './db.js';

export interface ImportResult {
  id: string;
  /** Volumes the backup was written on, and those missing from the set. */
  volumes: number;
  missing: number[];
  files: number;
  /**
   * Records that could not be used as they stood (a drive that fails their sectors, a checksum that
   * does not match): each named with what it cost. The backup's rows are made all the same, from the
   * records that did read; the files a damaged catalog no longer names are marked skipped with why.
   */
  damage: string[];
}

/** Add one backup to the index from its volumes (which must include one with its structure record). */
export async function importBackup(index: SetIndex, id: string, vols: readonly VolumeSource[]): Promise<ImportResult> {
  const present = vols.filter((v) => v.dir !== null);
  let manifest: VolumeManifest | null = null;
  for (const v of present) manifest ??= await readVolumeManifest(v.dir as string, v);
  const damage: string[] = [];
  const structure = await chooseStructure(id, present, damage);
  let header = null;
  for await (const line of recordLines(structure)) {
    header = decodeStructureHeader(line, structure.label);
    break;
  }
  if (header === null) throw new Error(`${structure.label} is empty`);
  const kind: BackupKind = header.kind ?? manifest?.kind ?? 'full';
  const base = header.base ?? manifest?.base ?? null;
  const total = manifest?.volumes ?? Math.max(...present.map((v) => v.volume ?? 1));
  const numbers = new Set(present.map((v) => v.volume ?? 1));
  const missing = Array.from({ length: total }, (_, i) => i + 1).filter((n) => !numbers.has(n));

  const rowid = index.beginBackup({ id, kind, base, source: manifest?.source ?? header.root, root: header.root, created: header.created });
  try {
    return await importRows(index, rowid, { id, structure, present, total, missing, damage });
  } catch (e) {
    index.dropBackup(rowid);
    throw e;
  }
}

async function importRows(
  index: SetIndex,
  rowid: number,
  b: { id: string; structure: RecordSource; present: readonly VolumeSource[]; total: number; missing: number[]; damage: string[] },
): Promise<ImportResult> {
  const { id, structure, present, total, missing, damage } = b;
  const catalogs = await chooseCatalogs(present, damage);
  // A catalog line that does not decode, or a catalog the drive stops reading: the files it would have
  // named are not guessed; they are marked skipped with that reason, and the damage is named.
  let catalogDamage: string | null = catalogs.lost;
  const badCatalog = (where: string, reason: string): void => {
    damage.push(`${where}: ${reason}`);
    catalogDamage ??= `its catalog line could not be read (${where}: ${reason})`;
  };
  const lines = catalogs.sources.length > 0 ? linesOf(catalogs.sources, badCatalog)[Symbol.asyncIterator]() : null;
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
  for await (const line of recordLines(structure)) {
    if (n++ === 0 || decodeTrailer(line) !== null) continue;
    hash.update(`${line}\n`);
    const e = decodeStructureEntry(line, structure.label);
    if (e.type !== 'file') continue;
    files++;
    bytes += e.size ?? 0;
    while (pending !== null && comparePreorder(pending.path, e.path) < 0) pending = await nextLine();
    const f = { path: e.path, size: e.size ?? 0, mtimeNs: e.mtimeNs, mode: e.mode };
    const c = pending !== null && pending.path === e.path ? pending : null;
    if (c === null) {
      skippedFiles++;
      index.addFile(rowid, { ...f, skipped: catalogDamage ?? 'not in the catalogs of the volumes in the set' }, null);
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
    const m = await readVolumeManifest(v.dir as string, v);
    summary.volumes.push({ number: v.volume ?? 1, bytes: await folderBytes(v.dir as string), files: m?.files ?? 0 });
    summary.storedFiles += m?.files ?? 0;
    summary.storedBytes += m?.bytes ?? 0;
  }
  index.completeBackup(rowid, summary);
  return { id, volumes: total, missing, files, damage };
}

/** The catalog lines of `sources` one after the other (each volume's lines follow the earlier volumes'). */
async function* linesOf(sources: readonly RecordSource[], bad: BadLine): AsyncGenerator<CatalogLine> {
  for (const src of sources) yield* catalogLines(src, bad);
}

/**
 * The catalogs that say where the backup's blobs lie, oldest first, chosen as unpack chooses
 * (src/set/choose-copy.ts). From the newest volume back: its catalog.jsonl when it checks (or, from
 * before digests, reads whole) — it lists every file on volumes 1..N, so no older volume is asked —
 * else the copy inside its .xtar when that checks; the copy holds only that volume's own lines, so the
 * volume before it is asked for the rest. A record that does not check is named in `damage` and not
 * believed: the files whose lines only it held are recorded without their blobs, `lost` saying why.
 */
async function chooseCatalogs(present: readonly VolumeSource[], damage: string[]): Promise<{ sources: RecordSource[]; lost: string | null }> {
  const sources: RecordSource[] = [];
  const without: VolumeSource[] = [];
  let lost: string | null = null;
  for (const v of [...present].reverse()) {
    const plain: RecordSource | null = v.catalog === null ? null : { path: v.catalog, label: v.catalog, owner: v };
    const expected = (await expectedDigests(v)).catalog;
    const copy = (): Promise<RecordSource | null> => recordCopy(v.archive, CATALOG_SUFFIX, 'catalog').then((c) => (c === null ? null : { ...c, owner: v }), () => null);
    const c = await chooseCopy(plain, copy, decodeCatalogHeader, decodeCatalogLine, undefined, expected, VOLUME_CATALOG, UNBELIEVED);
    for (const n of c.notes) damage.push(`${n.path}: ${n.reason}`);
    // Nothing checks, but no digest was ever written (a record from before revision 2.1): what of it reads is used, as ever.
    const chosen = c.chosen ?? (c.digestSeen ? null : c.either);
    if (chosen === null) {
      if (c.either === null) without.push(v);
      else lost ??= `its catalog line is in a record that does not check (${c.notes.map((n) => n.path).join(', ')})`;
      continue;
    }
    sources.unshift(chosen);
    if (chosen === plain) break;
  }
  // No volume here has its catalog (deleted, or never copied back, and no copy inside an archive): every
  // file is recorded without its blob, and that is said, not passed over as files that were never stored.
  if (without.length === present.length && present.length > 0) {
    damage.push(`none of its volumes here has its catalog (${VOLUME_CATALOG}, or its copy inside the archive): its files are recorded without where their bytes lie (unpack still restores them by walking the archives)`);
    return { sources, lost: 'no catalog of its volumes is in the set' };
  }
  for (const v of without) damage.push(`${v.archive}: neither ${VOLUME_CATALOG} nor its copy inside the archive is there${UNBELIEVED}`);
  if (without.length > 0) lost ??= `no catalog of volume ${without.map((v) => v.volume ?? 1).join(', ')} is in the set`;
  return { sources, lost };
}

/** What a catalog not believed costs, added to its note. */
const UNBELIEVED = ': the files whose catalog lines it held are recorded without where their bytes lie (unpack still restores them by walking the archive)';

/**
 * The structure record to import from, best first: each volume's structure.jsonl, then the copy each
 * volume's .xtar begins with (ROOT.xtar-structure.jsonl.gz, its first entry) — the first that reads
 * whole and whose digest matches. One the drive cannot read (EIO) or that does not check is named in
 * `damage` and passed over; when none reads whole the backup cannot be imported (a thrown Error names why).
 */
async function chooseStructure(id: string, present: readonly VolumeSource[], damage: string[]): Promise<RecordSource> {
  const tried: string[] = [];
  let any = false;
  const candidates = async function* (): AsyncGenerator<{ src: RecordSource; expected?: string }> {
    for (const v of present) if (v.structure !== null) yield { src: { path: v.structure, label: v.structure }, expected: (await expectedDigests(v)).structure };
    for (const v of present) {
      const copy = await recordCopy(v.archive, STRUCTURE_SUFFIX, 'structure record').catch(() => null);
      if (copy !== null) yield { src: copy };
    }
  };
  for await (const { src, expected } of candidates()) {
    any = true;
    const why = await doesNotCheck(src, id, expected);
    if (why === null) {
      damage.push(...tried);
      return src;
    }
    tried.push(`${src.label}: ${why}; not used`);
  }
  if (!any) throw new Error(`backup ${id} has no structure record in the set`);
  throw new Error(`backup ${id}: no structure record in the set reads whole (${tried.join('; ')})`);
}

/**
 * The copy of a record at the top level of an .xtar (its name ending in `suffix`, or that and .age),
 * or null: the top-level headers are read in turn (the structure copy first, the backed-up folder's
 * nested tar, the catalog copy), each entry's data passed over. Headers and lines are read through
 * openPositional (set/choose-copy.ts and set/read-records.ts read a copy so too): an archive
 * stand-in's come from its object.
 */
async function recordCopy(archive: string, suffix: string, what: string): Promise<RecordSource | null> {
  const fh = await openPositional(archive);
  try {
    let pos = 0;
    let pax: Map<string, string> | null = null;
    for (let i = 0; i < TOP_LEVEL_HEADERS; i++) {
      const block = Buffer.alloc(BLOCK_SIZE);
      if ((await fh.read(block, 0, BLOCK_SIZE, pos)).bytesRead < BLOCK_SIZE) return null;
      const raw = decodeHeaderBlock(block);
      if (raw === null) return null;
      const h = pax === null ? raw : applyPax(raw, pax);
      pos += BLOCK_SIZE;
      if (h.typeflag === 'x' && pax === null) {
        const data = Buffer.alloc(h.size);
        if ((await fh.read(data, 0, h.size, pos)).bytesRead < h.size) return null;
        pax = parsePaxRecords(data);
        pos += h.size + paddingLength(h.size);
        continue;
      }
      pax = null;
      if (h.name.endsWith(suffix) || h.name.endsWith(suffix + AGE_SUFFIX)) {
        return { path: archive, range: { start: pos, end: pos + h.size }, label: `${archive} (its copy of the ${what})`, gzip: true };
      }
      pos += h.size + paddingLength(h.size);
    }
    return null;
  } finally {
    await fh.close();
  }
}

/** How many top-level headers recordCopy reads at most: an .xtar has three entries, each perhaps after a pax header. */
const TOP_LEVEL_HEADERS = 8;

/** The lines of a record, its bytes read through openPositional: an archive stand-in's from its object. */
async function* recordLines(src: RecordSource): AsyncGenerator<string> {
  const file = await openPositional(src.path);
  try {
    yield* readLines(src.path, src.range, src.gzip, file);
  } finally {
    await file.close();
  }
}

/** Null when `src` reads whole, ends with its trailer and (when it carries one) its digest matches; else why not. */
async function doesNotCheck(src: RecordSource, id: string, expected: string | undefined): Promise<string | null> {
  const digest = new RecordDigest();
  let n = 0;
  const missing = await firstMissing(src.path, src.range?.start, src.range?.end);
  if (missing !== null) return `it is missing from this rescued copy from byte ${missing} on (its map marks the bytes unread)`;
  try {
    for await (const line of recordLines(src)) {
      if (n++ === 0) {
        // Another backup's record (copied into the wrong folder) is sound, and not this backup's.
        const header = decodeStructureHeader(line, src.label);
        if (otherOwner(header, { backupId: id, volume: null }) !== undefined) return `it is backup ${header.backup}'s record, not ${id}'s`;
      } else {
        const t = decodeTrailer(line);
        if (t !== null) {
          if (t.entries !== n - 2) return 'its entry count does not match';
          if (t.sha256 !== undefined && t.sha256 !== digest.hex()) return 'its checksum does not match';
          if (t.sha256 !== undefined && expected !== undefined && t.sha256 !== expected) return "its checksum is not the one this volume's volume.json records";
          return null;
        }
      }
      digest.line(line);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EIO') return 'the drive cannot read it (input/output error)';
    if ((e as NodeJS.ErrnoException).code === INFLATE_FAILED) return `its compressed bytes are damaged (${inflateWhy(e)})`;
    return e instanceof Error ? e.message : String(e);
  }
  return n === 0 ? 'it is empty' : 'it is cut short (no end line)';
}
export interface RebuildResult {
  index: string;
  backups: ImportResult[];
  /** Backups that could not be read (no structure record among their volumes), with why. */
  failed: { id: string; reason: string }[];
}

/**
 * An encrypted set's index for one run, made in memory from its volumes' records (decrypted with
 * the keys in use) and never written to disk: paths and sha256s stay inside the age files. A backup
 * whose records cannot be read is left out, as rebuildIndex leaves it out.
 */
export async function memoryIndex(set: string): Promise<SetIndex> {
  const index = SetIndex.openFile(':memory:');
  try {
    for (const [id, vols] of [...(await setVolumes(set)).entries()].sort(([a], [b]) => a.localeCompare(b))) {
      await importBackup(index, id, vols).catch(() => undefined);
    }
  } catch (e) {
    index.close();
    throw e;
  }
  return index;
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
