/**
 * The set's lock names its writer by pid, start time and boot, so a pid reused by another program
 * after a crash does not block the set forever; an old lock (pid alone) holds only while an xtar runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SetBusyError } from '../../src/errors.js';
import { LOCK_FILE, lockSet, parseLockOwner, processStart } from '../../src/set/lock.js';
import { CLI } from '../helpers/cli.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const hasProc = existsSync('/proc/self/stat');

/** A process that lives until killed; `args` end up in its command line. */
async function live(cmd: string, args: readonly string[]): Promise<ChildProcess & { pid: number }> {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  await new Promise<void>((ok, fail) => child.once('spawn', ok).once('error', fail));
  return child as ChildProcess & { pid: number };
}

describe('lockSet', { skip: hasProc ? false : 'needs /proc' }, () => {
  let set: string;
  let sleeper: ChildProcess & { pid: number };
  let fakeXtar: ChildProcess & { pid: number };
  let boot: string;
  before(async () => {
    set = await tempDir();
    sleeper = await live('sleep', ['30']);
    // A node whose command line names xtar's main.js, as a running xtar's does.
    fakeXtar = await live(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', CLI]);
    boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  });
  after(async () => {
    sleeper.kill();
    fakeXtar.kill();
    await removeTree(set);
  });

  const lockWith = (text: string): Promise<void> => writeFile(join(set, LOCK_FILE), text);

  it('writes its pid, start time and boot id, and removes the lock when released', async () => {
    const unlock = await lockSet(set);
    const owner = parseLockOwner(await readFile(join(set, LOCK_FILE), 'utf8'));
    assert.deepEqual(owner, { pid: process.pid, start: processStart(process.pid), boot });
    await unlock();
    assert.equal(existsSync(join(set, LOCK_FILE)), false);
  });

  it('takes over a lock whose pid now runs another program (another start time)', async () => {
    const start = processStart(sleeper.pid);
    assert.ok(start !== null);
    await lockWith(`${sleeper.pid} ${BigInt(start) - 1n} ${boot}\n`);
    const unlock = await lockSet(set);
    assert.equal(parseLockOwner(await readFile(join(set, LOCK_FILE), 'utf8'))?.pid, process.pid);
    await unlock();
  });

  it('takes over a lock written before the last boot', async () => {
    await lockWith(`${sleeper.pid} ${processStart(sleeper.pid)} not-this-boot\n`);
    await (await lockSet(set))();
  });

  it('is busy while the process the lock names runs (same pid, start time and boot)', async () => {
    await lockWith(`${sleeper.pid} ${processStart(sleeper.pid)} ${boot}\n`);
    await assert.rejects(lockSet(set), (e: unknown) => e instanceof SetBusyError && e.message.includes(`pid ${sleeper.pid}`));
  });

  it('an old lock (pid alone) holds while that pid runs xtar, and is taken over when it runs anything else', async () => {
    await lockWith(`${fakeXtar.pid}\n`);
    await assert.rejects(lockSet(set), SetBusyError);
    await lockWith(`${sleeper.pid}\n`);
    await (await lockSet(set))();
  });
});
