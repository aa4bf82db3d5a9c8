/**
 * activityOf (src/activity/activity.ts): several folders clustered as one, each path under its
 * folder's name (the folder as given when two share a name); a folder that is not there refused
 * before anything is walked.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../src/errors.js';
import { activityOf, rootNames } from '../../src/activity/activity.js';
import { removeTree, tempDir } from '../helpers/tree.js';

describe('activityOf', () => {
  let work: string;
  before(async () => {
    work = await tempDir('xtar-activity-');
    const t = new Date('2026-11-20T10:00:00Z');
    for (const [dir, name] of [['x/docs', 'a.txt'], ['y/docs', 'b.txt'], ['photos', 'c.jpg']]) {
      await mkdir(join(work, dir as string), { recursive: true });
      await writeFile(join(work, dir as string, name as string), 'x');
      await utimes(join(work, dir as string, name as string), t, t);
    }
  });
  after(() => removeTree(work));

  it('one cluster over several folders, each path under its folder\'s name', async () => {
    const dirs = [join(work, 'x/docs'), join(work, 'y/docs'), join(work, 'photos')];
    assert.deepEqual(rootNames(dirs).slice(2), ['photos']);
    const r = await activityOf(dirs, { radiusMs: 3_600_000, showFiles: Infinity, select: {} });
    assert.equal(r.clusters.length, 1);
    assert.deepEqual(r.clusters[0]!.paths.map((p) => p.path).sort(), [`${join(work, 'x/docs')}/a.txt`, `${join(work, 'y/docs')}/b.txt`, 'photos/c.jpg']);
    assert.equal(r.deleted, undefined);
  });

  it('a folder that is not there is refused', async () => {
    await assert.rejects(activityOf([join(work, 'photos'), join(work, 'nowhere')], { radiusMs: 1000, showFiles: 5, select: {} }), InputError);
  });
});
