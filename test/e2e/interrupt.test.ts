/**
 * Writing a volume is atomic: an interrupted pack (SIGINT, or kill -9) never leaves a folder that
 * looks like a complete volume, and says so.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, xtar } from '../helpers/cli.js';
import { killMidPack, type MidPackKill } from '../helpers/kill.js';
import { removeTree, seededText, tempDir } from '../helpers/tree.js';

/** A set folder's entries other than its own bookkeeping (marker, index, log, a stale lock). */
async function backupEntries(set: string): Promise<string[]> {
  return (await readdir(set)).filter((n) => !/^xtar(-set\.json|-index\.sqlite(-journal)?|\.log|\.lock)$/.test(n));
}

/**
 * Start a pack, wait until its partial folder exists while it still runs (so it is mid-pack: see
 * killMidPack, which fails if the pack was not), then send `signal`.
 */
async function packUntil(src: string, set: string, signal: NodeJS.Signals, extra: string[] = []): Promise<MidPackKill & { stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'pack', src, '--out', set, '--jobs', '1', '--level', '9', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const r = await killMidPack(child, set, signal, { afterMs: 50, what: `pack with ${signal}` });
  return { ...r, stderr };
}

describe('interrupted pack', () => {
  let work: string;
  let src: string;

  before(async () => {
    work = await tempDir();
    src = join(work, 'src');
    await mkdir(src);
    // Compressible data at level 9 is slow enough that the signal lands mid-pack.
    for (let i = 0; i < 120; i++) await writeFile(join(src, `f${String(i).padStart(3, '0')}.txt`), seededText(i, 1024 * 1024));
  });
  after(async () => {
    await removeTree(work);
  });

  it('SIGINT: exit 130, the partial volume is removed, nothing looks complete', async () => {
    const set = join(work, 'set-int');
    const r = await packUntil(src, set, 'SIGINT');
    assert.ok(r.partialAtKill.length > 0, 'the signal landed mid-pack');
    assert.equal(r.status, 130, r.stderr);
    assert.match(r.stderr, /Interrupted by SIGINT; the volumes being written were removed\./);
    assert.deepEqual(await backupEntries(set), []);
  });

  it('SIGINT during a multi-volume pack: no volume of the backup appears, not even finished ones', async () => {
    const set = join(work, 'set-int-vol');
    const r = await packUntil(src, set, 'SIGINT', ['--volume-size', '2MB']);
    assert.ok(r.partialAtKill.length > 0, 'the signal landed mid-pack');
    assert.equal(r.status, 130, r.stderr);
    assert.deepEqual(await backupEntries(set), []);
  });

  it('kill -9: at most a .partial- folder remains, and unpack does not take it for a volume', async () => {
    const set = join(work, 'set-kill');
    const r = await packUntil(src, set, 'SIGKILL');
    // Died by the signal mid-pack (killMidPack saw a partial folder and the pack still running).
    assert.equal(r.signal, 'SIGKILL', `status ${r.status}: ${r.stderr}`);
    assert.equal(r.status, null);
    assert.ok(r.partialAtKill.length > 0);
    const names = await backupEntries(set);
    assert.ok(names.every((n) => n.startsWith('.partial-')), `only partial folders: ${names.join(', ')}`);
    const un = await xtar(['unpack', set, '--dest', join(work, 'out')]);
    assert.equal(un.status, 2);
    assert.match(un.stderr, /set-kill is an xtar set with no complete volume\./);
  });
});
