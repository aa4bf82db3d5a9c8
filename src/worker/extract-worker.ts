/**
 * The extraction pool's entry: a worker thread takes a batch of small zip blobs, inflates and checks
 * each (size, CRC-32, the catalog's sha256) and writes it to the path the main thread checked and
 * made the folder for (src/unpack/extract-pool.ts); or a batch of restored files whose owner, mode
 * and times to set (apply-structure). Reading the archive and the records, path checks and folders
 * are the main thread's job.
 */
import { carryError, type CarriedError } from '../errors.js';
import { FILE_META_FOUND, setFileMeta, type FileMeta } from '../unpack/apply-structure.js';
import { writeVerifiedAt } from '../unpack/dest.js';
import { checkSmallBlob } from '../unpack/extract.js';

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
}

/**
 * Restored files whose metadata to set (setFileMeta), at paths the main thread checked — as columns:
 * one string and one array cost far less to pass to a thread than an object per file.
 */
export interface MetaColumns {
  /** The absolute paths, joined with NUL (a byte no path holds). */
  paths: string;
  /** Per file, four numbers: mode, uid and gid (-1: leave the owner), time (seconds, as utimes takes). */
  numbers: Float64Array;
}

export function metaAt(numbers: Float64Array, i: number): FileMeta {
  const uid = numbers[4 * i + 1] as number;
  return { mode: numbers[4 * i] as number, owner: uid < 0 ? null : { uid, gid: numbers[4 * i + 2] as number }, time: numbers[4 * i + 3] as number };
}

/** What each file's setFileMeta found, by code (FILE_META_FOUND[code]), and the errors of those that failed. */
export interface MetaResults {
  found: Uint8Array;
  errors: { index: number; error: CarriedError }[];
}
const FAILED = 255;

export type ExtractTask =
  | {
      kind: 'blobs';
      /**
       * Every blob of the batch, one after the other, in memory shared with the main thread (it may
       * be longer than they are). The main thread fills it again only once this task has answered.
       */
      data: Uint8Array;
      jobs: ExtractJob[];
    }
  | ({ kind: 'meta' } & MetaColumns);

/** One job's outcome: the file's size, or the error finishSmallBlob would have thrown. */
export type ExtractJobResult = { ok: true; size: number } | { ok: false; error: CarriedError };

export default function run(task: ExtractTask): ExtractJobResult[] | MetaResults {
  if (task.kind === 'meta') {
    const paths = task.paths.split('\0');
    const out: MetaResults = { found: new Uint8Array(paths.length), errors: [] };
    paths.forEach((abs, i) => {
      try {
        out.found[i] = FILE_META_FOUND.indexOf(setFileMeta(abs, metaAt(task.numbers, i)));
      } catch (e) {
        out.found[i] = FAILED;
        out.errors.push({ index: i, error: carryError(e) });
      }
    });
    return out;
  }
  const data = Buffer.from(task.data.buffer, task.data.byteOffset, task.data.byteLength);
  return task.jobs.map((job): ExtractJobResult => {
    try {
      const bytes = checkSmallBlob(data.subarray(job.start, job.end), job.shown, job.sha256);
      if (job.abs !== null) writeVerifiedAt(job.abs, job.shown, bytes, job.holes);
      return { ok: true, size: bytes.length };
    } catch (e) {
      return { ok: false, error: carryError(e) };
    }
  });
}
