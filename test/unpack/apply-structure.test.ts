/**
 * applyStructure on a temp --dest with hand-made records: each node kind made, replaced or refused
 * with its sentence; folders' modes and times set after their contents; with a file sink, the order
 * of its calls (a queued path is left alone until cleared, folders wait for settle()).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { link, lstat, mkdir, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Destination } from '../../src/dest/destination.js';
import { setFileMeta, type FileMeta, type FileMetaFound } from '../../src/dest/file-meta.js';
import { FormatError } from '../../src/errors.js';
import type { StructureEntry } from '../../src/format/records.js';
import { applyStructure, type ApplyOptions, type FileMetaSink } from '../../src/unpack/apply-structure.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const T1 = 1_600_000_000_000_000_000n;
const T2 = 1_500_000_000_000_000_000n;
const meta = { uid: 0, gid: 0, mtimeNs: T1 };
const dir = (path: string, mode = 0o755, mtimeNs = T1): StructureEntry => ({ ...meta, path, type: 'dir', mode, mtimeNs });
const file = (path: string, mode = 0o644): StructureEntry => ({ ...meta, path, type: 'file', mode, size: 0 });
const hardlink = (path: string, target: string): StructureEntry => ({ path, type: 'hardlink', target, mode: 0, uid: 0, gid: 0, mtimeNs: 0n });

async function* each(entries: readonly StructureEntry[]): AsyncIterable<StructureEntry> {
  yield* entries;
}

type Problem = [path: string, reason: string, kind: string];

async function apply(root: string, entries: readonly StructureEntry[], more: Partial<ApplyOptions> = {}) {
  const problems: Problem[] = [];
  const opts: ApplyOptions = { owners: false, report: (p, r, k) => problems.push([p, r, k]), ...more };
  const result = await applyStructure(each(entries), new Destination(root), opts);
  return { result, problems };
}

const mtimeSec = async (p: string): Promise<number> => Math.round((await lstat(p)).mtimeMs / 1000);

describe('applyStructure', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(() => removeTree(work));

  it('makes, replaces and refuses each kind of node with its sentence, and keeps what is already right', async () => {
    const root = join(work, 'kinds');
    await mkdir(join(root, 'r', 'in-the-way'), { recursive: true });
    await mkdir(join(root, 'r', 'folder-file'));
    await writeFile(join(root, 'r', 'was-file'), 'soon a symlink\n');
    await writeFile(join(root, 'r', 'data.txt'), 'data\n');
    const entries: StructureEntry[] = [
      dir('r'),
      file('r/data.txt', 0o600),
      file('r/absent.txt'),
      file('r/folder-file'),
      { ...meta, path: 'r/was-file', type: 'symlink', mode: 0o777, target: 'data.txt' },
      { ...meta, path: 'r/in-the-way', type: 'symlink', mode: 0o777, target: 'data.txt' },
      hardlink('r/hard', 'r/data.txt'),
      hardlink('r/hard-missing', 'r/nope.txt'),
      hardlink('r/hard-expected', 'r/damaged.txt'),
      hardlink('r/hard-to-folder', 'r/in-the-way'),
      { ...meta, path: 'r/fifo', type: 'fifo', mode: 0o640 },
      { ...meta, path: 'r/../escape', type: 'fifo', mode: 0o640 },
    ];
    const expectedMissing = (p: string): boolean => p === 'r/damaged.txt';
    const first = await apply(root, entries, { expectedMissing });
    assert.deepEqual(first.result, { dirs: 1, files: 1, symlinks: 1, hardlinks: 1, fifos: 1, devices: 0 });
    const unsafe = first.problems.findIndex((p) => p[0] === 'r/../escape');
    assert.equal(first.problems[unsafe]?.[2], 'refused', 'an unsafe path is an XtarError: refused, with its own sentence');
    assert.deepEqual(first.problems.filter((_, i) => i !== unsafe), [
      ['r/absent.txt', 'the file is missing', 'missing'],
      ['r/folder-file', 'something other than a regular file is in its place', 'refused'],
      ['r/in-the-way', 'a folder is in the way', 'refused'],
      ['r/hard-missing', 'its target r/nope.txt is missing', 'missing'],
      ['r/hard-to-folder', 'its target r/in-the-way is not a regular file', 'refused'],
    ]);
    assert.equal(unsafe, first.problems.length - 1, 'problems in record order');

    assert.equal(await readlink(join(root, 'r', 'was-file')), 'data.txt', 'the file in its place was replaced');
    assert.equal((await lstat(join(root, 'r', 'in-the-way'))).isDirectory(), true, 'the folder stays');
    const [data, hard] = await Promise.all([lstat(join(root, 'r', 'data.txt')), lstat(join(root, 'r', 'hard'))]);
    assert.equal(hard.ino, data.ino);
    assert.equal(data.mode & 0o7777, 0o600);
    const fifo = await lstat(join(root, 'r', 'fifo'));
    assert.equal(fifo.isFIFO(), true);
    assert.equal(fifo.mode & 0o7777, 0o640);
    assert.equal(await mtimeSec(join(root, 'r', 'fifo')), Number(T1 / 1_000_000_000n));

    // A second name for each holds its inode, so one made again could not get the same number.
    const made = await Promise.all(['was-file', 'fifo'].map(async (n) => {
      await link(join(root, 'r', n), join(work, `hold-${n}`));
      return (await lstat(join(root, 'r', n))).ino;
    }));
    const again = await apply(root, entries, { expectedMissing });
    assert.deepEqual(again.result, first.result, 'a symlink, hard link and FIFO already right are counted again');
    assert.deepEqual(again.problems, first.problems);
    assert.equal((await lstat(join(root, 'r', 'hard'))).ino, data.ino);
    const kept = await Promise.all(['was-file', 'fifo'].map(async (n) => (await lstat(join(root, 'r', n))).ino));
    assert.deepEqual(kept, made, 'the symlink and FIFO already right are kept, not made again');
  });

  it('device files as non-root: the sentence, nothing made, nothing counted', async () => {
    const root = join(work, 'devices');
    const getuid = process.getuid;
    process.getuid = () => 1000;
    try {
      const { result, problems } = await apply(root, [
        dir('r'),
        { ...meta, path: 'r/null', type: 'char', mode: 0o666, major: 1, minor: 3 },
        { ...meta, path: 'r/disk', type: 'block', mode: 0o660, major: 8, minor: 0 },
      ]);
      assert.equal(result.devices, 0);
      assert.deepEqual(problems, [
        ['r/null', 'device files can only be made by root', 'failed'],
        ['r/disk', 'device files can only be made by root', 'failed'],
      ]);
      await assert.rejects(lstat(join(root, 'r', 'null')), { code: 'ENOENT' });
    } finally {
      process.getuid = getuid;
    }
  });

  it("sets folders' modes and times after what is made inside them, deepest first", async () => {
    const root = join(work, 'folders');
    const { result, problems } = await apply(root, [
      dir('r', 0o750, T2),
      dir('r/a', 0o555, T1),
      dir('r/a/b', 0o700, T2),
      { ...meta, path: 'r/a/b/fifo', type: 'fifo', mode: 0o600 },
      { ...meta, path: 'r/a/link', type: 'symlink', mode: 0o777, target: 'b' },
      dir('r/c', 0o711, T1),
      { ...meta, path: 'r/fifo', type: 'fifo', mode: 0o600 },
    ]);
    assert.deepEqual(problems, []);
    assert.deepEqual(result, { dirs: 4, files: 0, symlinks: 1, hardlinks: 0, fifos: 2, devices: 0 });
    for (const [p, mode, t] of [['r', 0o750, T2], ['r/a', 0o555, T1], ['r/a/b', 0o700, T2], ['r/c', 0o711, T1]] as const) {
      const st = await stat(join(root, p));
      assert.equal(st.mode & 0o7777, mode, `${p}: mode`);
      assert.equal(await mtimeSec(join(root, p)), Number(t / 1_000_000_000n), `${p}: mtime, not the time of what was made inside`);
    }
  });

  it('with a file sink: files queued, replaced paths cleared first, folders closed only after settle()', async () => {
    const root = join(work, 'sink');
    await mkdir(join(root, 'r', 'd'), { recursive: true });
    await writeFile(join(root, 'r', 'd', 'f.txt'), 'f\n');
    await writeFile(join(root, 'r', 'd', 'gone.txt'), 'g\n');
    const calls: string[] = [];
    const queued: (() => void)[] = [];
    const later: Problem[] = [];
    const sink: FileMetaSink = {
      async setFileMeta(components, abs, m: FileMeta, settled: (r: FileMetaFound | { error: unknown }) => void) {
        calls.push(`queue ${components.join('/')}`);
        queued.push(() => settled(setFileMeta(abs, m)));
      },
      async clearWayForDir(components) {
        calls.push(`dir ${components.join('/')}`);
      },
      async clearWayForFile(components) {
        calls.push(`file ${components.join('/')}`);
        if (components.at(-1) === 'bad') throw new FormatError('refused by the sink.');
      },
      async settle() {
        calls.push(`settle, r/d mode ${((await stat(join(root, 'r', 'd'))).mode & 0o777).toString(8)}`);
        for (const q of queued.splice(0)) q();
      },
    };
    const { result, problems } = await apply(
      root,
      [dir('r'), dir('r/d', 0o500), file('r/d/f.txt', 0o604), file('r/d/missing.txt'), { ...meta, path: 'r/d/gone.txt', type: 'symlink', mode: 0o777, target: 'f.txt' }, { ...meta, path: 'r/bad', type: 'fifo', mode: 0o600 }],
      { files: sink, reportLater: () => (p, r, k) => later.push([p, r, k]) },
    );
    assert.deepEqual(calls, [
      'dir r',
      'dir r/d',
      'dir r/d',
      'queue r/d/f.txt',
      'dir r/d',
      'queue r/d/missing.txt',
      'dir r/d',
      'file r/d/gone.txt',
      'dir r',
      'file r/bad',
      'settle, r/d mode 755',
    ]);
    assert.deepEqual(problems, [['r/bad', 'refused by the sink.', 'refused']]);
    assert.deepEqual(later, [['r/d/missing.txt', 'the file is missing', 'missing']], 'file problems go to reportLater');
    assert.deepEqual(result, { dirs: 2, files: 1, symlinks: 1, hardlinks: 0, fifos: 0, devices: 0 });
    assert.equal((await stat(join(root, 'r', 'd'))).mode & 0o777, 0o500);
    assert.equal((await stat(join(root, 'r', 'd', 'f.txt'))).mode & 0o777, 0o604);
  });

  it('a fatal I/O error ends the run', async () => {
    const root = join(work, 'fatal');
    const sink: FileMetaSink = {
      setFileMeta: async () => {},
      clearWayForDir: async () => {},
      clearWayForFile: async () => {
        throw Object.assign(new Error('no space left'), { code: 'ENOSPC' });
      },
      settle: async () => {},
    };
    await assert.rejects(apply(root, [dir('r'), { ...meta, path: 'r/fifo', type: 'fifo', mode: 0o600 }], { files: sink }), { code: 'ENOSPC' });
  });
});
