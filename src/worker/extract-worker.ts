/**
 * The extraction pool's entry: a worker thread takes a batch of small zip blobs, inflates and checks
 * each (size, CRC-32, the catalog's sha256) and writes it to the path the main thread checked and
 * made the folder for (src/unpack/extract-pool.ts). Reading the archive, path checks and folders are
 * the main thread's job.
 */
import { carryError, type CarriedError } from '../errors.js';
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

export interface ExtractTask {
  /**
   * Every blob of the batch, one after the other, in memory shared with the main thread (it may be
   * longer than they are). The main thread fills it again only once this task has answered.
   */
  data: Uint8Array;
  jobs: ExtractJob[];
}

/** One job's outcome: the file's size, or the error finishSmallBlob would have thrown. */
export type ExtractJobResult = { ok: true; size: number } | { ok: false; error: CarriedError };

export default function run(task: ExtractTask): ExtractJobResult[] {
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
