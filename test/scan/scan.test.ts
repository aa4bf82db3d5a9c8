import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StructureEntry } from '../../src/format/records.js';
import { compileExcludes } from '../../src/scan/excludes.js';
import { scanTree } from '../../src/scan/scan.js';
import { removeTree, tempDir } from '../helpers/tree.js';

describe('scanTree', () => {
  let work: string;
  let src: string;
  before(async () => {
    work = await tempDir();
    src = join(work, 'src');
    await mkdir(join(src, 'b/deep'), { recursive: true });
    await mkdir(join(src, 'build/cache'), { recursive: true });
    await writeFile(join(src, 'b/deep/x.o'), 'object');
    await writeFile(join(src, 'b/deep/keep.c'), 'source');
    await writeFile(join(src, 'build/cache/big'), 'cache');
    await writeFile(join(src, 'build/keep'), 'kept');
    await writeFile(join(src, 'a'), 'first');
    await link(join(src, 'a'), join(src, 'z-link'));
    await symlink('/nonexistent/target', join(src, 'dangling'));
    // A name that is not UTF-8 (byte 0xff) is skipped and listed.
    await writeFile(Buffer.concat([Buffer.from(join(src, 'bad-')), Buffer.from([0xff])]), 'x');
  });
  after(async () => {
    await removeTree(work);
  });

  it('emits nodes depth first, folders before their contents, siblings in byte order', async () => {
    const seen: StructureEntry[] = [];
    const r = await scanTree(src, (e) => void seen.push(e));
    assert.deepEqual(
      seen.map((e) => `${e.type}:${e.path}`),
      ['dir:src', 'file:src/a', 'dir:src/b', 'dir:src/b/deep', 'file:src/b/deep/keep.c', 'file:src/b/deep/x.o', 'dir:src/build', 'dir:src/build/cache', 'file:src/build/cache/big', 'file:src/build/keep', 'symlink:src/dangling', 'hardlink:src/z-link'],
    );
    assert.equal(seen.find((e) => e.path === 'src/z-link')?.target, 'src/a');
    assert.equal(seen.find((e) => e.path === 'src/dangling')?.target, '/nonexistent/target');
    assert.equal(r.files, 5);
    assert.equal(r.bytes, 5 + 6 + 6 + 5 + 4);
    assert.deepEqual(r.skipped.map((s) => s.reason), ['name is not valid UTF-8']);
  });

  it('excludes like GNU tar: names at any depth, paths below the source', async () => {
    const seen: string[] = [];
    await scanTree(src, (e) => void seen.push(e.path), { exclude: ['*.o', 'build/cache'] });
    assert.ok(!seen.includes('src/b/deep/x.o'));
    assert.ok(!seen.includes('src/build/cache'));
    assert.ok(seen.includes('src/build/keep'));
    // gitignore: a trailing '/' matches folders only (GNU tar's matched a file of that name too), and './' anchors as '/'.
    const m = compileExcludes(['./build/']);
    assert.equal(m('build', 'build', true), true);
    assert.equal(m('build', 'build', false), false);
    assert.equal(m('a/build', 'build', true), false);
  });
});
