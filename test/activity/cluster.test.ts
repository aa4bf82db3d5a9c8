import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clusterBounds, clusterOf, parseDuration } from '../../src/activity/cluster.js';
import { comparePreorder } from '../../src/format/names.js';

describe('clustering by mtime', () => {
  const H = 3_600_000;
  it('a gap of radius+1 s splits, radius−1 s does not, radius exactly does not', () => {
    const t = Float64Array.from([0, H - 1000, H - 1000 + H + 1000, H - 1000 + H + 1000 + H]);
    assert.deepEqual(clusterBounds(t, H), [
      [0, H - 1000],
      [2 * H, 3 * H],
    ]);
  });
  it('sorts first and finds the cluster of a time', () => {
    const b = clusterBounds(Float64Array.from([50 * H, 0, 10]), H);
    assert.deepEqual(b, [
      [0, 10],
      [50 * H, 50 * H],
    ]);
    assert.equal(clusterOf(b, 5), 0);
    assert.equal(clusterOf(b, 50 * H), 1);
  });
  it('reads durations', () => {
    assert.equal(parseDuration('1h'), H);
    assert.equal(parseDuration('30m'), H / 2);
    assert.equal(parseDuration('2d'), 48 * H);
    assert.equal(parseDuration('1.5h'), 1.5 * H);
    assert.equal(parseDuration('soon'), null);
  });
  it('orders paths depth first by bytes, a folder before its contents', () => {
    const paths = ['a.c', 'a/b', 'a', 'b', 'a/b/c', 'a/a'];
    assert.deepEqual([...paths].sort(comparePreorder), ['a', 'a/a', 'a/b', 'a/b/c', 'a.c', 'b']);
  });
});

describe('ClusterBuckets', () => {
  it('finds the clusters a sort of every time finds, keeping a bucket per radius that holds a change', async () => {
    const { ClusterBuckets } = await import('../../src/activity/cluster.js');
    const { mulberry32 } = await import('../helpers/prng.js');
    const rand = mulberry32(21);
    for (const radius of [0, 1, 1000, 3_600_000]) {
      const times = Array.from({ length: 3000 }, () => Math.floor(rand() * 200 * 3_600_000) + (rand() < 0.3 ? radius : 0));
      const sorted = [...times].sort((a, b) => a - b);
      const want: [number, number][] = [];
      for (const t of sorted) {
        const last = want[want.length - 1];
        if (last !== undefined && t - last[1] <= radius) last[1] = t;
        else want.push([t, t]);
      }
      const b = new ClusterBuckets(radius);
      for (const t of times) b.add(t);
      assert.deepEqual(b.bounds(), want, `radius ${radius}`);
      // A gap of exactly the radius joins, one more splits, across a bucket's edge.
      const edge = new ClusterBuckets(1000);
      for (const t of [999, 1999, 3000]) edge.add(t);
      assert.deepEqual(edge.bounds(), [[999, 1999], [3000, 3000]]);
    }
  });
});
