/**
 * The pool's entry: a worker thread reads a batch of small files (one open, one read each, never
 * following a symlink or blocking on a FIFO) and turns each into its zip blob. Writing blobs into the
 * volume is the main thread's job (src/pack/).
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { constants, deflateRawSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { entryErrorMessage } from '../errors.js';
import { encodeZipBlob } from '../format/zip.js';
import { deflateWhole } from './deflate.js';

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
  jobs: CompressJob[];
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

export type CompressResult =
  | {
      ok: true;
      /** Where this file's blob lies in the batch's `data`. */
      start: number;
      end: number;
      size: number;
      crc32: number;
      method: 0 | 8;
      sha256: string;
      /** The file's size differed from the scan's when read (it was being written). */
      changed: boolean;
      /** The content equals the job's `sameAs` copy: no blob was made (start = end). */
      same?: boolean;
    }
  | { ok: false; reason: string };

/** Flags that make open() safe on a path that may have become a symlink or a FIFO since the scan. */
export const SAFE_OPEN_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;


type Compressed = { ok: true; blob: Buffer; size: number; crc32: number; method: 0 | 8; sha256: string; changed: boolean; same?: boolean };

/** A batch's answer: every blob in one buffer, transferred (not copied) back to the main thread. */
export interface CompressBatchResult {
  data: Uint8Array;
  results: CompressResult[];
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
    }
    const changed = got !== job.size || st.size !== job.size;
    const data = buf.subarray(0, Math.min(got, job.size));
    const sha256 = createHash('sha256').update(data).digest('hex');
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
  const out = deflateRawSync(task.data, {
    level: task.level,
    ...(task.dict === null ? {} : { dictionary: task.dict }),
    finishFlush: task.last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
  });
  // Move only memory this chunk owns alone (a small result may sit in Node's shared buffer pool).
  const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? new Uint8Array(out.buffer) : Uint8Array.from(out);
  return move(own) as unknown as Uint8Array;
}

export default function run(task: CompressTask | ChunkTask): CompressBatchResult | Uint8Array {
  return task.kind === 'chunk' ? deflateChunk(task) : compressBatch(task);
}

function compressBatch(task: CompressTask): CompressBatchResult {
  const done = task.jobs.map((job) => compressOne(job, task.level));
  let total = 0;
  for (const d of done) if (d.ok) total += d.blob.length;
  const data = new Uint8Array(total);
  let at = 0;
  const results = done.map((d): CompressResult => {
    if (!d.ok) return d;
    data.set(d.blob, at);
    const r: CompressResult = { ok: true, start: at, end: at + d.blob.length, size: d.size, crc32: d.crc32, method: d.method, sha256: d.sha256, changed: d.changed, ...(d.same ? { same: true } : {}) };
    at += d.blob.length;
    return r;
  });
  const value: CompressBatchResult = { data, results };
  // Piscina's Transferable protocol: move the one ArrayBuffer instead of cloning it.
  const transferable = {
    get [transferableSymbol]() {
      return [data.buffer];
    },
    get [valueSymbol]() {
      return value;
    },
  };
  return move(transferable) as unknown as CompressBatchResult;
}
