/**
 * The extraction pool's entry: a worker thread takes a batch of small zip blobs, inflates and checks
 * each (size, CRC-32, the catalog's sha256) and writes it to the path the main thread checked and
 * made the folder for (src/unpack/extract-pool.ts); or a batch of restored files whose owner, mode
 * and times to set (apply-structure). Reading the archive and the records, path checks and folders
 * are the main thread's job.
 */
import { carryError, type CarriedError } from '../errors.js';
import { setFileMeta, type FileMeta, type FileMetaFound } from '../unpack/apply-structure.js';
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

/** A restored file whose metadata to set (setFileMeta), at a path the main thread checked. */
export interface MetaJob {
  abs: string;
  meta: FileMeta;
}

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
  | { kind: 'meta'; jobs: MetaJob[] };

/** One job's outcome: the file's size (or what setFileMeta found), or the error the main thread would have met. */
export type ExtractJobResult = { ok: true; size: number } | { ok: false; error: CarriedError };
export type MetaJobResult = { ok: true; found: FileMetaFound } | { ok: false; error: CarriedError };

export default function run(task: ExtractTask): ExtractJobResult[] | MetaJobResult[] {
  if (task.kind === 'meta') {
    return task.jobs.map((job): MetaJobResult => {
      try {
        return { ok: true, found: setFileMeta(job.abs, job.meta) };
      } catch (e) {
        return { ok: false, error: carryError(e) };
      }
    });
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
