/**
 * A set packed with bundles is still read once: the tar tracker finds each bundle's members where the
 * catalog restore read them (however the windows cut the bundle), so the walk is skipped.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from '../../src/pack/pack.js';
import { locate, type VolumeSource } from '../../src/set/locate.js';
import { chooseStructure } from '../../src/unpack/choose-records.js';
import { joinSplits } from '../../src/unpack/join-splits.js';
import { RandomReader } from '../../src/unpack/random-reader.js';
import { restoreByCatalog } from '../../src/unpack/restore-by-catalog.js';
import { restoreByWalk } from '../../src/unpack/restore-by-walk.js';
import { OffsetTally, TarTracker } from '../../src/unpack/tar-tracker.js';
import { walkArchive } from '../../src/unpack/walk-archive.js';
import { removeTree, tempDir } from '../helpers/tree.js';
import { openContext } from './archive.js';

describe('bundles, read once', () => {
  let work: string;
  let set: string;
  let volumes: VolumeSource[];
  before(async () => {
    work = await tempDir();
    const src = join(work, 'tree');
    for (const d of ['a', 'b/c']) {
      await mkdir(join(src, d), { recursive: true });
      for (let i = 0; i < 70; i++) await writeFile(join(src, d, `f${i}`), `file ${d} ${i}\n`.repeat(1 + (i % 9)));
    }
    set = join(work, 'set');
    await pack({ source: src, out: set, jobs: 1, bundle: 16, now: new Date('2026-11-01T00:00:00Z') });
    volumes = await locate(set);
  });
  after(() => removeTree(work));

  it('the tracker finds every member the walk finds, however the bytes are cut into windows', async () => {
    const archive = volumes[0]!.archive;
    const r = await RandomReader.open(archive);
    const members: number[] = [];
    try {
      await walkArchive(r, {
        dir: async () => undefined,
        blob: async () => assert.fail('every file here is bundled'),
        member: async (_d, _b, start) => void members.push(start),
        part: async () => assert.fail('no part'),
        record: async () => undefined,
        problem: (path, reason) => assert.fail(`${path}: ${reason}`),
      });
    } finally {
      await r.close();
    }
    assert.equal(members.length, 140);
    const bytes = await readFile(archive);
    for (const step of [bytes.length, 4096, 777, 100]) {
      const t = new TarTracker(bytes.length);
      for (let at = 0; at < bytes.length; at += step) t.feed(at, bytes.subarray(at, Math.min(bytes.length, at + step)));
      assert.equal(t.state, 'complete', `windows of ${step}`);
      const want = new OffsetTally();
      for (const o of members) want.add(o);
      assert.ok(t.blobs.equals(want), `windows of ${step}`);
    }
  });

  it('restores every file by the catalog and skips the walk', async () => {
    const { ctx } = await openContext({ inputs: [set] });
    try {
      await chooseStructure(ctx);
      await restoreByCatalog(ctx);
      await restoreByWalk(ctx);
      await joinSplits(ctx);
      await ctx.pool.settle();
      assert.deepEqual(ctx.log.problems(), []);
      assert.equal(ctx.files, 140);
      assert.equal(ctx.walkSkipped, 1);
    } finally {
      await ctx.close();
    }
  });
});
