/**
 * How far V8 lets an isolate's old generation grow past what its last full collection left alive,
 * held to 2× (`--heap-growing-percent=100`) for every way xtar is started, where node's own command
 * line is out of reach.
 *
 * V8 sets the next full collection's limit from the live size times a factor it picks from how fast
 * the program allocates against how fast it collects: up to 4× on a machine with this much memory.
 * Unpack and verify promote what each queued file keeps (its outcome, its job, its path) into the old
 * generation, where it dies: with ~15-20 MB alive on the main thread, a run long enough for the factor
 * to climb grew the old generation to ~60 MB where a short one stayed near 40, so peak RSS grew with
 * the file count (unpack of 500,000 tiny files 235 MiB against ~180 at 50,000). Held at 2×, the main
 * thread's committed heap stays at ~40-48 MB however long the run. V8 reads the flag after every full
 * collection, so setting it at run time works (unlike --max-old-space-size, read when the heap is made),
 * and it holds for the worker threads' isolates too.
 */
import v8 from 'node:v8';

/** The percent the old generation may grow past its live size before the next full collection. */
export const HEAP_GROWING_PERCENT = 100;

/**
 * The flag to set, or null when the user sized or paced the old generation themselves (node's
 * command line or NODE_OPTIONS: --heap-growing-percent, --max-old-space-size, --max-heap-size).
 */
export function heapGrowthFlag(execArgv: readonly string[], nodeOptions: string): string | null {
  const given = `${execArgv.join(' ')} ${nodeOptions}`;
  if (/--(heap[-_]growing[-_]percent|max[-_]old[-_]space[-_]size|max[-_]heap[-_]size)\b/.test(given)) return null;
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/** Holds the old generation's growth (see above) unless the user chose it; says which flag it set, if any. */
export function capOldGenerationGrowth(): string | null {
  const flag = heapGrowthFlag(process.execArgv, process.env['NODE_OPTIONS'] ?? '');
  if (flag !== null) v8.setFlagsFromString(flag);
  return flag;
}
