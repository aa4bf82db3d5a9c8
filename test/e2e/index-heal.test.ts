/**
 * The set's index heals itself: an index truncated to nothing or with garbage inside is moved aside
 * and made again from the volumes (said once), so the next pack still makes an incremental; one that
 * cannot be written is refused with its path and the command; and a backup whose volumes are in place
 * is never forgotten — not even when the disk is full at the last commit (a real ENOSPC: the index
 * file on a tiny tmpfs, as root).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, open, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xtar } from '../helpers/cli.js';
import { isRoot, removeTree, seededBytes, seededText, tempDir } from '../helpers/tree.js';

const EPOCH = 1_780_000_000;
const DAY = 86_400;
const INDEX = 'xtar-index.sqlite';

interface PackJson {
  backup: string | null;
  kind: string;
  base: string | null;
  volumes: { path: string }[];
}

function packArgs(src: string, set: string, day: number): [string[], { env: NodeJS.ProcessEnv }] {
  return [['pack', src, '--out', set, '--json'], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH + day * DAY) } }];
}

async function pack(src: string, set: string, day: number): Promise<PackJson & { stderr: string }> {
  const r = await xtar(...packArgs(src, set, day));
  assert.equal(r.status, 0, r.stderr);
  return { ...(JSON.parse(r.stdout) as PackJson), stderr: r.stderr };
}

async function makeTree(dir: string, files: number): Promise<void> {
  await mkdir(join(dir, 'docs'), { recursive: true });
  for (let i = 0; i < files; i++) await writeFile(join(dir, 'docs', `note-${String(i).padStart(4, '0')}.txt`), seededText(i, 200 + (i % 7) * 50));
}

/** A set with a full backup of `src`, and one file of it changed since. */
async function setWithFull(work: string, name: string): Promise<{ src: string; set: string; full: PackJson }> {
  const src = join(work, `${name}-src`);
  const set = join(work, `${name}-set`);
  await makeTree(src, 40);
  const full = await pack(src, set, 0);
  assert.equal(full.kind, 'full');
  await writeFile(join(src, 'docs', 'note-0003.txt'), 'changed since the full backup\n');
  return { src, set, full };
}

function count(text: string, re: RegExp): number {
  return text.split('\n').filter((l) => re.test(l)).length;
}

describe('the index heals itself', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('index rebuild of a set whose volumes lost their catalog.jsonl: takes the copies inside the archives (exit 0), not every file "not stored"', async () => {
    const { set, full } = await setWithFull(work, 'no-catalog');
    for (const v of full.volumes) await rm(join(v.path, 'catalog.jsonl'));
    const r = await xtar(['index', 'rebuild', set]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    // (Copies that do not check either: test/e2e/index-rebuild-copies.test.ts.)
    // The backup still restores: by walking its archive.
    const u = await xtar(['unpack', set, '--dest', join(work, 'no-catalog-out')]);
    assert.equal(u.status, 0, u.stderr);
  });

  it('an index truncated to 0 bytes: the next pack rebuilds it, says so once, and makes an incremental', async () => {
    const { src, set, full } = await setWithFull(work, 'empty');
    await truncate(join(set, INDEX), 0);
    const r = await pack(src, set, 1);
    assert.equal(r.kind, 'incremental', r.stderr);
    assert.equal(r.base, full.backup);
    assert.equal(count(r.stderr, /index .*xtar-index\.sqlite was damaged \(an empty file\); rebuilt it from the volumes/), 1, r.stderr);
    assert.ok((await readdir(set)).some((n) => n.startsWith(`${INDEX}.damaged-`)), 'the empty file is kept aside');
  });

  it('list --obsolete does not answer from an emptied index', async () => {
    const { src, set } = await setWithFull(work, 'obsolete');
    await pack(src, set, 1);
    const before = await xtar(['list', set, '--obsolete', '--json']);
    assert.equal(before.status, 0, before.stderr);
    await truncate(join(set, INDEX), 0);
    const r = await xtar(['list', set, '--obsolete', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const { notes, ...answer } = JSON.parse(r.stdout) as { notes: string[] };
    assert.deepEqual({ ...answer, notes: [] }, JSON.parse(before.stdout));
    assert.match(r.stderr, /was damaged \(an empty file\); rebuilt it from the volumes/);
    assert.equal(notes.length, 1, 'the note is in the JSON too');
  });

  it('list --obsolete on a read-only set: answers from a sound index, refuses an emptied one with its path and the command', async (t) => {
    if (!isRoot) return t.skip('needs root for a read-only bind mount');
    const { src, set } = await setWithFull(work, 'ro-list');
    await pack(src, set, 1);
    const sound = await xtar(['list', set, '--obsolete', '--json']);
    const readOnly = async (): Promise<Awaited<ReturnType<typeof xtar>>> => {
      execFileSync('mount', ['--bind', set, set]);
      try {
        execFileSync('mount', ['-o', 'remount,ro,bind', set]);
        return await xtar(['list', set, '--obsolete', '--json']);
      } finally {
        execFileSync('umount', [set]);
      }
    };
    const r = await readOnly();
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(sound.stdout));
    await truncate(join(set, INDEX), 0);
    const empty = await readOnly();
    assert.equal(empty.status, 2, empty.stdout);
    assert.ok(empty.stderr.includes(join(set, INDEX)), empty.stderr);
    assert.ok(empty.stderr.includes(`xtar index rebuild ${set}`), empty.stderr);
  });

  it('garbage inside the index: moved aside (kept), rebuilt, said once; the pack makes an incremental', async () => {
    const { src, set, full } = await setWithFull(work, 'garbage');
    const file = join(set, INDEX);
    const size = (await stat(file)).size;
    assert.ok(size > 8192, `the index has pages past the first (${size} bytes)`);
    const fh = await open(file, 'r+');
    await fh.write(seededBytes(7, size - 4096), 0, size - 4096, 4096); // every page but the header's
    await fh.close();
    const r = await pack(src, set, 1);
    assert.equal(r.kind, 'incremental', r.stderr);
    assert.equal(r.base, full.backup);
    assert.equal(count(r.stderr, /index .*xtar-index\.sqlite was damaged \(.+\); rebuilt it from the volumes/), 1, r.stderr);
    const aside = (await readdir(set)).filter((n) => n.startsWith(`${INDEX}.damaged-`));
    assert.equal(aside.length, 1, 'the damaged file is kept aside');
    assert.equal((await stat(join(set, aside[0] as string))).size, size);
    const again = await xtar(['unpack', set, '--dest', join(work, 'garbage-out')]);
    assert.equal(again.status, 0, again.stderr);
  });

  it('garbage in the header page: the same', async () => {
    const { src, set, full } = await setWithFull(work, 'header');
    const fh = await open(join(set, INDEX), 'r+');
    await fh.write(Buffer.from('this is not SQLite at all, only garbage'), 0, 39, 0);
    await fh.close();
    const r = await pack(src, set, 1);
    assert.equal(r.kind, 'incremental', r.stderr);
    assert.equal(r.base, full.backup);
    assert.equal(count(r.stderr, /was damaged \(.+\); rebuilt it from the volumes/), 1, r.stderr);
  });

  it('an index that cannot be written: a sentence naming it and the command, nothing rebuilt behind it', async (t) => {
    const { src, set } = await setWithFull(work, 'readonly');
    const file = join(set, INDEX);
    // Root ignores file modes: an immutable file (chattr +i), else a read-only bind mount of it.
    let undo: () => void;
    try {
      execFileSync('chattr', ['+i', file], { stdio: 'ignore' });
      undo = () => execFileSync('chattr', ['-i', file]);
    } catch {
      if (!isRoot) return t.skip('needs chattr or root for a read-only index');
      execFileSync('mount', ['--bind', file, file]);
      execFileSync('mount', ['-o', 'remount,ro,bind', file]);
      undo = () => execFileSync('umount', [file]);
    }
    try {
      const r = await xtar(...packArgs(src, set, 1));
      assert.equal(r.status, 2, r.stderr);
      assert.ok(r.stderr.includes(file), r.stderr);
      assert.ok(r.stderr.includes(`xtar index rebuild ${set}`), r.stderr);
      assert.match(r.stderr, /cannot be written/);
    } finally {
      undo();
    }
    const r = await pack(src, set, 2);
    assert.equal(r.kind, 'incremental', r.stderr);
  });

  it('disk full at the last commit: the volumes stay, the run says so, the next pack imports the backup and builds on it', async (t) => {
    if (!isRoot) return t.skip('needs root to mount a tiny tmpfs');
    const src = join(work, 'full-src');
    const set = join(work, 'full-set');
    await makeTree(src, 30);
    const full = await pack(src, set, 0);
    // 1500 new files: hundreds of KB of index rows, all written at the last commit (fewer than a batch).
    for (let i = 0; i < 1500; i++) await writeFile(join(src, 'docs', `new-file-with-a-longer-name-${String(i).padStart(5, '0')}.txt`), `n${i}\n`);
    // The index alone on a tmpfs with 32 KiB to spare; the volumes stay on the set's own disk.
    const file = join(set, INDEX);
    const tiny = join(work, 'tiny');
    await mkdir(tiny);
    const size = Math.ceil((await stat(file)).size / 4096) * 4096 + 32768;
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', tiny]);
    const onTiny = join(tiny, INDEX);
    let second;
    try {
      await copyFile(file, onTiny);
      execFileSync('mount', ['--bind', onTiny, file]);
      try {
        second = await xtar(...packArgs(src, set, 1));
      } finally {
        execFileSync('umount', [file]);
      }
      await copyFile(onTiny, file); // the index as the failed run left it
    } finally {
      execFileSync('umount', [tiny]);
    }
    assert.equal(second.status, 2, second.stderr);
    assert.match(second.stderr, /database or disk is full/);
    const id = /Backup (\S+) is complete on disk and restores/.exec(second.stderr)?.[1];
    assert.ok(id, second.stderr);
    assert.match(second.stderr, /The next pack .* brings the index up to date/);
    const vols = (await readdir(set)).filter((n) => n.startsWith(id));
    assert.ok(vols.length > 0, `the volume of ${id} stays`);

    await writeFile(join(src, 'docs', 'note-0001.txt'), 'changed after the full disk\n');
    const third = await pack(src, set, 2);
    assert.equal(third.kind, 'incremental', third.stderr);
    assert.equal(third.base, id, 'builds on the backup the full disk could not record');
    assert.notEqual(third.base, full.backup);
    assert.match(third.stderr, new RegExp(`backup ${id} was complete on disk but not recorded in the set's index; imported it`));
    const out = join(work, 'full-out');
    const u = await xtar(['unpack', set, '--dest', out]);
    assert.equal(u.status, 0, u.stderr);
    assert.equal((await readdir(join(out, 'full-src', 'docs'))).length, 1530);
  });
});
