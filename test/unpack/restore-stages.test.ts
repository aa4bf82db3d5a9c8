/** restore-by-catalog, restore-by-walk, join-splits and restore-structure (explain-missing) on a real multi-volume set. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Destination } from '../../src/dest/destination.js';
import { chooseStructure } from '../../src/unpack/choose-records.js';
import { joinSplits } from '../../src/unpack/join-splits.js';
import { restoreByCatalog } from '../../src/unpack/restore-by-catalog.js';
import { restoreByWalk } from '../../src/unpack/restore-by-walk.js';
import { WriteSink } from '../../src/unpack/sink.js';
import { restore } from '../../src/unpack/unpack.js';
import { openContext, usePackedSet } from './archive.js';

describe('restore stages', () => {
  const at = usePackedSet();

  it('restore-by-catalog restores every file (the split one too) and trusts every whole catalog; the walk then adds nothing', async () => {
    const { ctx } = await openContext({ inputs: [at.p.set] });
    try {
      await chooseStructure(ctx);
      assert.equal(await restoreByCatalog(ctx), false, 'no file is an earlier backup\'s');
      await ctx.pool.settle();
      assert.equal(ctx.files, at.p.files.size);
      assert.deepEqual([...ctx.trusted].sort(), at.p.volumes.map((v) => v.volume));
      assert.ok([...at.p.files.values()].some((vols) => vols.length > 1), 'the set holds a split file');
      await restoreByWalk(ctx);
      await joinSplits(ctx);
      await ctx.pool.settle();
      assert.equal(ctx.files, at.p.files.size);
      assert.equal(ctx.splits.size, 0);
      assert.deepEqual(ctx.log.problems(), []);
    } finally {
      await ctx.close();
    }
  });

  it('restore-by-walk alone finds every whole file and gathers the split one; join-splits restores it', async () => {
    const { ctx } = await openContext({ inputs: [at.p.set] });
    try {
      await restoreByWalk(ctx);
      await ctx.pool.settle();
      const split = [...at.p.files.values()].filter((vols) => vols.length > 1).length;
      assert.equal(ctx.files, at.p.files.size - split);
      assert.equal(ctx.splits.size, split);
      await joinSplits(ctx);
      await ctx.pool.settle();
      assert.equal(ctx.files, at.p.files.size);
      assert.equal(ctx.incompleteSplits.size, 0);
    } finally {
      await ctx.close();
    }
  });

  it('restore-structure names the volume not given for each missing file, then each volume missing with its count', async () => {
    const without = 2;
    const inputs = at.p.volumes.filter((v) => v.volume !== without).map((v) => v.dir as string);
    const r = await restore({ inputs, jobs: 1 }, new WriteSink(new Destination(join(at.work, 'out'))));
    const onMissing = [...at.p.files].filter(([, vols]) => vols.length === 1 && vols[0] === without).map(([path]) => path);
    assert.ok(onMissing.length > 0);
    const missing = r.problems.filter((x) => x.reason === `on volume ${without}, which was not given`).map((x) => x.path);
    assert.deepEqual(missing.sort(), onMissing.sort());
    const split = r.problems.find((x) => x.reason.startsWith('split across volumes'));
    if ([...at.p.files.values()].some((vols) => vols.includes(without) && vols.length > 1)) assert.match(split?.reason ?? '', new RegExp(`insert volume ${without}\\b`));
    assert.equal(r.problems.at(-1)?.reason, `volume ${without} of ${at.p.volumes.length} of backup ${r.plan.backup} was not given: ${onMissing.length} file(s) on it not restored`);
    // The same volume, grouped with its files' records (the CLI's one line per volume).
    assert.deepEqual(r.notGiven.map((g) => [g.volume, g.files.map((f) => f.path).sort()]), [[without, onMissing.sort()]]);
    assert.equal(r.files, [...at.p.files.values()].filter((vols) => !vols.includes(without)).length);
  });
});
