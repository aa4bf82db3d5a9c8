/**
 * `xtar pack`: scan the source into the structure record, then stream one volume — every file
 * compressed once, every directory a nested tar — with the catalog beside it, and make the volume
 * appear under its final name only when it is complete.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError, XtarError } from '../errors.js';
import { blobBound, ENTRY_FRAMING_MAX } from '../format/bounds.js';
import { PARTIAL_PREFIX, VOLUME_STRUCTURE } from '../format/layout.js';
import { blobEntryName, nestedEntryName, partBaseName } from '../format/names.js';
import {
  decodeStructureEntry,
  decodeTrailer,
  encodeStructureEntry,
  encodeStructureHeader,
  encodeTrailer,
  formatTimeNs,
  type BackupKind,
  type BlobPart,
  type CatalogFile,
  type CatalogLine,
  type StructureEntry,
} from '../format/records.js';
import { hasIndex, SetIndex, type FileVersion } from '../setindex/db.js';
import { rebuildIndex } from '../setindex/rebuild.js';
import { setVolumes } from '../unpack/locate.js';
import { lockSet, logToSet } from '../setindex/lock.js';
import { DEFAULT_FULL_AFTER_MS, DEFAULT_FULL_EVERY, DEFAULT_SPLIT, historyOf, planBackup, type BackupPlan } from './plan-backup.js';
import { decide, refLine } from './decide.js';
import { recoverIncomplete } from '../setindex/recover.js';
import { scanTree, sourcePathOf, type ScanResult, type Skipped } from '../scan/scan.js';
import { LineWriter, readLines } from '../util/lines.js';
import type { CompressJob } from '../worker/compress-worker.js';
import { CompressPool, hashFile, openSource, SMALL_FILE_MAX, streamBlob, type BlobResult } from './compress.js';
import { OutputFile } from './output-file.js';
import { requireXorriso } from './iso.js';
import { requirePar2 } from './par2.js';
import { bufferSource, fileSource } from './blob-source.js';
import { VolumeWriter, type VolumeSummary } from './volume-writer.js';
import { creationTime, freshBackupId, idTime } from '../set/backup-id.js';
import { prepareSet } from '../set/prepare-set.js';
import { gzipFile } from '../set/volume-files.js';

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
  /** full, incremental, differential or cyclic; default: incremental when the set holds a backup of the source, else full. */
  mode?: BackupKind;
  /** A full backup after this many others since the last full (default 10; 0: never forced). */
  fullEvery?: number;
  /** A full backup once the last full is this old, in ms (default 30 days; 0: never forced). */
  fullAfterMs?: number;
  /** Cyclic: refresh 1/split of the files per run (default 10). */
  split?: number;
  /** Compare contents (sha256), not only size and mtime, to find changed files. */
  checksum?: boolean;
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
  kind: BackupKind;
  /** The backup this one's changes were taken against (null for a full backup). */
  base: string | null;
  /** Why this kind of backup. */
  reason: string;
  /** Nothing changed since the last backup: no backup was made (backupId is empty, volumes none). */
  nothingChanged: boolean;
  /** Files whose bytes this backup stored, and their size before compression. */
  storedFiles: number;
  storedBytes: number;
  /** Files whose bytes an earlier backup holds (unchanged, metadata only, or renamed). */
  unchangedFiles: number;
  /** Of those, files found under a new path (a rename or a copy). */
  renamedFiles: number;
  /** Files of the base backup no longer in the tree. */
  deletedFiles: number;
}

const LOOKAHEAD_BYTES = 16 * 1024 * 1024;
const LOOKAHEAD_ITEMS = 2048;

function mtimeSeconds(ns: bigint): number {
  const s = ns / 1_000_000_000n;
  return Number(ns < 0n && s * 1_000_000_000n !== ns ? s - 1n : s);
}

type Item =
  | { kind: 'enter'; e: StructureEntry; name: string }
  | { kind: 'exit' }
  | { kind: 'small'; e: StructureEntry; name: string; job: CompressJob; result: Promise<BlobResult>; prev: FileVersion | null }
  | { kind: 'big'; e: StructureEntry; name: string; job: CompressJob; prev: FileVersion | null }
  | { kind: 'ref'; e: StructureEntry; v: FileVersion };

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
  const unlock = await lockSet(set);
  let index: SetIndex | undefined;
  try {
    // A set whose index was lost (or made by an older xtar) gets it back from its volumes first.
    if (!(await hasIndex(set)) && (await setVolumes(set)).size > 0) await rebuildIndex(set);
    index = SetIndex.open(set);
    await recoverIncomplete(index, set);
    return await packLocked(opts, set, source, level, index);
  } finally {
    index?.close();
    await unlock();
  }
}

async function packLocked(opts: PackOptions, set: string, tree: string, level: number, index: SetIndex): Promise<PackResult> {
  const created = creationTime(opts.now);
  // A pack of only the recently changed files (--since-cluster) is not a state of the tree: it is
  // kept out of the tree's chain (no later backup builds on it), as a full backup of its own.
  const source = opts.changedSinceNs === undefined ? tree : `${tree} (files changed since ${formatTimeNs(opts.changedSinceNs)})`;
  const plan = planBackup(
    historyOf(index, source),
    {
      ...(opts.mode === undefined ? {} : { mode: opts.mode }),
      fullEvery: opts.fullEvery ?? DEFAULT_FULL_EVERY,
      fullAfterMs: opts.fullAfterMs ?? DEFAULT_FULL_AFTER_MS,
      split: opts.split ?? DEFAULT_SPLIT,
    },
    created,
  );
  const checksum = opts.checksum === true;
  const backupId = await freshBackupId(set, created);
  const createdIso = idTime(backupId, created).toISOString();
  const metaMtimeSec = Math.floor(idTime(backupId, created).getTime() / 1000);
  const workDir = join(set, `${PARTIAL_PREFIX}${backupId}-work`);
  await mkdir(workDir);

  let volumes: VolumeWriter | undefined;
  /** The index row of the backup being written (-1: none yet, or done): dropped if the pack fails. */
  let backupRow = -1;
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
    const structureHash = createHash('sha256');
    const stamp = { backup: backupId, created: createdIso, kind: plan.kind, ...(plan.base === null ? {} : { base: plan.base.id }) };
    const fileJob = (e: StructureEntry, prev: FileVersion | null): CompressJob => ({
      abs: sourcePathOf(tree, e.path),
      name: baseName(e.path),
      size: e.size ?? 0,
      mtimeSec: mtimeSeconds(e.mtimeNs),
      mode: e.mode,
      ...(prev?.blob ? { sameAs: prev.blob.sha256 } : {}),
    });
    // A full backup's first small files are compressed while the scan still runs, so the workers are
    // not idle until the structure record is complete; the volume pass picks them up by path.
    const early = new Map<string, { job: CompressJob; result: Promise<BlobResult> }>();
    let earlyBytes = 0;
    const compressEarly = (e: StructureEntry): void => {
      const size = e.size ?? 0;
      if (plan.base !== null || e.type !== 'file' || size > SMALL_FILE_MAX) return;
      if (earlyBytes + size > LOOKAHEAD_BYTES || early.size >= LOOKAHEAD_ITEMS) return;
      const job = fileJob(e, null);
      early.set(e.path, { job, result: pool!.add(job) });
      earlyBytes += size;
    };
    const scan: ScanResult = await scanTree(
      tree,
      async (e) => {
        compressEarly(e);
        if (!headerWritten) {
          await structure.line(encodeStructureHeader({ ...stamp, root: e.path }));
          headerWritten = true;
        }
        const text = encodeStructureEntry(e);
        structureHash.update(`${text}\n`);
        await structure.line(text);
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
    pool.flush();
    const structureSha256 = structureHash.digest('hex');
    const root = scan.root;
    const latest = plan.base === null ? null : index.latest(source);
    const sameTree = latest !== null && latest.structureSha256 === structureSha256 && latest.skippedFiles === 0;
    if (plan.kind !== 'full' && sameTree && !checksum) {
      await rm(workDir, { recursive: true, force: true });
      return nothingChanged(set, source, latest, plan, scan);
    }
    const structureGzPath = `${structurePath}.gz`;
    await gzipFile(structurePath, structureGzPath);
    backupRow = index.beginBackup({ id: backupId, kind: plan.kind, base: plan.base?.id ?? null, source, root, created: createdIso });
    if (plan.kind === 'cyclic' && plan.base !== null) {
      const split = opts.split ?? DEFAULT_SPLIT;
      const nextSeq = (index.backups().at(-1)?.seq ?? 0) + 1;
      index.chooseRefresh(plan.base.rowid, Math.ceil(plan.base.files / split), nextSeq, split);
    }
    const lazyDirs = plan.kind !== 'full';

    // ---- compress → assemble → write volumes ----
    volumes = new VolumeWriter({
      set,
      backupId,
      root,
      createdIso,
      metaMtimeSec,
      volumeSize: opts.volumeSize ?? null,
      structurePath,
      structureGzPath,
      workDir,
      par2Percent: opts.par2 ?? null,
      iso: opts.iso === true,
      kind: plan.kind,
      base: plan.base?.id ?? null,
      source,
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
        const pre = early.get(e.path);
        if (pre !== undefined) {
          early.delete(e.path);
          queue.push({ kind: 'small', e, name, job: pre.job, result: pre.result, prev: null });
          queuedBytes += pre.job.size;
          return;
        }
        const d = decide(index, plan, checksum, e);
        if (d.kind === 'ref') {
          queue.push({ kind: 'ref', e, v: d.v });
          return;
        }
        const prev = d.kind === 'check' ? d.v : null;
        const size = e.size ?? 0;
        const job = fileJob(e, prev);
        if (size <= SMALL_FILE_MAX) {
          queue.push({ kind: 'small', e, name, job, result: pool!.add(job), prev });
          queuedBytes += size;
        } else {
          pool!.flush();
          queue.push({ kind: 'big', e, name, job, prev });
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
    let storedFiles = 0;
    let storedBytes = 0;
    let unchangedFiles = 0;
    let renamedFiles = 0;
    let skippedFiles = 0;
    const fileRow = (e: StructureEntry) => ({ path: e.path, size: e.size ?? 0, mtimeNs: e.mtimeNs, mode: e.mode });
    /** The catalog line of a stored file, from where its parts landed; records its index rows too. */
    const catalogLine = (e: StructureEntry, r: Done) => (parts: BlobPart[]): CatalogLine => {
      const line: CatalogFile = { path: e.path, size: r.size, sha256: r.sha256, crc32: r.crc32, method: r.method === 8 ? 'deflate' : 'store', parts };
      if (parts[0]?.volume !== 99999) {
        // (99999: addBlob's trial line for sizing, not a placement)
        index.addFile(backupRow, fileRow(e), index.addBlob(backupRow, e.path, { sha256: line.sha256, crc32: line.crc32, method: line.method, parts }));
        storedFiles++;
        storedBytes += r.size;
      }
      return line;
    };
    const recordRef = async (e: StructureEntry, v: FileVersion): Promise<void> => {
      await openLazyDirs(false);
      const line = refLine(e.path, v);
      await vs.record(line, 0);
      index.addFile(backupRow, fileRow(e), (v.blob as NonNullable<FileVersion['blob']>).id);
      unchangedFiles++;
      if (line.as !== undefined) renamedFiles++;
    };
    // Incremental backups carry only the folders that hold something new: a folder's nested tar is
    // opened when its first blob comes, and a folder with none is left out (its structure is in the record).
    const pendingDirs: StructureEntry[] = [];
    const openLazyDirs = async (forBlob: boolean): Promise<void> => {
      if (!forBlob) return;
      for (const d of pendingDirs) await vs.openDir(nestedEntryName(baseName(d.path)), mtimeSeconds(d.mtimeNs), scan.largeDirs.has(d.path));
      pendingDirs.length = 0;
    };
    const noteChanged = (e: StructureEntry, r: Done): void => {
      if (r.changed) changed.push(e.path);
    };
    const recordSkip = async (e: StructureEntry, reason: string): Promise<void> => {
      skipped.push({ path: e.path, reason });
      skippedFiles++;
      await vs.record({ path: e.path, skipped: reason }, 0);
      index.addFile(backupRow, { ...fileRow(e), skipped: reason }, null);
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
          if (lazyDirs) pendingDirs.push(item.e);
          else await vs.openDir(nestedEntryName(item.name), mtimeSeconds(item.e.mtimeNs), scan.largeDirs.has(item.e.path));
          break;
        case 'exit':
          if (pendingDirs.length > 0) pendingDirs.pop();
          else await vs.closeDir();
          break;
        case 'ref':
          await recordRef(item.e, item.v);
          filesDone++;
          bytesDone += item.e.size ?? 0;
          break;
        case 'small': {
          queuedBytes -= item.job.size;
          const r = await item.result;
          if (!r.ok) await recordSkip(item.e, r.reason);
          else if (r.same === true && item.prev !== null) await recordRef(item.e, item.prev);
          else {
            await openLazyDirs(true);
            const { entry, base } = names(item);
            const line = catalogLine(item.e, r);
            await vs.record(line(await vs.addBlob(entry, base, item.job.mtimeSec, bufferSource(r.blob), line)), r.size);
            noteChanged(item.e, r);
          }
          filesDone++;
          bytesDone += item.job.size;
          break;
        }
        case 'big': {
          const check = item.prev?.blob ? await hashFile(item.job) : null;
          const src = check?.ok === true && check.sha256 === item.prev?.blob?.sha256 ? null : await openSource(item.job);
          if (src === null) await recordRef(item.e, item.prev as FileVersion);
          else if (!src.ok) await recordSkip(item.e, src.reason);
          else {
            await openLazyDirs(true);
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
                const line = catalogLine(item.e, r);
                await vs.record(line(await vs.addBlob(entry, base, item.job.mtimeSec, blob, line)), r.size);
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
      if (item.kind === 'small' || item.kind === 'big' || item.kind === 'ref') {
        opts.onProgress?.({ phase: 'pack', files: filesDone, bytes: bytesDone, totalFiles: scan.files, totalBytes: scan.bytes });
      }
    }

    // With --checksum the tree may prove unchanged only now that every file was read.
    if (plan.kind !== 'full' && sameTree && storedFiles === 0 && skippedFiles === 0 && latest !== null) {
      await vs.abort();
      volumes = undefined;
      index.dropBackup(backupRow);
      backupRow = -1;
      await rm(workDir, { recursive: true, force: true });
      return nothingChanged(set, source, latest, plan, scan);
    }
    const written = await vs.finish();
    volumes = undefined;
    await rm(workDir, { recursive: true, force: true });
    let archiveBytes = 0;
    for (const v of written) archiveBytes += (await stat(v.archive)).size;
    const deletedFiles = plan.base === null ? 0 : index.countDeleted(plan.base.rowid, backupRow);
    index.completeBackup(backupRow, {
      volumeCount: written.length,
      volumes: written.map((v) => ({ number: v.volume, bytes: v.bytes, files: v.files })),
      files: scan.files,
      bytes: scan.bytes,
      storedFiles,
      storedBytes,
      skippedFiles,
      structureSha256,
    });
    backupRow = -1;
    await logToSet(
      set,
      new Date(),
      `pack ${source}: backup ${backupId}, ${plan.kind}${plan.base ? ` on ${plan.base.id}` : ''} (${plan.reason}): ${storedFiles} file(s) stored, ${unchangedFiles} unchanged${renamedFiles ? ` (${renamedFiles} renamed)` : ''}, ${deletedFiles} deleted, ${skippedFiles} skipped, ${written.length} volume(s)`,
    );
    return {
      kind: plan.kind,
      base: plan.base?.id ?? null,
      reason: plan.reason,
      nothingChanged: false,
      storedFiles,
      storedBytes,
      unchangedFiles,
      renamedFiles,
      deletedFiles,
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
    if (backupRow >= 0) index.dropBackup(backupRow);
    throw e;
  } finally {
    await pool?.close();
  }
}

/** No file, folder or link changed since `latest`: no backup is made; the set's log says so. */
async function nothingChanged(set: string, source: string, latest: NonNullable<BackupPlan['base']>, plan: BackupPlan, scan: ScanResult): Promise<PackResult> {
  await logToSet(set, new Date(), `pack ${source}: nothing changed since backup ${latest.id}; no backup made`);
  return {
    set,
    backupId: '',
    root: scan.root,
    volumes: [],
    files: scan.files,
    dirs: scan.dirs,
    entries: scan.entries,
    bytes: scan.bytes,
    archiveBytes: 0,
    bytesWritten: 0,
    skipped: scan.skipped,
    ignored: scan.ignored,
    changed: [],
    kind: plan.kind,
    base: latest.id,
    reason: `nothing changed since ${latest.id}`,
    nothingChanged: true,
    storedFiles: 0,
    storedBytes: 0,
    unchangedFiles: scan.files,
    renamedFiles: 0,
    deletedFiles: 0,
  };
}
