/**
 * The main thread's young generation held to a few MiB, as `node --max-semi-space-size=N` would, for
 * every way xtar is started (the installed bin, `npx`, npm's Windows shims), where node's own command
 * line is out of reach.
 *
 * V8 reads --max-semi-space-size only when the heap is made, so setting it at run time does nothing;
 * but it reads --semi-space-growth-factor each time a scavenge grows the young generation. So the
 * young generation starts as usual (1 MiB semi-spaces, doubling when much survives), and once a
 * garbage collection has left it at the cap, growing stops. Pack's main thread allocates fast enough
 * to grow it to V8's default 16 MiB semi-spaces (48 MiB with the third), which cost 25–40 MiB of peak
 * RSS on a 200,000-file tree and nothing measurable in CPU when held to 4 MiB.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/** The semi-space size the cap holds (MiB): the figure measured against V8's default of 16. */
export const SEMI_SPACE_CAP_MB = 4;

/** New space's size (both semi-spaces), in bytes. */
function newSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/** True when node was given a young-generation size of its own (NODE_OPTIONS or node's command line). */
function sizedByUser(): boolean {
  return /semi-space/.test(`${process.execArgv.join(' ')} ${process.env['NODE_OPTIONS'] ?? ''}`);
}

/**
 * Stops the young generation's growth once it reaches `semiSpaceMb` MiB semi-spaces. Checked after
 * each garbage collection (the observer runs between tasks, so a long synchronous stretch can still
 * see one doubling). The flag is set once at the cap, and again only when the young generation was
 * seen past it: V8 puts the growth factor back to its default whenever an isolate is made, so a new
 * worker thread undoes it. (Flags are set as rarely as that because each setting invalidates what V8
 * keyed on them.) Does nothing when the user sized the young generation themselves.
 */
export function capYoungGeneration(semiSpaceMb = SEMI_SPACE_CAP_MB): void {
  if (sizedByUser()) return;
  const cap = 2 * semiSpaceMb * 1024 * 1024;
  let setAt = 0;
  new PerformanceObserver(() => {
    const size = newSpaceBytes();
    if (size < cap || size <= setAt) return;
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    setAt = size;
  }).observe({ entryTypes: ['gc'] });
}
