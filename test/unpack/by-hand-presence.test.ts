/**
 * by-hand.ts's Presence: expand-structure's "is this catalog file there?" answered by one listing per
 * folder, with lstat for what a listing lacks, and lstat alone once a catalog keeps leaving folders
 * and coming back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Presence } from '../../src/unpack/by-hand.js';
import { removeTree, tempDir } from '../helpers/tree.js';

describe('Presence', () => {
  let root = '';
  before(async () => {
    root = await tempDir('xtar-presence-');
    for (const d of ['a', 'b']) {
      await mkdir(join(root, d));
      for (let i = 0; i < 20; i++) await writeFile(join(root, d, `f${i}`), 'x');
    }
    await symlink('nowhere', join(root, 'a', 'dangling'));
  });
  after(() => removeTree(root));

  it('answers as lstat does, listing each folder once for a catalog that comes folder by folder', () => {
    const p = new Presence();
    for (const d of ['a', 'b']) for (let i = 0; i < 20; i++) assert.equal(p.has(join(root, d, `f${i}`)), true, `${d}/f${i}`);
    assert.equal(p.has(join(root, 'b', 'f20')), false);
    assert.equal(p.has(join(root, 'a', 'dangling')), true, 'a dangling symlink is something there, as lstat says');
    assert.equal(p.has(join(root, 'none', 'f1')), false, 'a folder that is not there');
    assert.equal(p.has(join(root, 'a', 'f1', 'under-a-file')), false, 'a path through a file');
    assert.deepEqual(p.counts, { listings: 5, asked: 44 });
  });

  it('stops listing when the catalog goes back and forth between folders', () => {
    const p = new Presence();
    for (let i = 0; i < 20; i++) for (const d of ['a', 'b']) assert.equal(p.has(join(root, d, `f${i}`)), true);
    assert.ok(p.counts.listings * 8 <= p.counts.asked + 8, `listings ${p.counts.listings} for ${p.counts.asked} paths`);
  });
});
