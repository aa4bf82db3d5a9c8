/**
 * Small files for unpack and verify, inflated, checked and written by worker threads while the main
 * thread reads on, each given its owner, mode and times as it is written when the structure record
 * has them (restore-by-catalog.ts); and, once every file is written, those of the files written
 * without them (apply-structure's FileMetaSink). The main thread still reads the archive and the records, checks every path and makes
 * every folder (Destination); a worker only writes the file, or sets the metadata, at a path it was
 * handed (src/worker/extract-worker.ts).
 *
 * The order of writes stays what the archive says wherever it could matter: a file is never queued
 * while a queued one has the same path, and no folder is made while a queued file stands at it or on
 * the way to it — in either case everything queued is finished first (settle). So an archive that
 * names a path twice, or a file and then a folder of the same name, ends as it did on one thread.
 */
import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { restoreError } from '../errors.js';
import { blobTask, metaTask, type BatchAnswer, type ExtractJob, type ExtractTask } from '../worker/extract-worker.js';
import { TASKS_PER_WORKER, workerPoolOptions } from '../worker/pool.js';
import type { Destination } from '../dest/destination.js';
import { FILE_META_FOUND, setFileMeta, type FileMeta, type FileMetaFound } from '../dest/file-meta.js';
import { checkSmallBlob } from '../format/blob-check.js';
import type { FileMetaSink } from './apply-structure.js';
import { finishSmallBlob, type ExtractedFile, type SmallBlob } from './extract.js';

/**
 * The threads are started only for archives at least this large (all volumes read, in bytes);
 * smaller restores are done on the main thread. Starting two threads costs ~20 ms of the main
 * thread and ~40 ms of CPU each, more than they save on a few thousand files.
 */
export const POOL_MIN_BYTES = 8 * 1024 * 1024;
/**
 * A batch is sent when it holds this many files or bytes (or at once while the workers are short of
 * work). Its blobs are copied into a buffer of BATCH_BYTES (or of one larger blob's size), shared
 * with the worker (no copy) and filled again once it has answered: memory fresh from the system costs
 * a page fault per 4 KiB, more than the copy itself. (V8 copies into shared memory word by word, ~5x
 * slower than memcpy; buffers moved to the worker and back instead were slower still overall: verify
 * of 100k files 7.3-7.7 s against 6.4-6.7 s.)
 */
const BATCH_FILES = 256;
const BATCH_BYTES = 512 * 1024;
/** Batch buffers queued and not yet answered, in bytes, at most (one more may go over): the main thread waits beyond. */
const MAX_BYTES_QUEUED = 8 * 1024 * 1024;
/**
 * Files queued and not yet answered, at most (one more batch may go over). What the main thread keeps
 * for each (its outcome, its job, its path) lives until the answer: with 2,048 tiny files queued it
 * outlived several scavenges and went to the old generation to die there, and V8 grew the old
 * generation with that rate. With 512 (two batches for each of two threads), on 500,000 tiny files:
 * unpack's peak RSS 235 → 206 MiB and verify's 196 → 182 MiB, the main thread's scavenges on TINY
 * ~900 → ~470 ms, the CPU time the same.
 */
const MAX_FILES_QUEUED = 512;
/**
 * A worker's young generation, in MiB. Its JavaScript garbage is small, but each file's bytes hang
 * from it, outside the heap, until a collection: a small young generation collects more often, and
 * the peak RSS of verify on SMALL is ~15 MiB lower than with 4 MiB (no slower).
 */
const WORKER_YOUNG_GENERATION_MB = 2;

/** What becomes of one queued blob: called when its worker answers (or at once, when done on this thread). */
export interface Outcome {
  done(f: ExtractedFile): void;
  /** Gets the error finishSmallBlob would have thrown for it on the main thread. */
  failed(e: unknown): void;
}

/** Where a job's answer goes: its value (see BatchAnswer), or its error. */
interface Answer {
  /** `metaSet`: a blob's metadata was set as it was written (BatchAnswer.metaSet). */
  done(value: number, metaSet: boolean): void;
  failed(error: unknown): void;
}

/** A batch of blobs (with the buffer that holds them), or of files whose metadata to set. */
type Batch = { keys: string[]; answers: Answer[] } & (
  | {
      kind: 'blobs';
      /** The batch's buffer (null until its first blob) and the bytes of it in use. */
      data: Buffer | null;
      bytes: number;
      jobs: ExtractJob[];
    }
  | { kind: 'meta'; jobs: string[]; metas: FileMeta[] }
);

type BlobBatch = Extract<Batch, { kind: 'blobs' }>;
type MetaBatch = Extract<Batch, { kind: 'meta' }>;

function newBatch(): BlobBatch {
  return { kind: 'blobs', data: null, bytes: 0, jobs: [], keys: [], answers: [] };
}

/** A path's key: its components joined with NUL, a byte no safe name holds. */
function keyOf(components: readonly string[]): string {
  return components.join('\0');
}

export class ExtractPool implements FileMetaSink {
  /** The threads, once startFor() started them (they boot in the background); null: all on this thread. */
  private starting: Promise<Piscina<ExtractTask, BatchAnswer>> | null = null;
  private pool: Piscina<ExtractTask, BatchAnswer> | null = null;
  /** The batch being gathered. */
  private gathering: Batch = newBatch();
  /** Batch buffers answered, to be filled again (no more than were ever queued at once). */
  private spare: Buffer[] = [];
  /** Paths of the files queued (gathered or sent) and not yet answered. */
  private readonly queued = new Set<string>();
  private bytesQueued = 0;
  private tasksInFlight = 0;
  /** Each sent batch until its answer is handled; never rejects. */
  private readonly running = new Set<Promise<void>>();
  private roomWaiters: (() => void)[] = [];
  /** An error that ends the run: a worker failed, or an outcome threw (a fatal I/O error). Thrown by add and settle. */
  private failure: { error: unknown } | null = null;
  /**
   * Whether a worker failed (it may never answer), not only an outcome (the workers still finish what
   * they hold, so that no file is left half written, and close() waits for them).
   */
  private broken = false;
  /** Settles when a worker failed: whatever waits for the workers stops waiting then (they may never answer). */
  private readonly failed: Promise<void>;
  private wakeOnFailure: () => void = () => undefined;
  private readonly threads: number;

  /** `dest` null only checks (verify). */
  constructor(
    private readonly dest: Destination | null,
    threads: number = availableParallelism(),
  ) {
    this.threads = Math.max(1, threads);
    this.failed = new Promise<void>((resolve) => (this.wakeOnFailure = resolve));
  }

  /**
   * Start the threads now, in the background (they boot while the records are read), if archives of
   * `archiveBytes` are worth them (POOL_MIN_BYTES); otherwise every blob is done on this thread.
   */
  startFor(archiveBytes: number): void {
    if (archiveBytes < POOL_MIN_BYTES || this.starting !== null) return;
    // A thread that fails outside a task (while it boots) is reported by an 'error' event.
    this.starting = startPool(this.threads).then((pool) => pool.on('error', (e: unknown) => this.fail(e)));
    // A failure to start is thrown by add(), which may come much later (or never): not unhandled meanwhile.
    this.starting.catch(() => undefined);
  }

  /**
   * Check and write a small blob: queued for a worker, or at once on this thread when the pool was
   * not started. Its outcome is told once known; errors of the blob itself go there, also when found
   * on this thread. Waits while too much is queued; throws only what ends the run (see `failure`).
   * `b.blob` is read before this returns (its caller reads nothing else meanwhile), not after.
   */
  async add(b: SmallBlob, outcome: Outcome): Promise<void> {
    this.throwIfFailed();
    if (this.starting === null) {
      let f: ExtractedFile;
      try {
        f = finishSmallBlob(b, this.dest);
      } catch (e) {
        outcome.failed(e);
        return;
      }
      outcome.done(f);
      return;
    }
    if (this.pool === null) this.pool = await this.starting;
    let abs: string | null = null;
    const key = keyOf(b.components);
    if (this.dest !== null) {
      if (this.blocksFile(key, b.components)) await this.settle();
      try {
        abs = this.dest.filePath(b.components);
      } catch (e) {
        // On one thread the blob was checked before its path: a damaged blob is reported as damaged.
        outcome.failed(damageOf(b) ?? e);
        return;
      }
    }
    this.gather(b, abs, key, outcome);
    // (No await per file while there is room.)
    if (this.full()) await this.waitForRoom();
  }

  /**
   * Set a restored file's metadata (FileMetaSink): queued for a worker, or at once on this thread when
   * the pool was not started. Waits while too much is queued; throws only what ends the run.
   */
  async setFileMeta(components: readonly string[], abs: string, meta: FileMeta, settled: (r: FileMetaFound | { error: unknown }) => void): Promise<void> {
    this.throwIfFailed();
    if (this.starting === null) {
      let r: FileMetaFound | { error: unknown };
      try {
        r = setFileMeta(abs, meta);
      } catch (error) {
        r = { error };
      }
      settled(r);
      return;
    }
    this.pool ??= await this.starting;
    const key = keyOf(components);
    if (this.queued.has(key)) await this.settle();
    let g = this.gathering;
    if (g.kind !== 'meta' || g.jobs.length >= BATCH_FILES) {
      this.flush();
      const fresh: MetaBatch = { kind: 'meta', jobs: [], metas: [], keys: [], answers: [] };
      g = this.gathering = fresh;
    }
    g.jobs.push(abs);
    g.metas.push(meta);
    g.answers.push({ done: (code) => settled(FILE_META_FOUND[code] as FileMetaFound), failed: (error) => settled({ error }) });
    g.keys.push(key);
    this.queued.add(key);
    if (this.tasksInFlight < this.threads * TASKS_PER_WORKER) this.flush();
    await this.waitForRoom();
  }

  /** Whether too much is queued: the main thread waits (waitForRoom). */
  private full(): boolean {
    return (this.bytesQueued > MAX_BYTES_QUEUED || this.queued.size > MAX_FILES_QUEUED) && this.running.size + this.gathering.jobs.length > 0;
  }

  /** Wait while too much is queued (the workers answer meanwhile); throws what ends the run. */
  private async waitForRoom(): Promise<void> {
    while (this.full()) {
      this.flush();
      await Promise.race([new Promise<void>((resolve) => this.roomWaiters.push(resolve)), this.failed]);
      this.throwIfFailed();
    }
    this.throwIfFailed();
  }

  /** Before this thread makes the folder at `components`: wait for the queued files it could meet. */
  async clearWayForDir(components: readonly string[]): Promise<void> {
    if (this.blocksDir(components)) await this.settle();
  }

  /** Before this thread writes a file at `components` (a large one, streamed): wait for the queued files it could meet. */
  async clearWayForFile(components: readonly string[]): Promise<void> {
    if (this.blocksFile(keyOf(components), components)) await this.settle();
  }

  /** Finish everything queued: every outcome has been told when this returns. */
  async settle(): Promise<void> {
    this.flush();
    await this.drain();
    this.throwIfFailed();
  }

  /**
   * Stop the threads, after the batches they hold are finished (so no file is left half written) —
   * unless a worker failed: then at once, as a thread that failed to boot would never answer.
   */
  async close(): Promise<void> {
    await this.drain();
    // (Threads that failed to start have nothing to stop; add() reported why.)
    const pool = this.pool ?? (await this.starting?.catch(() => null));
    this.starting = null;
    this.pool = null;
    await pool?.destroy();
  }

  /** Wait until every sent batch is answered, or the run has failed (a failed thread may never answer). */
  private async drain(): Promise<void> {
    while (this.running.size > 0 && !this.broken) await Promise.race([Promise.all(this.running), this.failed]);
  }

  /** Whether writing a file at `components` could meet a queued file: one at the same path, or where a folder on its way is still to be made. */
  private blocksFile(key: string, components: readonly string[]): boolean {
    if (this.queued.size === 0) return false;
    return this.queued.has(key) || this.blocksDir(components.slice(0, -1));
  }

  /**
   * Whether making the folder at `components` could meet a queued file: one at it or at a folder
   * above it. A folder this run already made or checked is not made again (a file queued at it will
   * find the folder, as it would have on one thread).
   */
  private blocksDir(components: readonly string[]): boolean {
    if (this.queued.size === 0 || this.dest === null || this.dest.knowsDir(components)) return false;
    for (let i = 1; i <= components.length; i++) if (this.queued.has(keyOf(components.slice(0, i)))) return true;
    return false;
  }

  private gather(b: SmallBlob, abs: string | null, key: string, outcome: Outcome): void {
    const { blob } = b;
    let g = this.gathering;
    if (g.kind !== 'blobs' || (g.data !== null && (g.jobs.length >= BATCH_FILES || g.bytes + blob.length > g.data.length))) {
      this.flush();
      g = this.gathering = newBatch();
    }
    if (g.data === null) {
      g.data = blob.length > BATCH_BYTES ? sharedBuffer(blob.length) : (this.spare.pop() ?? sharedBuffer(BATCH_BYTES));
      this.bytesQueued += g.data.length;
    }
    // The blob is a view into the reader's window: copied, it is the batch's own.
    blob.copy(g.data, g.bytes);
    g.jobs.push({ start: g.bytes, end: g.bytes + blob.length, abs, shown: b.shown, sha256: b.sha256, holes: b.holes, keep: b.keep, meta: abs === null ? null : b.meta });
    const name = b.components[b.components.length - 1] as string;
    g.answers.push({ done: (size, metaSet) => outcome.done({ name, size, metaSet }), failed: (error) => outcome.failed(error) });
    g.keys.push(key);
    g.bytes += blob.length;
    this.queued.add(key);
    if (this.tasksInFlight < this.threads * TASKS_PER_WORKER) this.flush();
  }

  /** Send the batch being gathered to a worker: a batch of blobs shares its buffer, not copied. */
  private flush(): void {
    const batch = this.gathering;
    // Once the run has failed nothing more is sent: what the workers hold they finish.
    if (batch.jobs.length === 0 || this.pool === null || this.failure !== null) return;
    const data = batch.kind === 'blobs' ? batch.data : null;
    this.gathering = newBatch();
    this.tasksInFlight++;
    const task = batch.kind === 'meta' ? metaTask(batch.jobs, batch.metas) : blobTask(data as Buffer, batch.jobs, this.dest?.tmpTag ?? '');
    const answered = this.pool.run(task).then(
      (results) => {
        // The worker is done with the buffer: fill it again.
        if (data?.length === BATCH_BYTES) this.spare.push(data);
        this.tell(batch, results);
      },
      (e: unknown) => {
        this.fail(e);
      },
    );
    const done = answered.then(() => {
      this.running.delete(done);
      this.tasksInFlight--;
      for (const k of batch.keys) this.queued.delete(k);
      this.bytesQueued -= data?.length ?? 0;
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const wake of waiters) wake();
      if (this.tasksInFlight < this.threads * TASKS_PER_WORKER) this.flush();
    });
    this.running.add(done);
  }

  private tell(batch: Batch, answer: BatchAnswer): void {
    const failed = new Map(answer.errors.map((f) => [f.index, f.error]));
    batch.answers.forEach((a, i) => {
      try {
        const error = failed.get(i);
        if (error !== undefined) a.failed(restoreError(error));
        else a.done(answer.values[i] as number, answer.metaSet?.[i] === 1);
      } catch (e) {
        this.fail(e, false);
      }
    });
  }

  /** The run ends with `e`; `broken`: a worker failed (see `broken`). */
  private fail(e: unknown, broken = true): void {
    this.failure ??= { error: e };
    if (!broken) return;
    this.broken = true;
    this.wakeOnFailure();
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure.error;
  }
}

/** The error checking a blob throws, if any. */
function damageOf(b: SmallBlob): unknown {
  try {
    checkSmallBlob(b.blob, b.shown, b.sha256);
    return undefined;
  } catch (e) {
    return e;
  }
}

/** Memory the main thread and a worker both see: a batch's blobs reach the worker without a copy. */
function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

async function startPool(threads: number): Promise<Piscina<ExtractTask, BatchAnswer>> {
  const { Piscina } = await import('piscina');
  const pool = new Piscina<ExtractTask, BatchAnswer>(workerPoolOptions(new URL('../worker/extract-worker.js', import.meta.url), threads, WORKER_YOUNG_GENERATION_MB));
  return pool;
}
