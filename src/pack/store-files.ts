/**
 * Storing the files: each item of the lookahead goes to the volumes — folders opened (an
 * incremental's only when their first blob comes), blobs compressed and placed, references and
 * skips written as catalog lines — and to the index through the recorder. The room arithmetic,
 * the volume files and the index rows themselves are elsewhere.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InterruptedError } from '../errors.js';
import { blobBound, ENTRY_FRAMING_MAX } from '../format/bounds.js';
import { AGE_SUFFIX } from '../format/encryption.js';
import { BLOB_SUFFIX, blobEntryName, nestedEntryName, partBaseName, SEALED_BLOB_SUFFIX } from '../format/names.js';
import { sealFile } from './seal-file.js';
import type { BlobPart, CatalogFile, StructureEntry } from '../format/records.js';
import type { ScanResult } from '../scan/scan.js';
import type { FileVersion } from '../setindex/db.js';
import { bufferSource, fileSource } from './blob-source.js';
import { hashFile, openSource, streamBlob } from './compress.js';
import type { PackContext } from './context.js';
import { refLine } from './decide.js';
import { Bundler } from './bundle.js';
import { baseName, Lookahead, mtimeSeconds, parentOf, type Item } from './lookahead.js';
import { OutputFile } from './output-file.js';
import type { VolumeWriter } from './volume-writer.js';
import type { Structure } from './write-structure.js';

/** Progress is told after every this many small files (and after each large file, and the last). */
const PROGRESS_EVERY = 64;

/** A compressed file, as its catalog line needs it. */
type Done = { size: number; sha256: string; crc32: number; method: 0 | 8; changed: boolean };

/** The catalog line of a stored file, from where its parts landed. */
export function storedLine(e: StructureEntry, r: Done, parts: BlobPart[], bundle?: string): CatalogFile {
  const line: CatalogFile = { path: e.path, size: r.size, sha256: r.sha256, crc32: r.crc32, method: r.method === 8 ? 'deflate' : 'store', parts };
  if (bundle !== undefined) line.bundle = bundle;
  return line;
}

/**
 * The folders' nested tars. Incremental backups carry only the folders that hold something new: a
 * folder's nested tar is opened when its first blob comes, and a folder with none is left out (its
 * structure is in the record).
 */
class Folders {
  private readonly pending: StructureEntry[] = [];

  constructor(
    private readonly vs: VolumeWriter,
    private readonly largeDirs: Set<string>,
    private readonly lazy: boolean,
    /** An encrypted set's tar headers all carry the backup's time (docs/FORMAT.md, "Encrypted sets"). */
    private readonly fixedMtime: number | null = null,
  ) {}

  private mtime(e: StructureEntry): number {
    return this.fixedMtime ?? mtimeSeconds(e.mtimeNs);
  }

  async enter(e: StructureEntry, name: string): Promise<void> {
    if (this.lazy) this.pending.push(e);
    else await this.vs.openDir(nestedEntryName(name), this.mtime(e), this.largeDirs.has(e.path));
  }

  async exit(): Promise<void> {
    if (this.pending.length > 0) this.pending.pop();
    else await this.vs.closeDir();
  }

  /** A blob comes: open the folders still waiting for one. */
  async forBlob(): Promise<void> {
    for (const d of this.pending) await this.vs.openDir(nestedEntryName(baseName(d.path)), this.mtime(d), this.largeDirs.has(d.path));
    this.pending.length = 0;
  }
}

function names(ctx: PackContext, scan: ScanResult, item: { e: StructureEntry; name: string }): { entry: string; base: string } {
  const short = scan.shortBlobs.has(item.e.path);
  // An encrypted set's blob is NAME.zip.age (docs/FORMAT.md, "Encrypted sets").
  const suffix = ctx.sealing === null ? BLOB_SUFFIX : SEALED_BLOB_SUFFIX;
  return { entry: blobEntryName(item.name, short, suffix), base: partBaseName(item.name, short, suffix) };
}

/** Record a stored file: its index rows, then its catalog line. */
function recordStored(ctx: PackContext, vs: VolumeWriter, e: StructureEntry, r: Done, parts: BlobPart[], bundle?: string): Promise<void> {
  const line = storedLine(e, r, parts, bundle);
  ctx.recorder.stored(e, line, r.size);
  ctx.opts.onStored?.(e.path);
  if (r.changed) ctx.changed.push(e.path);
  return vs.record(line, r.size);
}

async function recordRef(ctx: PackContext, vs: VolumeWriter, e: StructureEntry, v: FileVersion): Promise<void> {
  const line = refLine(e.path, v);
  await vs.record(line, 0);
  ctx.recorder.referenced(e, v);
}

async function recordSkip(ctx: PackContext, vs: VolumeWriter, e: StructureEntry, reason: string): Promise<void> {
  await vs.record({ path: e.path, skipped: reason }, 0);
  ctx.recorder.skip(e, reason);
}

/** Store every file of the structure record into the volumes, in record order. */
export async function storeFiles(ctx: PackContext, st: Structure, vs: VolumeWriter): Promise<void> {
  const queue = new Lookahead(ctx, st.path, st.early, st.entries);
  queue.start();
  try {
    await storeAll(ctx, st, vs, queue);
  } finally {
    queue.close();
  }
}

async function storeAll(ctx: PackContext, st: Structure, vs: VolumeWriter, queue: Lookahead): Promise<void> {
  const opts = ctx.opts;
  const scan = st.scan;
  const folders = new Folders(vs, scan.largeDirs, ctx.plan.kind !== 'full', ctx.sealing === null ? null : ctx.metaMtimeSec);
  let filesDone = 0;
  let bytesDone = 0;
  let shown = -1;
  const progress = (files: number, bytes: number): void => {
    if (files === shown) return;
    shown = files;
    opts.onProgress?.({ phase: 'pack', files, bytes, totalFiles: scan.files, totalBytes: scan.bytes });
  };
  // With --bundle, small files of a folder are gathered into bundles (bundle.ts); what is recorded meanwhile waits for them.
  const bundler =
    opts.bundle === undefined
      ? null
      : new Bundler(opts.bundle, async (entry, bytes, lineBytes) => {
          await folders.forBlob();
          return vs.addBundle(entry, ctx.metaMtimeSec, bytes, lineBytes);
        });
  const later = (run: () => Promise<void>): Promise<void> => (bundler === null ? run() : bundler.later(run));
  for (;;) {
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new InterruptedError('an abort signal');
    queue.fill();
    const item = queue.next();
    if (item === undefined) break;
    switch (item.kind) {
      case 'enter':
        await bundler?.enter();
        await folders.enter(item.e, item.name);
        break;
      case 'exit':
        await bundler?.exit();
        await folders.exit();
        break;
      case 'ref': {
        const { e, v } = item;
        await later(() => recordRef(ctx, vs, e, v));
        filesDone++;
        bytesDone += item.e.size ?? 0;
        break;
      }
      case 'small': {
        const t = item.ticket;
        await t.batch.done;
        const r = t.batch.result(t.i);
        const e = item.e;
        if (!r.ok) {
          const reason = r.reason;
          await later(() => recordSkip(ctx, vs, e, reason));
        } else if (r.same === true && item.prev !== null) {
          const prev = item.prev;
          await later(() => recordRef(ctx, vs, e, prev));
        } else {
          const mtimeSec = item.job.mtimeSec;
          const alone = async (blob: Uint8Array): Promise<void> => {
            await folders.forBlob();
            const { entry, base } = names(ctx, scan, item);
            // An encrypted set's blob is encrypted here, on the main thread, as it is placed: in the workers
            // (async tasks, age's garbage in a small young generation) a pack of SMALL hung at 0% CPU about
            // 1 run in 5, a worker stuck in V8's task queue inside a scavenge.
            const sealed = ctx.sealing === null ? blob : await ctx.sealing.writer.encrypt(blob);
            await recordStored(ctx, vs, e, r, await vs.addBlob(entry, base, ctx.sealing === null ? mtimeSec : ctx.metaMtimeSec, bufferSource(sealed), (parts) => storedLine(e, r, parts)));
          };
          if (bundler !== null && Bundler.fits(r.size) && !scan.noBundle.has(parentOf(e.path))) {
            // (A copy: the batch's memory is not kept past its files.)
            const blob = Buffer.from(r.blob);
            await bundler.add({
              blob,
              size: r.size,
              lineBytes: 1024 + Buffer.byteLength(e.path),
              record: (part, bundle) => recordStored(ctx, vs, e, r, [part], bundle),
              alone: () => alone(blob),
            });
          } else {
            await bundler?.flush();
            await alone(r.blob);
          }
        }
        filesDone++;
        bytesDone += item.job.size;
        break;
      }
      case 'big':
        await bundler?.flush();
        await storeLarge(ctx, st, vs, folders, item);
        filesDone++;
        bytesDone += item.job.size;
        break;
    }
    if ((item.kind === 'small' || item.kind === 'ref') && filesDone % PROGRESS_EVERY === 0) progress(filesDone, bytesDone);
    else if (item.kind === 'big') progress(filesDone, bytesDone);
  }
  await bundler?.flush();
  progress(filesDone, bytesDone);
}

/** A large file: compared with its earlier copy when there is one, else streamed into the volume, or spooled first near a volume's end. */
async function storeLarge(ctx: PackContext, st: Structure, vs: VolumeWriter, folders: Folders, item: Extract<Item, { kind: 'big' }>): Promise<void> {
  const { e, job } = item;
  const check = item.prev?.blob ? await hashFile(job) : null;
  const src = check?.ok === true && check.sha256 === item.prev?.blob?.sha256 ? null : await openSource(job);
  if (src === null) return recordRef(ctx, vs, e, item.prev as FileVersion);
  if (!src.ok) return recordSkip(ctx, vs, e, src.reason);
  await folders.forBlob();
  const { entry, base } = names(ctx, st.scan, item);
  const bound = blobBound(job.size) + ENTRY_FRAMING_MAX;
  const lineBound = 1024 + Buffer.byteLength(e.path);
  // (An encrypted set's large blob is spooled, then encrypted whole: a zip's header is patched once its CRC is known.)
  if (ctx.sealing === null && bound <= vs.roomFor(lineBound)) {
    // Fits whatever it compresses to: stream it straight into the volume.
    const pending = await vs.tar.beginEntry(entry, job.mtimeSec, blobBound(job.size));
    const r = await streamBlob(vs.out, src.fh, job, ctx.level, ctx.pool.deflateChunk);
    await vs.tar.endEntry(pending);
    return recordStored(ctx, vs, e, r, [{ volume: vs.volumeNumber, offset: pending.dataStart, length: r.length }]);
  }
  // Near the end of a volume: compress into a spool first, so that its real size decides
  // whether it goes whole into the next volume or (larger than a volume) is split.
  const spoolPath = join(ctx.workDir, 'spool.zip');
  const spool = await OutputFile.create(spoolPath);
  const r = await streamBlob(spool, src.fh, job, ctx.level, ctx.pool.deflateChunk);
  await spool.close();
  ctx.spooled += spool.bytesWritten;
  let blobPath = spoolPath;
  if (ctx.sealing !== null) {
    blobPath = spoolPath + AGE_SUFFIX;
    await rm(blobPath, { force: true });
    await sealFile(ctx.sealing.writer, spoolPath, blobPath, true);
  }
  const blob = await fileSource(blobPath);
  try {
    await recordStored(ctx, vs, e, r, await vs.addBlob(entry, base, ctx.sealing === null ? job.mtimeSec : ctx.metaMtimeSec, blob, (parts) => storedLine(e, r, parts)));
  } finally {
    await blob.close();
    await rm(blobPath, { force: true });
  }
}
