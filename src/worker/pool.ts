/**
 * The one shape of xtar's worker pools (pack's compression, unpack's extraction): a fixed number of
 * threads, each handed TASKS_PER_WORKER tasks at once, with a capped young generation. Type-only
 * import of piscina: unpack loads it only when it starts its threads.
 */
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';

export type WorkerPoolOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;

/**
 * Tasks handed to each worker at once: while it works on one, the next already waits in its port,
 * so it never idles until the main thread gets round to answering (the main thread is often busy
 * writing the volume, or reading the archive).
 */
export const TASKS_PER_WORKER = 2;

/** Options for `threads` threads running `worker` (a URL of a compiled worker module). */
export function workerPoolOptions(worker: URL, threads: number, youngGenerationMb: number): WorkerPoolOptions {
  return {
    filename: fileURLToPath(worker),
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: TASKS_PER_WORKER,
    resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb },
    idleTimeout: 1000,
  };
}

