/**
 * Guards, with generous margins, the two properties that make xtar usable on big trees: time grows
 * linearly with the number of files, and memory does not grow with the tree or with a file's size.
 * (Figures for the README come from `npm run bench`, never from here.) Not part of `npm test`: timing
 * and memory depend on the machine and on what runs beside; run with `npm run test:perf`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from '../../src/pack/pack.js';
import { unpack } from '../../src/unpack/unpack.js';
import { removeTree, seededText, tempDir } from '../helpers/tree.js';

async function tree(dir: string, files: number): Promise<void> {
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${i % 50}`);
    if (i < 50) await mkdir(sub, { recursive: true });
    await writeFile(join(sub, `f${i}`), seededText(i, 300 + (i % 7) * 100));
  }
}

/** Peak RSS of this process (workers are threads in it) while `fn` runs, sampled every 20 ms. */
async function peakRss(fn: () => Promise<unknown>): Promise<number> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss);
}

describe('scaling and memory', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('packing twice the files takes at most ~2× the time (margin: 3×)', async () => {
    await tree(join(work, 'small'), 2000);
    await tree(join(work, 'large'), 4000);
    // Warm up the pool and the page cache once.
    await pack({ source: join(work, 'small'), out: join(work, 'warm'), jobs: 2 });
    const time = async (src: string, out: string): Promise<number> => {
      const t0 = process.hrtime.bigint();
      await pack({ source: src, out, jobs: 2 });
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    // Twice each, interleaved, the faster kept: the other test files run beside this one, and one
    // unlucky run must not decide the ratio.
    const a1 = await time(join(work, 'small'), join(work, 'set-a1'));
    const b1 = await time(join(work, 'large'), join(work, 'set-b1'));
    const a2 = await time(join(work, 'small'), join(work, 'set-a2'));
    const b2 = await time(join(work, 'large'), join(work, 'set-b2'));
    const [a, b] = [Math.min(a1, a2), Math.min(b1, b2)];
    assert.ok(b / a <= 3, `2,000 files: ${a1.toFixed(0)} and ${a2.toFixed(0)} ms, 4,000 files: ${b1.toFixed(0)} and ${b2.toFixed(0)} ms (${(b / a).toFixed(2)}×)`);
  });

  it('memory stays bounded for a file of 512 MiB (pack and unpack)', async () => {
    const dir = join(work, 'big');
    await mkdir(dir);
    const fh = await open(join(dir, 'large.bin'), 'w');
    const chunk = seededText(9, 1024 * 1024);
    for (let i = 0; i < 512; i++) await fh.write(chunk);
    await fh.close();
    const before = process.memoryUsage().rss;
    const packPeak = await peakRss(() => pack({ source: dir, out: join(work, 'set-big'), jobs: 2, level: 1 }));
    let restored: Awaited<ReturnType<typeof unpack>> | undefined;
    const unpackPeak = await peakRss(async () => (restored = await unpack({ inputs: [join(work, 'set-big')], dest: join(work, 'out-big') })));
    // The file went through the parallel chunked deflate: it must come back whole (CRC and sha256 checked).
    assert.deepEqual(restored?.problems, []);
    assert.equal(restored?.bytes, 512 * 1024 * 1024);
    const limit = before + 250 * 1024 * 1024;
    assert.ok(packPeak < limit, `pack peak ${(packPeak / 2 ** 20).toFixed(0)} MiB (started at ${(before / 2 ** 20).toFixed(0)} MiB)`);
    assert.ok(unpackPeak < limit, `unpack peak ${(unpackPeak / 2 ** 20).toFixed(0)} MiB`);
  });
});
