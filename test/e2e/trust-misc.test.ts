/**
 * Issue 14 ("Trust"), the smaller findings end to end: a set inside its source is left out of the
 * backup with a note; a socket is a skipped file (exit 1); a lock naming a pid that now runs another
 * program is taken over; a reader that closes stdout early ends nothing badly; a destination that
 * cannot be made ends unpack in one sentence.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CLI, xtar, type CliResult } from '../helpers/cli.js';
import { processStart } from '../../src/set/lock.js';
import { isRoot, removeTree, tempDir } from '../helpers/tree.js';

const sample = new URL('../../../fixtures/sample', import.meta.url).pathname;

/** Run xtar with its stdout's reader gone before the first line (as `| head -0` would): status and stderr. */
function xtarReaderGone(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ status: code ?? (signal ? 128 : 1), stdout: '', stderr }));
  });
}

describe('trust: the set inside its source, sockets', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('--out inside SRC: the set is left out (a user folder of its name is not), said once, exit 0; --json and --dry-run too', async () => {
    const src = join(work, 'home');
    const set = join(src, 'backup');
    await mkdir(join(src, 'docs/backup'), { recursive: true });
    await writeFile(join(src, 'a.txt'), 'a');
    await writeFile(join(src, 'docs/backup/b.txt'), 'b');
    const note = `xtar: note: the set ${set} is inside ${src} and is left out of the backup\n`;
    const first = await xtar(['pack', src, '--out', set]);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stderr, note);
    // The second run would meet the first one's volumes, index and log: still nothing of the set, nothing changed.
    const second = await xtar(['pack', src, '--out', set, '--json']);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stderr, note);
    const json = JSON.parse(second.stdout) as { nothingChanged?: boolean };
    assert.equal(json.nothingChanged, true, second.stdout);
    await writeFile(join(src, 'c.txt'), 'c');
    const third = await xtar(['pack', src, '--out', set, '--json']);
    assert.equal(third.status, 0, third.stderr);
    const made = JSON.parse(third.stdout) as { ignored: { path: string; reason: string }[]; skipped: unknown[]; changed: unknown[] };
    assert.deepEqual(made.ignored, [{ path: 'home/backup', reason: `the set ${set} is inside ${src} and is left out of the backup` }]);
    assert.deepEqual([made.skipped, made.changed], [[], []]);
    const list = await xtar(['list', set, '--files']);
    const files = list.stdout.split('\n').filter((l) => /^\s+\d+\s/.test(l)).map((l) => l.trim().split(/\s+/)[1]);
    assert.deepEqual([...new Set(files)].sort(), ['home/a.txt', 'home/c.txt', 'home/docs/backup/b.txt']);
    const dry = await xtar(['pack', src, '--out', set, '--dry-run']);
    assert.equal(dry.status, 0, dry.stderr);
    assert.equal(dry.stderr, note);
  });

  it('a socket alone is a skipped file: listed, exit 1', async () => {
    const src = join(work, 'sock-src');
    await mkdir(src);
    await writeFile(join(src, 'kept'), 'kept');
    const server = createServer();
    await new Promise<void>((ok) => server.listen(join(src, 'sock'), ok));
    try {
      const r = await xtar(['pack', src, '--out', join(work, 'sock-set'), '--quiet']);
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr, 'xtar: sock-src/sock: a socket cannot be stored\n');
    } finally {
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });
});

describe('trust: the set lock', { skip: existsSync('/proc/self/stat') ? false : 'needs /proc' }, () => {
  let work: string;
  let set: string;
  let sleeper: ChildProcess;
  before(async () => {
    work = await tempDir();
    set = join(work, 'set');
    sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    await new Promise<void>((ok, fail) => sleeper.once('spawn', ok).once('error', fail));
    const first = await xtar(['pack', sample, '--out', set, '--quiet']);
    assert.equal(first.status, 0, first.stderr);
  });
  after(async () => {
    sleeper.kill();
    await removeTree(work);
  });

  it('a lock naming a live pid that is another program now (another start time) is taken over', async () => {
    const pid = sleeper.pid as number;
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    await writeFile(join(set, 'xtar.lock'), `${pid} ${BigInt(processStart(pid) ?? 0) + 7n} ${boot}\n`);
    const r = await xtar(['pack', sample, '--out', set, '--quiet', '--mode', 'full']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(existsSync(join(set, 'xtar.lock')), false);
  });

  it('a lock naming the live process that wrote it (its start time right) makes pack end: exit 2, one sentence', async () => {
    const pid = sleeper.pid as number;
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    await writeFile(join(set, 'xtar.lock'), `${pid} ${processStart(pid)} ${boot}\n`);
    const r = await xtar(['pack', sample, '--out', set, '--quiet', '--mode', 'full']);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `xtar: Another xtar (pid ${pid}) is writing to ${set}; wait for it to finish.\n`);
  });
});

describe('trust: a reader that closes stdout early (EPIPE)', () => {
  let work: string;
  let set: string;
  before(async () => {
    work = await tempDir();
    set = join(work, 'set');
  });
  after(async () => {
    await removeTree(work);
  });

  it('pack finishes its backup: exit 0, nothing on stderr, the set verifies and holds no partial volume', async () => {
    const r = await xtarReaderGone(['pack', sample, '--out', set]);
    assert.deepEqual([r.status, r.stderr], [0, '']);
    const again = await xtarReaderGone(['pack', sample, '--out', set, '--mode', 'full', '--json']);
    assert.deepEqual([again.status, again.stderr], [0, '']);
    const names = await readdir(set);
    assert.deepEqual(names.filter((n) => n.startsWith('.partial')), []);
    assert.equal(names.filter((n) => /-vol\d+$/.test(n)).length, 2);
    const v = await xtar(['verify', set, '--quiet']);
    assert.equal(v.status, 0, v.stderr);
  });

  it('list --files and verify end quietly with exit 0, no stack trace', async () => {
    for (const args of [['list', set, '--files'], ['list', set, '--json'], ['verify', set]]) {
      const r = await xtarReaderGone(args);
      assert.deepEqual([r.status, r.stderr], [0, ''], args.join(' '));
    }
  });
});

describe('trust: a destination that cannot be made', () => {
  let work: string;
  let set: string;
  let ro: string | null = null;
  before(async () => {
    work = await tempDir();
    set = join(work, 'set');
    const p = await xtar(['pack', sample, '--out', set, '--quiet']);
    assert.equal(p.status, 0, p.stderr);
  });
  after(async () => {
    if (ro !== null) execFileSync('umount', [ro]);
    await removeTree(work);
  });

  it('on a read-only mount: exit 2, one sentence naming the destination and why, not a line per file', { skip: isRoot ? false : 'mounting needs root' }, async () => {
    const mnt = join(work, 'ro');
    await mkdir(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mnt]);
    ro = mnt;
    const dest = join(mnt, 'missing', 'out');
    const r = await xtar(['unpack', set, '--dest', dest]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `xtar: Cannot create the destination ${dest}: the file system is read-only (${mnt}).\n`);
  });

  it('under a file: exit 2, one sentence naming the file in the way', async () => {
    const file = join(work, 'a-file');
    await writeFile(file, 'x');
    const dest = join(file, 'out');
    const r = await xtar(['unpack', set, '--dest', dest]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `xtar: Cannot create the destination ${dest}: a file is in the way of a folder (${file}).\n`);
  });
});
