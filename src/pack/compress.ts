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
import type { ChunkTask, CompressBatchResult, CompressJob, CompressTask, GzipTask } from '../worker/compress-worker.js';
import { encodeBatch, JOB_FAILED, JOB_SAME, RESULT_NUMBERS, SAFE_OPEN_FLAGS } from '../worker/compress-worker.js';
import { TASKS_PER_WORKER, workerPoolOptions } from '../worker/pool.js';
import type { MemberMaker } from './gzip-record.js';
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

/**
 * A batch of small files, one task for a worker: gathered, sent, then answered — each file's result
 * read from the answer's columns by its index when it is taken, so a file costs no promise and no
 * object until then.
 */
export class Batch {
  readonly jobs: CompressJob[] = [];
  bytes = 0;
  /** Settles once the worker answered (or failed); never rejects. */
  readonly done: Promise<void>;
  private settle!: () => void;
  private answer: CompressBatchResult | null = null;
  private failure: string | null = null;
  /** Index into the answer's reasons of each failed job, filled when first needed. */
  private reasonAt: Map<number, number> | null = null;

  constructor() {
    this.done = new Promise((resolve) => (this.settle = resolve));
  }

  answered(a: CompressBatchResult): void {
    this.answer = a;
    this.settle();
  }

  failed(reason: string): void {
    this.failure = reason;
    this.settle();
  }

  /** Job `i`'s result (only once `done` has settled). */
  result(i: number): BlobResult {
    const a = this.answer;
    if (a === null) return { ok: false, reason: this.failure ?? 'compression did not finish' };
    const n = i * RESULT_NUMBERS;
    const status = a.numbers[n];
    if (status === JOB_FAILED) return { ok: false, reason: a.reasons[this.reasonIndex(i)] as string };
    const start = i === 0 ? 0 : (a.numbers[n - RESULT_NUMBERS + 1] as number);
    const r: BlobResult = {
      ok: true,
      blob: a.data.subarray(start, a.numbers[n + 1]),
      size: a.numbers[n + 2] as number,
      crc32: a.numbers[n + 3] as number,
      method: a.numbers[n + 4] === 8 ? 8 : 0,
      sha256: a.sha256.slice(i * 64, i * 64 + 64),
      changed: a.numbers[n + 5] === 1,
    };
    if (status === JOB_SAME) r.same = true;
    return r;
  }

  private reasonIndex(i: number): number {
    if (this.reasonAt === null) {
      const a = this.answer as CompressBatchResult;
      this.reasonAt = new Map();
      for (let j = 0, k = 0; j * RESULT_NUMBERS < a.numbers.length; j++) if (a.numbers[j * RESULT_NUMBERS] === JOB_FAILED) this.reasonAt.set(j, k++);
    }
    return this.reasonAt.get(i) as number;
  }
}

/** A small file's place in its batch. */
export interface Ticket {
  readonly batch: Batch;
  readonly i: number;
}

/** A small file's result, once its batch is back. */
export async function resultOf(t: Ticket): Promise<BlobResult> {
  await t.batch.done;
  return t.batch.result(t.i);
}

/**
 * The worker pool. Small files are gathered into batches: a batch goes to a worker as soon as the
 * workers run short of work, and otherwise keeps growing until it is full, so that batches are small
 * while the pipeline starts and large (the per-task cost spread over many files) once it runs.
 */
export class CompressPool {
  private readonly pool: Piscina<unknown, unknown>;
  private gathering = new Batch();
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
   * Queue a small file; its ticket's batch settles once compressed. The batch is sent when full, or
   * at once while the workers are short of work — and otherwise when a task comes back, so a file
   * never waits for a batch that nothing will send.
   */
  add(job: CompressJob): Ticket {
    if (this.gathering.jobs.length >= BATCH_FILES || this.gathering.bytes + job.size > BATCH_BYTES) this.flush();
    const batch = this.gathering;
    const i = batch.jobs.push(job) - 1;
    batch.bytes += job.size;
    if (this.inFlight < this.enough) this.flush();
    return { batch, i };
  }

  /** Send the batch being gathered to a worker now. */
  flush(): void {
    const batch = this.gathering;
    if (batch.jobs.length === 0) return;
    this.gathering = new Batch();
    const task = encodeBatch(this.level, batch.jobs);
    this.run(task, [task.numbers.buffer as ArrayBuffer]).then(
      (value) => batch.answered(value as CompressBatchResult),
      (err: unknown) => batch.failed(`compression failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  /** Run a task in the pool; when it comes back and the workers run short, the batch being gathered goes out. */
  private run(task: CompressTask | ChunkTask | GzipTask, transferList?: ArrayBuffer[]): Promise<unknown> {
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

  /** Make one gzip member of a record's copy in a worker (`data`'s memory shared or moved, not copied). */
  readonly gzipMember: MemberMaker = (data, libdeflateLevel, zlibLevel) => {
    const task = { kind: 'gzip', data, libdeflateLevel, zlibLevel } satisfies GzipTask;
    // Shared memory is read where it is; other memory is copied unless `data` owns all of it.
    if (data.buffer instanceof SharedArrayBuffer) return this.run(task) as Promise<Uint8Array>;
    const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : Uint8Array.from(data);
    return this.run({ ...task, data: own }, [own.buffer as ArrayBuffer]) as Promise<Uint8Array>;
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
