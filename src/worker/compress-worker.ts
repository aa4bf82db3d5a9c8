/**
 * The pool's entry: a worker thread reads a batch of small files (one open, one read each, never
 * following a symlink or blocking on a FIFO) and turns each into its zip blob. Writing blobs into the
 * volume is the main thread's job (src/pack/).
 *
 * Batches travel as columns both ways — a NUL-joined string of paths and names and an array of
 * numbers in, one buffer of blobs and an array of numbers out — which cost far less to pass to a
 * thread than an object per file (on 50,000 tiny files the objects' cloning was a tenth of the
 * main thread's time).
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { constants, deflateRawSync } from 'node:zlib';
import { hash } from 'node:crypto';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { entryErrorMessage } from '../errors.js';
import { encodeZipBlob } from '../format/zip.js';
import { deflateWhole, gzipMember } from './deflate.js';

export interface CompressJob {
  /** Absolute path to read. */
  abs: string;
  /** Name stored inside the zip (the file's own name). */
  name: string;
  /** Size seen by the scan: at most this many bytes are read. */
  size: number;
  mtimeSec: number;
  mode: number;
  /**
   * An incremental's check: the sha256 of the copy an earlier backup holds. When the file still has
   * that content, no blob is made and the result says `same`.
   */
  sameAs?: string;
}

export interface CompressTask {
  kind: 'batch';
  level: number;
  /** Per job: its `abs`, `name` and `sameAs` ('' for none), each followed by a NUL (a byte no path, name or sha256 holds). */
  text: string;
  /** Per job, JOB_NUMBERS numbers: size, mtimeSec, mode. */
  numbers: Float64Array;
}

/** Numbers per job in a CompressTask. */
export const JOB_NUMBERS = 3;

/** A batch of jobs as a task's columns. */
export function encodeBatch(level: number, jobs: readonly CompressJob[]): CompressTask {
  let text = '';
  const numbers = new Float64Array(jobs.length * JOB_NUMBERS);
  for (let i = 0; i < jobs.length; i++) {
    const j = jobs[i] as CompressJob;
    text += `${j.abs}\0${j.name}\0${j.sameAs ?? ''}\0`;
    numbers[i * JOB_NUMBERS] = j.size;
    numbers[i * JOB_NUMBERS + 1] = j.mtimeSec;
    numbers[i * JOB_NUMBERS + 2] = j.mode;
  }
  return { kind: 'batch', level, text, numbers };
}

/** A task's jobs, as encodeBatch was given them. */
export function decodeBatch(task: CompressTask): CompressJob[] {
  const text = task.text.split('\0');
  const jobs: CompressJob[] = [];
  for (let i = 0; i * JOB_NUMBERS < task.numbers.length; i++) {
    const sameAs = text[i * 3 + 2] as string;
    jobs.push({
      abs: text[i * 3] as string,
      name: text[i * 3 + 1] as string,
      size: task.numbers[i * JOB_NUMBERS] as number,
      mtimeSec: task.numbers[i * JOB_NUMBERS + 1] as number,
      mode: task.numbers[i * JOB_NUMBERS + 2] as number,
      ...(sameAs === '' ? {} : { sameAs }),
    });
  }
  return jobs;
}

/** One chunk of a large file, deflated as part of one stream (see streamBlob). */
export interface ChunkTask {
  kind: 'chunk';
  level: number;
  data: Uint8Array;
  /** The 32 KiB before this chunk, so back-references can reach into it; null for the first. */
  dict: Uint8Array | null;
  last: boolean;
}

/** One gzip member of a record's copy (see src/pack/gzip-record.ts). */
export interface GzipTask {
  kind: 'gzip';
  data: Uint8Array;
  libdeflateLevel: number;
  zlibLevel: number;
}

/** What became of a job (a CompressBatchResult's status column): it failed; its blob is in `data`; its content equals the job's `sameAs` copy (no blob was made). */
export const JOB_FAILED = 0;
export const JOB_BLOB = 1;
export const JOB_SAME = 2;

/** Numbers per job in a CompressBatchResult: status, end of its blob in `data`, size, crc32, method (0 or 8), changed (1 or 0). */
export const RESULT_NUMBERS = 6;

/** Flags that make open() safe on a path that may have become a symlink or a FIFO since the scan. */
export const SAFE_OPEN_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;


type Compressed = { ok: true; blob: Buffer; size: number; crc32: number; method: 0 | 8; sha256: string; changed: boolean; same?: boolean };

/**
 * A batch's answer: every blob in one buffer, transferred (not copied) back to the main thread, one
 * after the other in job order (a job's blob starts where the one before ends; a failed or `same`
 * job's is empty), and per job its numbers, its sha256 and, when it failed, why.
 */
export interface CompressBatchResult {
  data: Uint8Array;
  /** Per job, RESULT_NUMBERS numbers (see there). */
  numbers: Float64Array;
  /** Every job's sha256 as 64 hex digits (64 spaces for a failed job), one after the other. */
  sha256: string;
  /** The reason of each failed job, in job order. */
  reasons: string[];
}

/**
 * The worker's one read buffer, grown to the largest file it has read (at most SMALL_FILE_MAX + 1).
 * What is read is hashed and compressed (or copied into the blob) before the next file is read, so
 * one buffer serves every file: no allocation per file for the allocator to fragment.
 */
let reusable = Buffer.alloc(0);
function readBuffer(length: number): Buffer {
  if (reusable.length < length) reusable = Buffer.allocUnsafe(Math.max(length, 64 * 1024));
  return reusable.subarray(0, length);
}

export function compressOne(job: CompressJob, level: number): Compressed | { ok: false; reason: string } {
  let fd: number;
  try {
    fd = openSync(job.abs, SAFE_OPEN_FLAGS);
  } catch (e) {
    return { ok: false, reason: entryErrorMessage(e, 'read') };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, reason: 'is no longer a regular file' };
    // One read for the scanned size plus one byte to notice growth.
    const buf = readBuffer(job.size + 1);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
      // A short read that reached the size fstat gave was the end of the file: no second read to learn it.
      if (got < buf.length && got === st.size) break;
    }
    const changed = got !== job.size || st.size !== job.size;
    const data = buf.subarray(0, Math.min(got, job.size));
    // One-shot: a Hash object per file cost three times as much on files of a few bytes.
    const sha256 = hash('sha256', data, 'hex');
    if (job.sameAs === sha256 && !changed) return { ok: true, blob: Buffer.alloc(0), size: data.length, crc32: 0, method: 0, sha256, changed, same: true };
    const { blob, info } = encodeZipBlob(job.name, data, { level, mtimeSec: job.mtimeSec, mode: job.mode, deflate: deflateWhole });
    return { ok: true, blob, size: info.size, crc32: info.crc32, method: info.method, sha256, changed };
  } catch (e) {
    return { ok: false, reason: entryErrorMessage(e, 'read') };
  } finally {
    closeSync(fd);
  }
}

function deflateChunk(task: ChunkTask): Uint8Array {
  return moved(
    deflateRawSync(task.data, {
      level: task.level,
      ...(task.dict === null ? {} : { dictionary: task.dict }),
      finishFlush: task.last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
    }),
  );
}

/** `out` moved to the main thread: only memory it owns alone (a small result may sit in Node's shared buffer pool). */
function moved(out: Buffer): Uint8Array {
  const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? new Uint8Array(out.buffer) : Uint8Array.from(out);
  return move(own) as unknown as Uint8Array;
}

export default function run(task: CompressTask | ChunkTask | GzipTask): CompressBatchResult | Uint8Array {
  if (task.kind === 'chunk') return deflateChunk(task);
  if (task.kind === 'gzip') return moved(gzipMember(task.data, task.libdeflateLevel, task.zlibLevel));
  return compressBatch(task);
}

function compressBatch(task: CompressTask): CompressBatchResult {
  const done = decodeBatch(task).map((job) => compressOne(job, task.level));
  let total = 0;
  for (const d of done) if (d.ok) total += d.blob.length;
  const data = new Uint8Array(total);
  const numbers = new Float64Array(done.length * RESULT_NUMBERS);
  const reasons: string[] = [];
  let sha256 = '';
  let at = 0;
  done.forEach((d, i) => {
    const n = i * RESULT_NUMBERS;
    if (!d.ok) {
      reasons.push(d.reason);
      sha256 += ' '.repeat(64);
      numbers[n] = JOB_FAILED;
      numbers[n + 1] = at;
      return;
    }
    data.set(d.blob, at);
    at += d.blob.length;
    sha256 += d.sha256;
    numbers[n] = d.same === true ? JOB_SAME : JOB_BLOB;
    numbers[n + 1] = at;
    numbers[n + 2] = d.size;
    numbers[n + 3] = d.crc32;
    numbers[n + 4] = d.method;
    numbers[n + 5] = d.changed ? 1 : 0;
  });
  const value: CompressBatchResult = { data, numbers, sha256, reasons };
  // Piscina's Transferable protocol: move the buffers instead of cloning them.
  const transferable = {
    get [transferableSymbol]() {
      return [data.buffer, numbers.buffer];
    },
    get [valueSymbol]() {
      return value;
    },
  };
  return move(transferable) as unknown as CompressBatchResult;
}
