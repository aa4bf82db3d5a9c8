/**
 * `xtar pack`: scan the source into the structure record, then stream one volume — every file
 * compressed once, every directory a nested tar — with the catalog beside it, and make the volume
 * appear under its final name only when it is complete.
 */
import { mkdir, readdir, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import { join, resolve } from 'node:path';
import { InputError, XtarError } from '../errors.js';
import { blobBound } from '../format/bounds.js';
import { archiveName, backupIdFor, PARTIAL_PREFIX, parseVolumeName, SET_MARKER, VOLUME_CATALOG, VOLUME_README, VOLUME_STRUCTURE, volumeName } from '../format/layout.js';
import { blobEntryName, CATALOG_SUFFIX, nestedEntryName, STRUCTURE_SUFFIX } from '../format/names.js';
import {
  decodeStructureEntry,
  decodeTrailer,
  encodeCatalogHeader,
  encodeCatalogLine,
  encodeStructureEntry,
  encodeStructureHeader,
  encodeTrailer,
  type StructureEntry,
} from '../format/records.js';
import { scanTree, type ScanResult, type Skipped } from '../scan/scan.js';
import { LineWriter, readLines } from '../util/lines.js';
import type { CompressJob } from '../worker/compress-worker.js';
import { NestedTarWriter } from './assemble.js';
import { CompressPool, openSource, SMALL_FILE_MAX, streamBlob, type BlobResult } from './compress.js';
import { OutputFile } from './output-file.js';
import { volumeReadme } from './readme.js';

export interface PackOptions {
  source: string;
  out: string;
  /** Worker threads (default: the number of cores). */
  jobs?: number;
  /** Deflate level 0–9 (default 6; 0 stores). */
  level?: number;
  exclude?: readonly string[];
  /** Creation time (default: now, or SOURCE_DATE_EPOCH when set). */
  now?: Date;
  onProgress?: (p: PackProgress) => void;
  /** Checked between files; when it returns a reason, the pack stops and removes its partial volume. */
  signal?: AbortSignal;
}

export interface PackProgress {
  phase: 'scan' | 'pack';
  files: number;
  bytes: number;
  totalFiles: number;
  totalBytes: number;
}

export interface VolumeInfo {
  volume: number;
  path: string;
  archive: string;
  /** Bytes of the whole volume folder. */
  bytes: number;
}

export interface PackResult {
  set: string;
  backupId: string;
  root: string;
  volumes: VolumeInfo[];
  files: number;
  dirs: number;
  entries: number;
  /** Bytes of the files before compression. */
  bytes: number;
  /** Bytes of the .xtar archives. */
  archiveBytes: number;
  /** Bytes handed to the file system while writing archives (overwrites of headers included). */
  bytesWritten: number;
  skipped: Skipped[];
  ignored: Skipped[];
  /** Files that changed while they were read: stored as read, reported. */
  changed: string[];
}

const LOOKAHEAD_BYTES = 64 * 1024 * 1024;
const LOOKAHEAD_ITEMS = 4096;

function mtimeSeconds(ns: bigint): number {
  const s = ns / 1_000_000_000n;
  return Number(ns < 0n && s * 1_000_000_000n !== ns ? s - 1n : s);
}

function creationTime(now: Date | undefined): Date {
  if (now) return now;
  const sde = process.env.SOURCE_DATE_EPOCH;
  if (sde !== undefined && /^\d+$/.test(sde)) return new Date(Number(sde) * 1000);
  return new Date();
}

/** Make `out` a set folder (or check that it is one) and return its absolute path. */
async function prepareSet(out: string): Promise<string> {
  const set = resolve(out);
  let entries: string[] = [];
  try {
    const st = await stat(set);
    if (!st.isDirectory()) throw new InputError(`${out} exists and is not a folder.`, out);
    entries = await readdir(set);
  } catch (e) {
    if (e instanceof XtarError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(`Cannot use ${out}: ${(e as Error).message}.`, out, e);
    await mkdir(set, { recursive: true });
  }
  if (entries.length > 0 && !entries.includes(SET_MARKER)) {
    throw new InputError(`${out} is not empty and is not an xtar set; give a new or empty folder.`, out);
  }
  if (!entries.includes(SET_MARKER)) {
    await writeFile(join(set, SET_MARKER), `${JSON.stringify({ xtar: 'set', version: 1 })}\n`);
  }
  return set;
}

async function freshBackupId(set: string, when: Date): Promise<string> {
  const taken = new Set<string>();
  for (const name of await readdir(set)) {
    const v = parseVolumeName(name.startsWith(PARTIAL_PREFIX) ? name.slice(PARTIAL_PREFIX.length) : name);
    if (v) taken.add(v.backupId);
  }
  let t = Math.floor(when.getTime() / 1000) * 1000;
  while (taken.has(backupIdFor(new Date(t)))) t += 1000;
  return backupIdFor(new Date(t));
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

type Item =
  | { kind: 'enter'; e: StructureEntry; name: string }
  | { kind: 'exit' }
  | { kind: 'small'; e: StructureEntry; name: string; job: CompressJob; result: Promise<BlobResult> }
  | { kind: 'big'; e: StructureEntry; name: string; job: CompressJob };

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export async function pack(opts: PackOptions): Promise<PackResult> {
  const level = opts.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new InputError(`--level must be a whole number from 0 to 9, not ${level}.`);
  const source = resolve(opts.source);
  const set = await prepareSet(opts.out);
  const created = creationTime(opts.now);
  const backupId = await freshBackupId(set, created);
  const createdIso = backupIdFor(created) === backupId ? created.toISOString() : new Date(Date.UTC(
    Number(backupId.slice(0, 4)), Number(backupId.slice(4, 6)) - 1, Number(backupId.slice(6, 8)),
    Number(backupId.slice(9, 11)), Number(backupId.slice(11, 13)), Number(backupId.slice(13, 15)))).toISOString();
  const volume = 1;
  const finalDir = join(set, volumeName(backupId, volume));
  const partialDir = join(set, PARTIAL_PREFIX + volumeName(backupId, volume));
  await mkdir(partialDir);

  let out: OutputFile | undefined;
  let catalog: LineWriter | undefined;
  let pool: CompressPool | undefined;
  try {
    // ---- scan → structure record ----
    const structurePath = join(partialDir, VOLUME_STRUCTURE);
    const structure = await LineWriter.create(structurePath);
    let headerWritten = false;
    let scanFiles = 0;
    let scanBytes = 0;
    const scan: ScanResult = await scanTree(
      source,
      async (e) => {
        if (!headerWritten) {
          await structure.line(encodeStructureHeader({ backup: backupId, root: e.path, created: createdIso }));
          headerWritten = true;
        }
        await structure.line(encodeStructureEntry(e));
        if (e.type === 'file') {
          scanFiles++;
          scanBytes += e.size ?? 0;
          if (scanFiles % 1000 === 0) opts.onProgress?.({ phase: 'scan', files: scanFiles, bytes: scanBytes, totalFiles: 0, totalBytes: 0 });
        }
      },
      opts.exclude === undefined ? {} : { exclude: opts.exclude },
    );
    await structure.line(encodeTrailer(scan.entries));
    await structure.close();
    const root = scan.root;

    // ---- compress → assemble → write ----
    const archive = archiveName(backupId, volume);
    out = await OutputFile.create(join(partialDir, archive));
    const tar = new NestedTarWriter(out);
    // The archive's own copy of a record, gzip-compressed (fixed header: no name, time 0).
    const copyIntoTar = async (entryName: string, path: string): Promise<void> => {
      const size = (await stat(path)).size;
      const pending = await tar.beginEntry(entryName, mtimeSeconds(BigInt(created.getTime()) * 1_000_000n), blobBound(size));
      for await (const chunk of createReadStream(path).pipe(createGzip({ level: 9 }))) await out!.write(chunk as Buffer);
      await tar.endEntry(pending);
    };
    await copyIntoTar(root + STRUCTURE_SUFFIX, structurePath);

    const catalogPath = join(partialDir, VOLUME_CATALOG);
    catalog = await LineWriter.create(catalogPath);
    await catalog.line(encodeCatalogHeader({ backup: backupId, volume, created: createdIso }));
    let catalogLines = 0;

    pool = new CompressPool(level, opts.jobs);
    const skipped: Skipped[] = [...scan.skipped];
    const changed: string[] = [];
    let filesDone = 0;
    let bytesDone = 0;

    const lines = readLines(structurePath)[Symbol.asyncIterator]();
    await lines.next(); // header
    const queue: Item[] = [];
    const dirStack: string[] = [];
    let queuedBytes = 0;
    let sourceDone = false;

    const nextEntry = async (): Promise<StructureEntry | null> => {
      const r = await lines.next();
      if (r.done || decodeTrailer(r.value) !== null) return null;
      return decodeStructureEntry(r.value, 'structure record being written');
    };

    const enqueue = (e: StructureEntry): void => {
      while (dirStack.length > 0 && dirStack[dirStack.length - 1] !== parentOf(e.path)) {
        dirStack.pop();
        queue.push({ kind: 'exit' });
      }
      const name = baseName(e.path);
      if (e.type === 'dir') {
        dirStack.push(e.path);
        queue.push({ kind: 'enter', e, name });
      } else if (e.type === 'file') {
        const size = e.size ?? 0;
        const job: CompressJob = { abs: join(source, ...e.path.split('/').slice(1)), name, size, mtimeSec: mtimeSeconds(e.mtimeNs), mode: e.mode };
        if (scan.rootType === 'file') job.abs = source;
        if (size <= SMALL_FILE_MAX) {
          queue.push({ kind: 'small', e, name, job, result: pool!.add(job) });
          queuedBytes += size;
        } else {
          pool!.flush();
          queue.push({ kind: 'big', e, name, job });
        }
      }
    };

    const fill = async (): Promise<void> => {
      while (!sourceDone && queuedBytes < LOOKAHEAD_BYTES && queue.length < LOOKAHEAD_ITEMS) {
        const e = await nextEntry();
        if (e === null) {
          sourceDone = true;
          while (dirStack.length > 0) {
            dirStack.pop();
            queue.push({ kind: 'exit' });
          }
        } else enqueue(e);
      }
      pool!.flush();
    };

    const recordFile = async (e: StructureEntry, r: { size: number; sha256: string; crc32: number; method: 0 | 8; changed: boolean }, offset: number, length: number): Promise<void> => {
      await catalog!.line(encodeCatalogLine({ path: e.path, size: r.size, sha256: r.sha256, crc32: r.crc32, method: r.method === 8 ? 'deflate' : 'store', parts: [{ volume, offset, length }] }));
      catalogLines++;
      if (r.changed) changed.push(e.path);
    };

    const recordSkip = async (e: StructureEntry, reason: string): Promise<void> => {
      skipped.push({ path: e.path, reason });
      await catalog!.line(encodeCatalogLine({ path: e.path, skipped: reason }));
      catalogLines++;
    };

    for (;;) {
      if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new XtarError('Pack was stopped.', { code: 'EINTR', exitCode: 130 });
      await fill();
      const item = queue.shift();
      if (item === undefined) break;
      switch (item.kind) {
        case 'enter':
          await tar.openDir(nestedEntryName(item.name), mtimeSeconds(item.e.mtimeNs), scan.largeDirs.has(item.e.path));
          break;
        case 'exit':
          await tar.closeDir();
          break;
        case 'small': {
          queuedBytes -= item.job.size;
          const r = await item.result;
          if (!r.ok) await recordSkip(item.e, r.reason);
          else {
            const offset = await tar.addEntry(blobEntryName(item.name, scan.shortBlobs.has(item.e.path)), item.job.mtimeSec, r.blob);
            await recordFile(item.e, r, offset, r.blob.length);
          }
          filesDone++;
          bytesDone += item.job.size;
          break;
        }
        case 'big': {
          const src = await openSource(item.job);
          if (!src.ok) await recordSkip(item.e, src.reason);
          else {
            const pending = await tar.beginEntry(blobEntryName(item.name, scan.shortBlobs.has(item.e.path)), item.job.mtimeSec, blobBound(item.job.size));
            const r = await streamBlob(out, src.fh, item.job, level);
            await tar.endEntry(pending);
            await recordFile(item.e, r, pending.dataStart, r.length);
          }
          filesDone++;
          bytesDone += item.job.size;
          break;
        }
      }
      if (item.kind === 'small' || item.kind === 'big') {
        opts.onProgress?.({ phase: 'pack', files: filesDone, bytes: bytesDone, totalFiles: scan.files, totalBytes: scan.bytes });
      }
    }

    await catalog.line(encodeTrailer(catalogLines));
    await catalog.close();
    catalog = undefined;
    await copyIntoTar(root + CATALOG_SUFFIX, catalogPath);
    await tar.finish();
    const archiveBytes = out.offset;
    const bytesWritten = out.bytesWritten;
    await out.close();
    out = undefined;

    await writeFile(
      join(partialDir, VOLUME_README),
      volumeReadme({ backupId, volume, volumes: 1, root, archive, created: createdIso, files: scan.files, bytes: scan.bytes }),
    );
    await syncDir(partialDir);
    await rename(partialDir, finalDir);
    await syncDir(set);

    return {
      set,
      backupId,
      root,
      volumes: [{ volume, path: finalDir, archive: join(finalDir, archive), bytes: await folderBytes(finalDir) }],
      files: scan.files,
      dirs: scan.dirs,
      entries: scan.entries,
      bytes: scan.bytes,
      archiveBytes,
      bytesWritten,
      skipped,
      ignored: scan.ignored,
      changed,
    };
  } catch (e) {
    await out?.abandon();
    await catalog?.abandon();
    await rm(partialDir, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  } finally {
    await pool?.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

