/** TarTracker follows the headers of the windows it is shown as walk-archive.ts walks them, and gives up at what the walk would report. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { RandomReader } from '../../src/unpack/random-reader.js';
import { OffsetTally, TarTracker } from '../../src/unpack/tar-tracker.js';
import { walkArchive } from '../../src/unpack/walk-archive.js';
import { usePackedSet } from './archive.js';

async function walkedBlobs(path: string): Promise<number[]> {
  const r = await RandomReader.open(path);
  const starts: number[] = [];
  try {
    await walkArchive(r, {
      dir: async () => undefined,
      blob: async (_d, _e, start) => void starts.push(start),
      member: async (_d, _b, start) => void starts.push(start),
      part: async (_d, _b, _i, start) => void starts.push(start),
      record: async () => undefined,
      problem: (path, reason) => assert.fail(`${path}: ${reason}`),
    });
  } finally {
    await r.close();
  }
  return starts;
}

function shown(bytes: Buffer, cuts: number[]): TarTracker {
  const t = new TarTracker(bytes.length);
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    t.feed(at, bytes.subarray(at, c));
    at = c;
  }
  return t;
}

describe('TarTracker', () => {
  const at = usePackedSet();

  it('finds every blob and part the walk finds, however the bytes are cut into windows', async () => {
    for (const v of at.p.volumes) {
      const bytes = await readFile(v.archive);
      const want = await walkedBlobs(v.archive);
      for (const step of [bytes.length, 4096, 777, 100]) {
        const cuts = Array.from({ length: Math.ceil(bytes.length / step) - 1 }, (_, i) => (i + 1) * step);
        const t = shown(bytes, cuts);
        assert.equal(t.state, 'complete', `${v.archive} in windows of ${step}`);
        const tally = new OffsetTally();
        for (const o of want) tally.add(o);
        assert.ok(t.blobs.equals(tally) && t.blobs.count === want.length, `${v.archive} in windows of ${step}: the blobs the walk finds`);
        assert.equal(t.covered, bytes.length);
      }
    }
  });

  it('fails at a damaged header (a byte of the first one changed) and stops at a gap in what it is shown', async () => {
    const bytes = await readFile(at.p.volumes[0]?.archive as string);
    const damaged = Buffer.from(bytes);
    damaged[3] = (damaged[3] as number) ^ 0x20;
    assert.equal(shown(damaged, [1000]).state, 'failed');
    const t = new TarTracker(bytes.length);
    t.feed(0, bytes.subarray(0, 5000));
    t.feed(6000, bytes.subarray(6000));
    assert.equal(t.state, 'running');
    assert.equal(t.covered, 5000);
    // Shown the missing stretch (and again what it has seen), it goes on to the end.
    t.feed(4000, bytes.subarray(4000));
    assert.equal(t.state, 'complete');
  });
});
