/**
 * The archive read once, front to back, when nothing fails (issue 16): the catalog restore reads every
 * byte of each volume and its TarTracker follows every header, so the tar walk is skipped; a sector
 * the drive cannot read (here one of a tar header no blob stands on) still makes the walk run and list it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { chooseStructure } from '../../src/unpack/choose-records.js';
import { joinSplits } from '../../src/unpack/join-splits.js';
import { restoreByCatalog } from '../../src/unpack/restore-by-catalog.js';
import { restoreByWalk } from '../../src/unpack/restore-by-walk.js';
import type { RestoreContext } from '../../src/unpack/context.js';
import { openContext, usePackedSet } from './archive.js';

async function stages(ctx: RestoreContext): Promise<void> {
  await chooseStructure(ctx);
  await restoreByCatalog(ctx);
  await restoreByWalk(ctx);
  await joinSplits(ctx);
  await ctx.pool.settle();
}

describe('one pass over each archive', () => {
  const at = usePackedSet();

  it('reads every byte of every volume once, without a seek, and skips the walk', async () => {
    const { ctx } = await openContext({ inputs: [at.p.set] });
    try {
      await stages(ctx);
      assert.equal(ctx.files, at.p.files.size);
      assert.deepEqual(ctx.log.problems(), []);
      assert.equal(ctx.walkSkipped, at.p.volumes.length);
      for (const v of at.p.volumes) {
        const counts = ctx.reads.counts.get(v.archive);
        assert.deepEqual(counts, { bytes: (await stat(v.archive)).size, seeks: 0 }, v.archive);
      }
    } finally {
      await ctx.close();
    }
  });

  it('walks a volume whose first tar header (no blob on it) the drive cannot read, and lists it', async () => {
    const { ctx } = await openContext({ inputs: [at.p.set] });
    const first = at.p.volumes[0]?.archive as string;
    try {
      // As a rescued copy's map would say: the sector of the root folder's header is unreadable.
      ctx.reads.bad.set(first, [{ offset: 0, length: 512 }]);
      for (const r of ctx.readers) await r.close();
      ctx.readers.length = 0;
      ctx.trackers.length = 0;
      await ctx.open();
      await stages(ctx);
      assert.equal(ctx.files, at.p.files.size, 'every blob is on readable sectors');
      assert.equal(ctx.walkSkipped, at.p.volumes.length - 1);
      assert.equal(ctx.unreadableArchives, 1);
      assert.ok(ctx.log.problems().some((p) => p.path === first && /unreadable sectors at bytes 0–/.test(p.reason)), JSON.stringify(ctx.log.problems()));
    } finally {
      await ctx.close();
    }
  });

  it('walks a volume a byte of whose first tar header (no blob on it) was changed, and lists it', async () => {
    const copy = join(at.work, 'set-flipped');
    await cp(at.p.set, copy, { recursive: true });
    const first = join(copy, relative(at.p.set, at.p.volumes[0]?.archive as string));
    const bytes = await readFile(first);
    bytes[1] = (bytes[1] as number) ^ 0x01;
    await writeFile(first, bytes);
    const { ctx } = await openContext({ inputs: [copy] });
    try {
      await stages(ctx);
      assert.equal(ctx.files, at.p.files.size, 'every blob is intact');
      assert.equal(ctx.walkSkipped, at.p.volumes.length - 1);
      assert.ok(ctx.log.problems().some((p) => p.path === first && /damaged at byte 0: tar header checksum mismatch/.test(p.reason)), JSON.stringify(ctx.log.problems()));
    } finally {
      await ctx.close();
    }
  });
});
