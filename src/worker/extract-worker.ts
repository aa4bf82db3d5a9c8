/**
 * The extraction pool's entry: a worker thread takes a batch of small zip blobs, inflates and checks
 * each (size, CRC-32, the catalog's sha256) and writes it (under a temporary name, renamed once whole) to the path the main thread checked and
 * made the folder for (src/unpack/extract-pool.ts), and sets its owner, mode and times by descriptor
 * when the structure record's are given with it; or a batch of restored files whose owner, mode
 * and times to set (src/dest/file-meta.ts). Reading the archive and the records, path checks and folders
 * are the main thread's job.
 *
 * Batches travel as columns — a few NUL-joined strings (NUL is a byte no path or sha256 holds) and
 * one array of numbers — which cost far less to pass to a thread than an object per file.
 */
import { carryError, type CarriedError } from '../errors.js';
import { writeVerifiedAt } from '../dest/destination.js';
import { FILE_META_FOUND, setFileMeta, type FileMeta } from '../dest/file-meta.js';
import { checkSmallBlob } from '../format/blob-check.js';
import type { BlobCodec } from '../format/zip.js';
import { crc32Of, deflateBackend, inflateWhole } from './deflate.js';

/**
 * libdeflate's inflate and CRC-32 where its addon is built (XTAR_DEFLATE=zlib keeps zlib's): inflating
 * SMALL's 12,220 deflated files took 0.32 s of CPU against zlib's 0.51 s, and its CRC-32 runs at 3.7×
 * zlib's speed.
 */
const codec: BlobCodec = deflateBackend === 'libdeflate' ? { inflate: inflateWhole, crc32: crc32Of } : {};

/** One small blob to check and write, as the main thread gathers it. */
export interface ExtractJob {
  /** Where the blob lies in the batch's `data`. */
  start: number;
  end: number;
  /** The checked absolute path to write; null only checks (verify). */
  abs: string | null;
  /** The file's path in messages. */
  shown: string;
  sha256: string | undefined;
  holes: boolean;
  /** Whether to keep a file already at `abs` (Destination.keepIf). */
  keep: number;
  /** Owner, mode and times to set by descriptor once it is written (null: left to the structure's pass). */
  meta: FileMeta | null;
}

export type ExtractTask =
  | {
      kind: 'blobs';
      /**
       * Every blob of the batch, one after the other, in memory shared with the main thread (it may
       * be longer than they are). The main thread fills it again only once this task has answered.
       */
      data: Uint8Array;
      /** Each job's `abs` ('' for null), `shown` and `sha256` ('' for none). */
      abs: string;
      shown: string;
      sha256: string;
      /** The run's part of temporary names (Destination.tmpTag). */
      tag: string;
      /** Per job (BLOB_FIELDS): start, end, holes (1 or 0), keep, then mode (-1: no metadata), uid and gid (-1: leave the owner), time. */
      numbers: Float64Array;
    }
  | {
      kind: 'meta';
      /** The checked absolute paths of restored files whose metadata to set. */
      abs: string;
      /** Per file: mode, uid and gid (-1: leave the owner), time (seconds, as utimes takes). */
      numbers: Float64Array;
    };

/**
 * A batch's answer: per job a number — a blob's file size, or the index in FILE_META_FOUND of what
 * setFileMeta found — unless the job failed, with the error the main thread would have met; and for
 * a batch of blobs, per job whether its metadata was set as it was written (1) or not (0).
 */
export interface BatchAnswer {
  values: Float64Array;
  metaSet?: Uint8Array;
  errors: { index: number; error: CarriedError }[];
}

/** Numbers per job of a batch of blobs. */
const BLOB_FIELDS = 8;

export function blobTask(data: Uint8Array, jobs: readonly ExtractJob[], tag: string): ExtractTask {
  const numbers = new Float64Array(jobs.length * BLOB_FIELDS);
  for (let i = 0, at = 0; i < jobs.length; i++, at += BLOB_FIELDS) {
    const j = jobs[i] as ExtractJob;
    numbers[at] = j.start;
    numbers[at + 1] = j.end;
    numbers[at + 2] = j.holes ? 1 : 0;
    numbers[at + 3] = j.keep;
    const m = j.meta;
    numbers[at + 4] = m === null ? -1 : m.mode;
    numbers[at + 5] = m?.owner?.uid ?? -1;
    numbers[at + 6] = m?.owner?.gid ?? -1;
    numbers[at + 7] = m?.time ?? 0;
  }
  return { kind: 'blobs', data, abs: jobs.map((j) => j.abs ?? '').join('\0'), shown: jobs.map((j) => j.shown).join('\0'), sha256: jobs.map((j) => j.sha256 ?? '').join('\0'), tag, numbers };
}

export function metaTask(abs: readonly string[], metas: readonly FileMeta[]): ExtractTask {
  const numbers = new Float64Array(metas.length * 4);
  metas.forEach((m, i) => numbers.set([m.mode, m.owner?.uid ?? -1, m.owner?.gid ?? -1, m.time], i * 4));
  return { kind: 'meta', abs: abs.join('\0'), numbers };
}

/** The FileMeta whose mode, uid, gid and time are at `at` in `numbers` (null: a mode of -1, none). */
function metaAt(numbers: Float64Array, at: number): FileMeta | null {
  const mode = numbers[at] as number;
  if (mode < 0) return null;
  const uid = numbers[at + 1] as number;
  return { mode, owner: uid < 0 ? null : { uid, gid: numbers[at + 2] as number }, time: numbers[at + 3] as number };
}

export default function run(task: ExtractTask): BatchAnswer {
  const abs = task.abs.split('\0');
  const answer: BatchAnswer = { values: new Float64Array(abs.length), errors: [] };
  const n = task.numbers;
  // Plain loops, no closure per file: they run once per small file.
  if (task.kind === 'meta') {
    for (let i = 0; i < abs.length; i++) {
      try {
        answer.values[i] = FILE_META_FOUND.indexOf(setFileMeta(abs[i] as string, metaAt(n, 4 * i) as FileMeta));
      } catch (e) {
        answer.errors.push({ index: i, error: carryError(e) });
      }
    }
    return answer;
  }
  const data = Buffer.from(task.data.buffer, task.data.byteOffset, task.data.byteLength);
  const shown = task.shown.split('\0');
  const sha256 = task.sha256.split('\0');
  const tag = task.tag;
  const metaSet = (answer.metaSet = new Uint8Array(abs.length));
  for (let i = 0, at = 0; i < abs.length; i++, at += BLOB_FIELDS) {
    try {
      const path = abs[i] as string;
      const name = shown[i] as string;
      const bytes = checkSmallBlob(data.subarray(n[at], n[at + 1]), name, sha256[i] || undefined, codec);
      if (path !== '' && writeVerifiedAt(path, name, bytes, n[at + 2] === 1, tag, n[at + 3] as number, metaAt(n, at + 4))) metaSet[i] = 1;
      answer.values[i] = bytes.length;
    } catch (e) {
      answer.errors.push({ index: i, error: carryError(e) });
    }
  }
  return answer;
}
