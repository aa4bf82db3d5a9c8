/**
 * Compression for pack: small files go to the worker pool in batches (one task per batch, since a
 * task costs about as much as compressing a 5 KB file); large files are streamed through zlib by the
 * main thread straight into the volume, never held in memory whole.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { Piscina } from 'piscina';
import { entryErrorMessage } from '../errors.js';
import { encodeLocalHeader, encodeTrailer, needsZip64, PROBE_BYTES, probeCompressible, type ZipEntryInfo } from '../format/zip.js';
import type { ChunkTask, CompressBatchResult, CompressJob, CompressResult, CompressTask } from '../worker/compress-worker.js';
import { SAFE_OPEN_FLAGS } from '../worker/compress-worker.js';
import { TASKS_PER_WORKER, workerPoolOptions } from '../worker/pool.js';
import type { OutputFile } from './output-file.js';

/** Files up to this size are compressed in a worker, in memory. */
export const SMALL_FILE_MAX = 8 * 1024 * 1024;
const BATCH_FILES = 64;
const BATCH_BYTES = 4 * 1024 * 1024;
const CHUNK = 1024 * 1024;
/**
 * A worker's young generation, in MiB. Its JavaScript garbage is small (a batch's result objects;
 * file bytes live outside the heap), but V8 would let the young generation grow to 48 MiB per
 * thread, all of it resident: capped, the pack's peak RSS on SMALL drops by ~30 MiB.
 */
const WORKER_YOUNG_GENERATION_MB = 4;

export type BlobResult =
  | { ok: true; blob: Uint8Array; size: number; crc32: number; method: 0 | 8; sha256: string; changed: boolean; same?: boolean }
  | { ok: false; reason: string };

interface Deferred {
  resolve(r: BlobResult): void;
}

/**
 * The worker pool. Small files are gathered into batches: a batch goes to a worker as soon as the
 * workers run short of work, and otherwise keeps growing until it is full, so that batches are small
 * while the pipeline starts and large (the per-task cost spread over many files) once it runs.
 */
export class CompressPool {
  private readonly pool: Piscina<unknown, unknown>;
  private jobs: CompressJob[] = [];
  private waiting: Deferred[] = [];
  private bytes = 0;
  /** Tasks sent to the workers and not yet answered. */
  private inFlight = 0;
  /** With this many tasks in flight, every worker has one to do and one waiting. */
  private readonly enough: number;

  constructor(readonly level: number, threads: number = availableParallelism()) {
    const n = Math.max(1, threads);
    this.pool = new Piscina(workerPoolOptions(new URL('../worker/compress-worker.js', import.meta.url), n, WORKER_YOUNG_GENERATION_MB));
    this.enough = n * TASKS_PER_WORKER;
  }

  /**
   * Queue a small file; the promise settles once its batch has been compressed. Its batch is sent
   * when full, or at once while the workers are short of work — and otherwise when a task comes
   * back, so a file never waits for a batch that nothing will send.
   */
  add(job: CompressJob): Promise<BlobResult> {
    if (this.jobs.length >= BATCH_FILES || this.bytes + job.size > BATCH_BYTES) this.flush();
    const p = new Promise<BlobResult>((resolve) => this.waiting.push({ resolve }));
    this.jobs.push(job);
    this.bytes += job.size;
    if (this.inFlight < this.enough) this.flush();
    return p;
  }

  /** Send the batch being gathered to a worker now. */
  flush(): void {
    if (this.jobs.length === 0) return;
    const jobs = this.jobs;
    const waiting = this.waiting;
    this.jobs = [];
    this.waiting = [];
    this.bytes = 0;
    this.run({ kind: 'batch', level: this.level, jobs } satisfies CompressTask).then(
      (value) => {
        const { data, results } = value as CompressBatchResult;
        results.forEach((r: CompressResult, i) => {
          const w = waiting[i] as Deferred;
          if (!r.ok) w.resolve(r);
          else w.resolve({ ok: true, blob: data.subarray(r.start, r.end), size: r.size, crc32: r.crc32, method: r.method, sha256: r.sha256, changed: r.changed, ...(r.same ? { same: true } : {}) });
        });
      },
      (err: unknown) => {
        const reason = `compression failed: ${err instanceof Error ? err.message : String(err)}`;
        for (const w of waiting) w.resolve({ ok: false, reason });
      },
    );
  }

  /** Run a task in the pool; when it comes back and the workers run short, the batch being gathered goes out. */
  private run(task: CompressTask | ChunkTask, transferList?: ArrayBuffer[]): Promise<unknown> {
    this.inFlight++;
    const settled = (): void => {
      this.inFlight--;
      if (this.inFlight < this.enough) this.flush();
    };
    const p = this.pool.run(task, transferList === undefined ? {} : { transferList });
    p.then(settled, settled);
    return p;
  }

  /** Deflate one chunk of a large file in a worker (the chunk's memory is moved, not copied). */
  readonly deflateChunk: ChunkDeflater = (chunk, dict, last, level) => {
    const own = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : Buffer.from(chunk);
    return this.run({ kind: 'chunk', level, data: own, dict, last } satisfies ChunkTask, [own.buffer as ArrayBuffer]) as Promise<Uint8Array>;
  };

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

export interface StreamedBlob {
  ok: true;
  length: number;
  size: number;
  crc32: number;
  method: 0 | 8;
  sha256: string;
  changed: boolean;
}

/**
 * Stream a large file (opened by openSource) into `out` as a zip blob: local header (patched once the CRC and sizes are
 * known), data, trailer. At most `job.size` bytes are read. Decides store vs deflate from a probe of
 * the first 64 KiB, so already-compressed data is not deflated in vain.
 */
/** Open a file for streaming, refusing anything that is no longer a regular file. */
export async function openSource(job: CompressJob): Promise<{ ok: true; fh: FileHandle } | { ok: false; reason: string }> {
  let fh: FileHandle;
  try {
    fh = await open(job.abs, SAFE_OPEN_FLAGS);
  } catch (e) {
    return { ok: false, reason: entryErrorMessage(e, 'read') };
  }
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    return { ok: false, reason: 'is no longer a regular file' };
  }
  return { ok: true, fh };
}

/** The sha256 of a large file's first `size` bytes, read in chunks (an incremental's content check). */
export async function hashFile(job: CompressJob): Promise<{ ok: true; sha256: string } | { ok: false; reason: string }> {
  const src = await openSource(job);
  if (!src.ok) return src;
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; pos < job.size; ) {
      const { bytesRead } = await src.fh.read(buf, 0, Math.min(CHUNK, job.size - pos), pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return { ok: true, sha256: hash.digest('hex') };
  } finally {
    await src.fh.close();
  }
}

/** Deflate one chunk of a large file (in the pool): primed with `dict`, sync-flushed unless `last`. */
export type ChunkDeflater = (chunk: Buffer, dict: Buffer | null, last: boolean, level: number) => Promise<Uint8Array>;

const DICT_BYTES = 32 * 1024;
const CHUNKS_IN_FLIGHT = 4;

export async function streamBlob(out: OutputFile, fh: FileHandle, job: CompressJob, level: number, deflateChunk?: ChunkDeflater): Promise<StreamedBlob> {
  try {
    const probe = Buffer.alloc(Math.min(PROBE_BYTES, job.size));
    const { bytesRead: probeRead } = await fh.read(probe, 0, probe.length, 0);
    const method: 0 | 8 = level > 0 && probeCompressible(probe.subarray(0, probeRead)) ? 8 : 0;
    const zip64 = needsZip64(job.size);
    const info: ZipEntryInfo = { name: job.name, method, crc32: 0, compressedSize: 0, size: 0, mtimeSec: job.mtimeSec, mode: job.mode };
    const headerPos = out.offset;
    const localHeader = encodeLocalHeader(info, zip64);
    await out.write(localHeader);
    const dataStart = out.offset;

    const hash = createHash('sha256');
    let crc = 0;
    let size = 0;
    async function* chunks(): AsyncGenerator<Buffer> {
      let pos = 0;
      while (pos < job.size) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, job.size - pos));
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        const c = buf.subarray(0, bytesRead);
        hash.update(c);
        crc = zlib.crc32(c, crc);
        pos += bytesRead;
        size = pos;
        yield c;
      }
    }
    if (method === 8 && deflateChunk !== undefined) {
      // pigz's way: 1 MiB chunks deflated in parallel by the pool, each primed with the 32 KiB before
      // it and ended with a sync flush (the last with the final block), written in order. The
      // concatenation is one deflate stream, within 0.1% of deflating it in one piece.
      const inFlight: Promise<Uint8Array>[] = [];
      let dict: Buffer | null = null;
      let sent = 0;
      for await (const c of chunks()) {
        sent += c.length;
        const last = sent >= job.size;
        const tail: Buffer = Buffer.from(c.subarray(Math.max(0, c.length - DICT_BYTES)));
        inFlight.push(deflateChunk(c, dict, last, level));
        dict = tail;
        if (inFlight.length >= CHUNKS_IN_FLIGHT) await out.write(await (inFlight.shift() as Promise<Uint8Array>));
      }
      while (inFlight.length > 0) await out.write(await (inFlight.shift() as Promise<Uint8Array>));
      // The file came up short of its scanned size: no chunk was marked last, so end the stream here.
      if (sent < job.size) await out.write(zlib.deflateRawSync(Buffer.alloc(0)));
    } else {
      const source = Readable.from(chunks());
      const stream = method === 8 ? source.pipe(zlib.createDeflateRaw({ level, chunkSize: CHUNK })) : source;
      for await (const c of stream as AsyncIterable<Buffer>) await out.write(c);
    }

    const extra = Buffer.alloc(1);
    const { bytesRead: more } = await fh.read(extra, 0, 1, job.size);
    const changed = size !== job.size || more > 0 || (await fh.stat()).size !== job.size;
    const done: ZipEntryInfo = { ...info, crc32: crc, size, compressedSize: out.offset - dataStart };
    await out.patch(headerPos, encodeLocalHeader(done, zip64));
    await out.write(encodeTrailer(done, zip64, out.offset - headerPos));
    return { ok: true, length: out.offset - headerPos, size, crc32: crc, method, sha256: hash.digest('hex'), changed };
  } finally {
    await fh.close();
  }
}
