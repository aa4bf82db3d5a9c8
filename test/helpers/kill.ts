/**
 * Kill a pack mid-pack, and prove it: wait (bounded) until the pack has made its partial folder in
 * the set (PARTIAL_PREFIX: its work folder or a volume being written) while the process still runs,
 * then send the signal. Fails, rather than passing quietly, if the pack exited before the signal or
 * never got that far, so a test built on it cannot pass with a kill that landed before or after.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { PARTIAL_PREFIX } from '../../src/format/layout.js';

export interface MidPackKill {
  /** How the process ended: exit status (null when a signal ended it) and the signal. */
  status: number | null;
  signal: NodeJS.Signals | null;
  /** The set's partial entries seen just before the signal was sent (never empty). */
  partialAtKill: string[];
}

async function partials(set: string): Promise<string[]> {
  return (await readdir(set).catch(() => [] as string[])).filter((n) => n.startsWith(PARTIAL_PREFIX)).sort();
}

const running = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

/**
 * `child` must have just been spawned (its exit is watched from here). Waits up to `timeoutMs` for a
 * partial folder, then `afterMs` more, checks again that the pack still runs with a partial present,
 * sends `signal` and waits for the process to end.
 */
export async function killMidPack(child: ChildProcess, set: string, signal: NodeJS.Signals, opts: { afterMs?: number; timeoutMs?: number; what?: string } = {}): Promise<MidPackKill> {
  const what = opts.what ?? 'pack';
  const ended = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (status, sig) => resolve({ status, signal: sig })));
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while ((await partials(set)).length === 0) {
    assert.ok(running(child), `${what}: the process exited (status ${child.exitCode}) before any ${PARTIAL_PREFIX} folder appeared: the kill would not land mid-pack`);
    assert.ok(Date.now() < deadline, `${what}: no ${PARTIAL_PREFIX} folder in ${set} after ${opts.timeoutMs ?? 30_000} ms`);
    await sleep(5);
  }
  if (opts.afterMs) await sleep(opts.afterMs);
  const partialAtKill = await partials(set);
  assert.ok(running(child), `${what}: the pack finished before the signal (${opts.afterMs ?? 0} ms after its partial folder appeared): make it slower or the delay shorter`);
  assert.ok(partialAtKill.length > 0, `${what}: no ${PARTIAL_PREFIX} folder left at the moment of the signal`);
  child.kill(signal);
  return { ...(await ended), partialAtKill };
}
