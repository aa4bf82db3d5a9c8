/**
 * The one shape of xtar's worker pools (pack's compression, unpack's extraction): a fixed number of
 * threads, each handed TASKS_PER_WORKER tasks at once, with a capped young generation. Type-only
 * import of piscina: unpack loads it only when it starts its threads.
 */
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
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

/**
 * Keep the main thread's young generation at its first size (1 MiB semi-spaces) instead of letting
 * it double up to 16 MiB: what a command allocates per file dies young or in the next full
 * collection, and a young generation grown to 48 MiB only raises peak RSS — by ~50 MiB on 500,000
 * tiny files, at the same CPU time. V8 raises this flag back to 2 whenever an isolate is made, so a
 * worker thread starting undoes it: the CLI calls this at startup and the pools (pack's, unpack's)
 * again as each of their threads comes online. Process-wide; the threads have their own caps (above).
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
