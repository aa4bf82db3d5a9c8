/**
 * `xtar pack`: scan the source into the structure record, then stream one volume — every file
 * compressed once, every directory a nested tar — with the catalog beside it, and make the volume
 * appear under its final name only when it is complete.
 */
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError, XtarError } from '../errors.js';
import { blobBound, ENTRY_FRAMING_MAX } from '../format/bounds.js';
import { backupIdFor, PARTIAL_PREFIX, parseVolumeName, SET_MARKER, VOLUME_STRUCTURE } from '../format/layout.js';
import { blobEntryName, nestedEntryName, partBaseName } from '../format/names.js';
import {
  decodeStructureEntry,
  decodeTrailer,
  encodeStructureEntry,
  encodeStructureHeader,
  encodeTrailer,
  type BlobPart,
  type CatalogLine,
  type StructureEntry,
} from '../format/records.js';
import { scanTree, type ScanResult, type Skipped } from '../scan/scan.js';
import { LineWriter, readLines } from '../util/lines.js';
import type { CompressJob } from '../worker/compress-worker.js';
import { CompressPool, openSource, SMALL_FILE_MAX, streamBlob, type BlobResult } from './compress.js';
import { OutputFile } from './output-file.js';
import { requireXorriso } from './iso.js';
import { requirePar2 } from './par2.js';
import { bufferSource, fileSource, gzipFile, VolumeSet, type VolumeSummary } from './volumes.js';

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
  /** Largest volume folder in bytes (see parseVolumeSize); default: one volume, no limit. */
  volumeSize?: number;
  /** par2 recovery data, in percent, inside each volume folder (needs the par2 tool). */
  par2?: number;
  /** Only files (not folders) changed at or after this time, in ns since 1970. */
  changedSinceNs?: bigint;
  /** Also write each volume as an ISO 9660 image (Rock Ridge, Joliet) beside its folder (needs xorriso). */
  iso?: boolean;
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

export type VolumeInfo = VolumeSummary;

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

const LOOKAHEAD_BYTES = 16 * 1024 * 1024;
const LOOKAHEAD_ITEMS = 2048;

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
  if (opts.par2 !== undefined) {
    if (!(opts.par2 > 0 && opts.par2 <= 100)) throw new InputError(`--par2 must be a percentage above 0 and at most 100, not ${opts.par2}.`);
    await requirePar2();
  }
  if (opts.iso) await requireXorriso();
  const set = await prepareSet(opts.out);
  const created = creationTime(opts.now);
  const backupId = await freshBackupId(set, created);
  const createdIso = idTime(backupId, created).toISOString();
  const metaMtimeSec = Math.floor(idTime(backupId, created).getTime() / 1000);
  const workDir = join(set, `${PARTIAL_PREFIX}${backupId}-work`);
  await mkdir(workDir);

  let volumes: VolumeSet | undefined;
  let pool: CompressPool | undefined;
  try {
    // The workers start up (load their module) while the scan runs.
    pool = new CompressPool(level, opts.jobs);
    // ---- scan → structure record ----
    const structurePath = join(workDir, VOLUME_STRUCTURE);
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
      { ...(opts.exclude === undefined ? {} : { exclude: opts.exclude }), ...(opts.changedSinceNs === undefined ? {} : { changedSinceNs: opts.changedSinceNs }) },
    );
    await structure.line(encodeTrailer(scan.entries));
    await structure.close();
    const structureGzPath = `${structurePath}.gz`;
    await gzipFile(structurePath, structureGzPath);
    const root = scan.root;

    // ---- compress → assemble → write volumes ----
    volumes = new VolumeSet({
      set,
      backupId,
      root,
      createdIso,
      metaMtimeSec,
      volumeSize: opts.volumeSize ?? null,
      structurePath,
      structureGzPath,
      workDir,
      files: scan.files,
      bytes: scan.bytes,
      par2Percent: opts.par2 ?? null,
      iso: opts.iso === true,
    });
    const vs = volumes;
    await vs.start();

    const skipped: Skipped[] = [...scan.skipped];
    const changed: string[] = [];
    let filesDone = 0;
    let bytesDone = 0;
    /** Bytes compressed into the spool first (large files near the end of a volume). */
    let spooled = 0;

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
        const abs = scan.rootType === 'file' ? source : join(source, ...e.path.split('/').slice(1));
        const job: CompressJob = { abs, name, size, mtimeSec: mtimeSeconds(e.mtimeNs), mode: e.mode };
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
    };

    type Done = { size: number; sha256: string; crc32: number; method: 0 | 8; changed: boolean };
    const catalogLine = (e: StructureEntry, r: Done) => (parts: BlobPart[]): CatalogLine => ({
      path: e.path,
      size: r.size,
      sha256: r.sha256,
      crc32: r.crc32,
      method: r.method === 8 ? 'deflate' : 'store',
      parts,
    });
    const noteChanged = (e: StructureEntry, r: Done): void => {
      if (r.changed) changed.push(e.path);
    };
    const recordSkip = async (e: StructureEntry, reason: string): Promise<void> => {
      skipped.push({ path: e.path, reason });
      await vs.record({ path: e.path, skipped: reason }, 0);
    };
    const names = (item: { e: StructureEntry; name: string }): { entry: string; base: string } => {
      const short = scan.shortBlobs.has(item.e.path);
      return { entry: blobEntryName(item.name, short), base: partBaseName(item.name, short) };
    };

    for (;;) {
      if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new XtarError('Pack was stopped.', { code: 'EINTR', exitCode: 130 });
      await fill();
      const item = queue.shift();
      if (item === undefined) break;
      switch (item.kind) {
        case 'enter':
          await vs.openDir(nestedEntryName(item.name), mtimeSeconds(item.e.mtimeNs), scan.largeDirs.has(item.e.path));
          break;
        case 'exit':
          await vs.closeDir();
          break;
        case 'small': {
          queuedBytes -= item.job.size;
          const r = await item.result;
          if (!r.ok) await recordSkip(item.e, r.reason);
          else {
            const { entry, base } = names(item);
            await vs.addBlob(entry, base, item.job.mtimeSec, bufferSource(r.blob), catalogLine(item.e, r), r.size);
            noteChanged(item.e, r);
          }
          filesDone++;
          bytesDone += item.job.size;
          break;
        }
        case 'big': {
          const src = await openSource(item.job);
          if (!src.ok) await recordSkip(item.e, src.reason);
          else {
            const { entry, base } = names(item);
            const bound = blobBound(item.job.size) + ENTRY_FRAMING_MAX;
            const lineBound = 1024 + Buffer.byteLength(item.e.path);
            if (bound <= vs.roomFor(lineBound)) {
              // Fits whatever it compresses to: stream it straight into the volume.
              const pending = await vs.tar.beginEntry(entry, item.job.mtimeSec, blobBound(item.job.size));
              const r = await streamBlob(vs.out, src.fh, item.job, level, pool!.deflateChunk);
              await vs.tar.endEntry(pending);
              await vs.record(catalogLine(item.e, r)([{ volume: vs.volumeNumber, offset: pending.dataStart, length: r.length }]), r.size);
              noteChanged(item.e, r);
            } else {
              // Near the end of a volume: compress into a spool first, so that its real size decides
              // whether it goes whole into the next volume or (larger than a volume) is split.
              const spoolPath = join(workDir, 'spool.zip');
              const spool = await OutputFile.create(spoolPath);
              const r = await streamBlob(spool, src.fh, item.job, level, pool!.deflateChunk);
              await spool.close();
              spooled += spool.bytesWritten;
              const blob = await fileSource(spoolPath);
              try {
                await vs.addBlob(entry, base, item.job.mtimeSec, blob, catalogLine(item.e, r), r.size);
              } finally {
                await blob.close();
                await rm(spoolPath, { force: true });
              }
              noteChanged(item.e, r);
            }
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

    const written = await vs.finish();
    volumes = undefined;
    await rm(workDir, { recursive: true, force: true });
    let archiveBytes = 0;
    for (const v of written) archiveBytes += (await stat(v.archive)).size;
    return {
      set,
      backupId,
      root,
      volumes: written,
      files: scan.files,
      dirs: scan.dirs,
      entries: scan.entries,
      bytes: scan.bytes,
      archiveBytes,
      bytesWritten: vs.bytesWritten + spooled,
      skipped,
      ignored: scan.ignored,
      changed,
    };
  } catch (e) {
    await volumes?.abort();
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  } finally {
    await pool?.close();
  }
}

/** The creation time the backup id stands for (the id may have been moved on by a second). */
function idTime(backupId: string, created: Date): Date {
  if (backupIdFor(created) === backupId) return created;
  const n = (a: number, b: number): number => Number(backupId.slice(a, b));
  return new Date(Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(9, 11), n(11, 13), n(13, 15)));
}
