/**
 * What a set holds: its backups, their volumes (sizes, file counts) and, on request, which volume
 * holds each file. Reads the volumes' own manifests and catalogs; writes nothing.
 */
import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import picomatch from 'picomatch';
import { InputError, type Problem } from '../errors.js';
import type { BackupKind } from '../format/records.js';
import { SET_MARKER } from '../format/layout.js';
import { checkVolumeManifest } from './manifest.js';
import { folderBytes } from './volume-files.js';
import { setVolumes } from './locate.js';
import { catalogLines, type BadLine } from './read-records.js';

export interface ListedVolume {
  volume: number;
  path: string;
  /** The whole volume folder (what the disc must hold). */
  bytes: number;
  /** Its archive (NAME.xtar), and its records outside it (structure and catalog). */
  archiveBytes: number;
  recordBytes: number;
  files: number;
}

export interface ListedBackup {
  id: string;
  kind: BackupKind;
  /** The backup whose changes this one took (null for a full backup). */
  base: string | null;
  created: string;
  /** The folder packed, as its path was given to pack (null: no volume.json says). */
  source: string | null;
  /** Files this backup's volumes hold, and their bytes before compression (an incremental: the changed ones). */
  files: number;
  bytes: number;
  /** Volumes the backup was written on; a number here and not in `volumes` is missing from the set. */
  volumeCount: number | null;
  volumes: ListedVolume[];
}

export interface ListedFile {
  path: string;
  size: number;
  volumes: number[];
  /** The earlier backup whose volumes hold the file's bytes (absent: this backup's). */
  backup?: string;
}

/**
 * `report` hears every record that could not be used (a volume.json that cannot be read, e.g. on a
 * disc that fails its sectors): what it would have said is then missing from the listing, never guessed.
 */
/** The numbers of a backup's volumes that are not in the set (none when volume.json does not say how many it was written on). */
export function missingVolumes(b: Pick<ListedBackup, 'volumeCount' | 'volumes'>): number[] {
  const present = new Set(b.volumes.map((v) => v.volume));
  return Array.from({ length: b.volumeCount ?? 0 }, (_, i) => i + 1).filter((n) => !present.has(n));
}

export async function listSet(set: string, report: (p: Problem) => void = () => undefined): Promise<ListedBackup[]> {
  const abs = resolve(set);
  const names = await readdir(abs).catch(() => {
    throw new InputError(`${set} does not exist or is not a folder.`, set);
  });
  const byBackup = await setVolumes(abs);
  if (byBackup.size === 0 && !names.includes(SET_MARKER)) throw new InputError(`${set} is not an xtar set.`, set);
  const out: ListedBackup[] = [];
  for (const [id, vols] of [...byBackup.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const listed: ListedVolume[] = [];
    let created = '';
    let count: number | null = null;
    let kind: BackupKind = 'full';
    let base: string | null = null;
    let source: string | null = null;
    let files = 0;
    let bytes = 0;
    for (const v of vols) {
      const checked = await checkVolumeManifest(v.dir as string, v);
      if (checked.damaged !== null) report({ path: checked.path, reason: `${checked.damaged}; what it says (the backup's files, bytes, volume count) is not listed from it`, kind: 'header' });
      const m = checked.manifest;
      if (m) {
        created = m.created;
        count = m.volumes;
        kind = m.kind;
        base = m.base ?? null;
        source = m.source ?? source;
        files += m.files;
        bytes += m.bytes;
      }
      const recordBytes = (await sizeOf(v.structure)) + (await sizeOf(v.catalog));
      listed.push({ volume: v.volume ?? 0, path: v.dir as string, bytes: await folderBytes(v.dir as string), archiveBytes: await sizeOf(v.archive), recordBytes, files: m?.files ?? 0 });
    }
    out.push({ id, kind, base, created, source, files, bytes, volumeCount: count, volumes: listed });
  }
  return out;
}

/** A file's size in bytes (0: none, or it cannot be read). */
async function sizeOf(path: string | null): Promise<number> {
  return path === null ? 0 : ((await stat(path).catch(() => null))?.size ?? 0);
}

/** Reads a plain record's lines some other way than whole (the CLI passes one that narrows failing reads down to sectors). */
export type RecordLines = (path: string, bad: BadLine) => AsyncIterable<string>;

/**
 * Which volume holds each file of a backup (from its newest volume's catalog, which covers all before
 * it). A catalog line that does not parse, or a part of the catalog the drive cannot read, goes to
 * `report`: the files it would have named are missing from the list, and the list says so. With
 * `lines`, the catalog is read through it (a drive's failing sectors then cost only their lines).
 */
export async function listFiles(set: string, backupId: string, glob?: string, report: (p: Problem) => void = () => undefined, lines?: RecordLines): Promise<ListedFile[]> {
  const out: ListedFile[] = [];
  for await (const f of eachListedFile(set, backupId, glob, report, lines)) out.push(f);
  return out;
}

/** listFiles one file at a time, in the catalog's order: nothing is kept per file (a million files list in flat memory). */
export async function* eachListedFile(set: string, backupId: string, glob?: string, report: (p: Problem) => void = () => undefined, lines?: RecordLines): AsyncGenerator<ListedFile> {
  const vols = (await setVolumes(resolve(set))).get(backupId) ?? [];
  const newest = vols[vols.length - 1];
  if (!newest || newest.catalog === null) return;
  // As with --exclude: a pattern without '/' matches the file name at any depth.
  const m = glob === undefined ? null : picomatch(glob, { dot: true });
  const byName = glob !== undefined && !glob.includes('/');
  const match = (p: string): boolean => m === null || m(byName ? p.slice(p.lastIndexOf('/') + 1) : p);
  const bad = (where: string, reason: string): void => report({ path: where, reason: `${reason}; the files it names there are not listed (xtar verify reads its copy inside the archive)`, kind: 'header' });
  const path = newest.catalog;
  // (Its header must name this backup and volume: another volume's catalog copied here lists nothing.)
  for await (const c of catalogLines({ path, label: path, owner: newest, ...(lines === undefined ? {} : { lines: (b: BadLine) => lines(path, b) }) }, bad)) {
    if ('skipped' in c) continue;
    const rel = c.path.slice(c.path.indexOf('/') + 1);
    if (!match(c.path) && !match(rel)) continue;
    const one = c.parts.length === 1 ? c.parts[0] : undefined;
    yield { path: c.path, size: c.size, volumes: one !== undefined ? [one.volume] : [...new Set(c.parts.map((p) => p.volume))], ...(c.backup === undefined ? {} : { backup: c.backup }) };
  }
}
