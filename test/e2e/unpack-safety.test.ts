/**
 * Unpack never leaves a lie on disk: a full destination, SIGINT and kill -9 leave no file cut short
 * under its real name and no temporary file (a re-run removes a killed run's), and the failure is
 * named as the destination's. Files already in the destination follow the policy chosen
 * (--overwrite, --keep-old-files, --keep-newer-files), and --dry-run writes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, xtar } from '../helpers/cli.js';
import { diffSnapshots, isRoot, removeTree, seededBytes, seededText, snapshot, tempDir } from '../helpers/tree.js';

const TMP = /^\.xtar-tmp/;

/** Every path below `root` whose name looks like a temporary file. */
async function temporaries(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      if (TMP.test(n)) found.push(p);
      else if ((await stat(p).catch(() => null))?.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return found;
}

/** Each regular file under `dest/name` that is not byte for byte the one under `src`: a lie on disk. */
async function wrongFiles(src: string, restored: string): Promise<string[]> {
  const wrong: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const n of await readdir(join(restored, rel))) {
      if (TMP.test(n)) continue;
      const r = join(rel, n);
      const st = await stat(join(restored, r));
      if (st.isDirectory()) await walk(r);
      else if (!(await readFile(join(src, r))).equals(await readFile(join(restored, r)))) wrong.push(r);
    }
  };
  await walk('.');
  return wrong;
}

/** Start an unpack; once `ready` says so (polled every few ms), send `signal`. Its status and stderr, and what `ready` last saw. */
async function unpackUntil(args: string[], ready: () => Promise<boolean>, signal: NodeJS.Signals): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string; landed: boolean }> {
  const child = spawn(process.execPath, [CLI, 'unpack', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let exited = false;
  const closed = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (status, sig) => ((exited = true), resolve({ status, signal: sig }))));
  let landed = false;
  const deadline = Date.now() + 60_000;
  while (!exited && Date.now() < deadline) {
    if (await ready()) {
      landed = !exited && child.kill(signal);
      break;
    }
    await new Promise((r) => setTimeout(r, 3));
  }
  const end = await closed;
  return { ...end, stderr, landed };
}

describe('unpack safety', () => {
  let work: string;
  let src: string;
  let set: string;

  before(async () => {
    work = await tempDir();
    src = join(work, 'src');
    // Many small files (so the worker pool runs), then one large compressible file streamed at the end.
    await mkdir(join(src, 'a'), { recursive: true });
    await mkdir(join(src, 'b'), { recursive: true });
    for (let i = 0; i < 400; i++) await writeFile(join(src, 'a', `f${String(i).padStart(3, '0')}`), seededBytes(i, 30_000));
    await writeFile(join(src, 'b', 'big'), seededText(7, 64 * 1024 * 1024));
    set = join(work, 'set');
    const r = await xtar(['pack', src, '--out', set, '-q']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await removeTree(work);
  });

  describe('a full destination (a 2 MiB tmpfs)', () => {
    const mounts: string[] = [];
    /** A fresh 2 MiB tmpfs, or null when one cannot be mounted (not root). */
    function smallDisk(name: string): string | null {
      if (!isRoot) return null;
      const dir = join(work, name);
      execFileSync('mkdir', ['-p', dir]);
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
      } catch {
        return null;
      }
      mounts.push(dir);
      return dir;
    }
    after(() => {
      for (const m of mounts) execFileSync('umount', [m]);
    });

    it('small files: exit 2 naming the destination and the files not written; nothing cut short or temporary stands', async (t) => {
      const disk = smallDisk('disk-small');
      if (disk === null) return t.skip('cannot mount a tmpfs here');
      const dest = join(disk, 'out');
      const r = await xtar(['unpack', set, 'src/a', '--dest', dest, '-q']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`Cannot write to the destination ${dest}: the disk is full\\. (\\d+) file\\(s\\) could not be written`));
      const notWritten = Number(/(\d+) file\(s\) could not be written/.exec(r.stderr)?.[1]);
      assert.ok(notWritten > 0);
      assert.equal(r.stderr.match(/: cannot write the file: the disk is full$/gm)?.length, notWritten, r.stderr);
      assert.doesNotMatch(r.stderr, /damaged/);
      assert.deepEqual(await temporaries(dest), []);
      assert.deepEqual(await wrongFiles(join(src), join(dest, 'src')), []);
    });

    it('a large file: the destination is blamed, not the archive; nothing cut short or temporary stands', async (t) => {
      const disk = smallDisk('disk-big');
      if (disk === null) return t.skip('cannot mount a tmpfs here');
      const dest = join(disk, 'out');
      const r = await xtar(['unpack', set, 'src/b', '--dest', dest, '-q']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /src\/b\/big: cannot write the file: the disk is full/);
      assert.match(r.stderr, new RegExp(`Cannot write to the destination ${dest}: the disk is full\\. 1 file\\(s\\) could not be written`));
      assert.doesNotMatch(r.stderr, /damaged/);
      assert.deepEqual(await temporaries(dest), []);
      assert.deepEqual(await readdir(join(dest, 'src', 'b')), []);
    });
  });

  it('SIGINT while a large file is written: exit 130, one sentence, no temporary file; a re-run restores everything', async () => {
    const dest = join(work, 'out-int');
    const r = await unpackUntil(['--dest', dest, set, '-q'], async () => (await temporaries(join(dest, 'src', 'b'))).length > 0, 'SIGINT');
    assert.ok(r.landed, 'the signal landed while the large file was being written');
    assert.equal(r.status, 130, r.stderr);
    assert.equal(r.stderr, 'xtar: Interrupted by SIGINT; the files restored so far are whole, the rest were not written, and no temporary file was left.\n');
    assert.deepEqual(await temporaries(dest), []);
    assert.deepEqual(await wrongFiles(src, join(dest, 'src')), []);
    const again = await xtar(['unpack', set, '--dest', dest, '-q']);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'src'))), []);
  });

  it('SIGTERM among the small files: exit 130, nothing cut short, no temporary file', async () => {
    const dest = join(work, 'out-term');
    const r = await unpackUntil(['--dest', dest, set, '-q'], async () => (await readdir(join(dest, 'src', 'a')).catch(() => [])).length >= 20, 'SIGTERM');
    assert.ok(r.landed, 'the signal landed mid-unpack');
    assert.equal(r.status, 130, r.stderr);
    assert.match(r.stderr, /^xtar: Interrupted by SIGTERM; /);
    assert.deepEqual(await temporaries(dest), []);
    assert.deepEqual(await wrongFiles(src, join(dest, 'src')), []);
  });

  it('kill -9 mid-file: the re-run removes the temporary file left and restores the tree', async () => {
    const dest = join(work, 'out-kill');
    const r = await unpackUntil(['--dest', dest, set, '-q'], async () => (await temporaries(join(dest, 'src', 'b'))).length > 0, 'SIGKILL');
    assert.ok(r.landed, 'the kill landed while the large file was being written');
    assert.equal(r.signal, 'SIGKILL');
    assert.ok((await temporaries(dest)).length > 0, 'the killed run left its temporary file');
    assert.deepEqual(await wrongFiles(src, join(dest, 'src')), []);
    const again = await xtar(['unpack', set, '--dest', dest, '-q']);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(await temporaries(dest), []);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'src'))), []);
  });
});

describe('files already in the destination', () => {
  let work: string;
  let set: string;
  /** The archive's files' mtime (seconds; even, as a zip's DOS time keeps it). */
  const T = 1_700_000_000;

  before(async () => {
    work = await tempDir();
    const src = join(work, 'src');
    await mkdir(src);
    for (const n of ['older', 'newer', 'same', 'absent']) {
      await writeFile(join(src, n), `archive's ${n}\n`);
      await utimes(join(src, n), T, T);
    }
    set = join(work, 'set');
    const r = await xtar(['pack', src, '--out', set, '-q']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await removeTree(work);
  });

  /** A destination holding older (mtime before the archive's), newer (after) and same (equal), each with other bytes. */
  async function existing(name: string): Promise<string> {
    const dir = join(work, name, 'src');
    await mkdir(dir, { recursive: true });
    for (const [n, t] of [['older', T - 1000], ['newer', T + 1000], ['same', T]] as const) {
      await writeFile(join(dir, n), `mine ${n}\n`);
      await utimes(join(dir, n), t, t);
    }
    return join(work, name);
  }

  async function contents(dest: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const n of ['older', 'newer', 'same', 'absent']) out[n] = await readFile(join(dest, 'src', n), 'utf8').catch(() => '(none)');
    return out;
  }

  for (const flags of [[], ['--overwrite']]) {
    it(`${flags.length ? flags[0] : 'the default'} replaces each (as GNU tar): exit 0`, async () => {
      const dest = await existing(`over${flags.length}`);
      const r = await xtar(['unpack', set, '--dest', dest, '-q', ...flags]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(await contents(dest), { older: "archive's older\n", newer: "archive's newer\n", same: "archive's same\n", absent: "archive's absent\n" });
    });
  }

  it('--keep-old-files keeps each, its metadata too, and names it as refused: exit 1', async () => {
    const dest = await existing('keep-old');
    const r = await xtar(['unpack', set, '--dest', dest, '-q', '--keep-old-files']);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(await contents(dest), { older: 'mine older\n', newer: 'mine newer\n', same: 'mine same\n', absent: "archive's absent\n" });
    for (const n of ['older', 'newer', 'same']) assert.match(r.stderr, new RegExp(`^xtar: src/${n}: a file is already there: kept as it is \\(--keep-old-files\\)$`, 'm'));
    assert.equal((await stat(join(dest, 'src', 'older'))).mtimeMs, (T - 1000) * 1000);
  });

  it('--keep-newer-files keeps those as new as the archive\'s or newer, named (exit 0, as GNU tar), and replaces the older', async () => {
    const dest = await existing('keep-newer');
    const r = await xtar(['unpack', set, '--dest', dest, '-q', '--keep-newer-files']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await contents(dest), { older: "archive's older\n", newer: 'mine newer\n', same: 'mine same\n', absent: "archive's absent\n" });
    assert.match(r.stderr, /^xtar: src\/newer: the file there is as new as the archive's copy or newer: kept \(--keep-newer-files\)$/m);
    assert.match(r.stderr, /^xtar: src\/same: /m);
    assert.doesNotMatch(r.stderr, /src\/older/);
    assert.equal((await stat(join(dest, 'src', 'newer'))).mtimeMs, (T + 1000) * 1000);
  });

  it('--dry-run lists what would be written and replaced, and writes nothing: exit 0', async () => {
    const dest = await existing('dry');
    const before = await snapshot(dest);
    const r = await xtar(['unpack', set, '--dest', dest, '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^write {4}src\/absent$/m);
    for (const n of ['older', 'newer', 'same']) assert.match(r.stdout, new RegExp(`^replace  src/${n}$`, 'm'));
    assert.match(r.stdout, /would write 1 new file\(s\) and replace 3 in .*; nothing was written/);
    assert.deepEqual(diffSnapshots(before, await snapshot(dest)), []);
    const keep = await xtar(['unpack', set, '--dest', dest, '--dry-run', '--keep-newer-files', '--json']);
    assert.equal(keep.status, 0, keep.stderr);
    const j = JSON.parse(keep.stdout) as { write: string[]; replace: string[]; keep: string[] };
    assert.deepEqual([j.write, j.replace, j.keep.sort()], [['src/absent'], ['src/older'], ['src/newer', 'src/same']]);
    assert.deepEqual(diffSnapshots(before, await snapshot(dest)), []);
  });
});
