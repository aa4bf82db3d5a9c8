/**
 * The compact sets unpack holds per file for the whole run: BlobKeySet (ctx.restored) and LineSet
 * (ctx.metaDone) answer as a Set would, whatever order keys come in.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BlobKeySet, blobKey, LineSet } from '../../src/unpack/context.js';

describe('BlobKeySet', () => {
  it('answers as a Set for keys in order, out of order, deleted and as text', () => {
    const s = new BlobKeySet();
    const model = new Set<number | string>();
    const keys: (number | string)[] = [];
    for (let i = 0; i < 3000; i++) keys.push(blobKey(1 + (i % 3 === 0 ? 1 : 0), i * 1536));
    keys.push(blobKey(2 ** 14, 5), blobKey(1, 2 ** 41), blobKey(1, 0), blobKey(1, 1536), 7, 3);
    for (const k of keys) {
      s.add(k);
      model.add(k);
    }
    for (const k of [blobKey(1, 1536), blobKey(2, 0), 3, blobKey(2 ** 14, 5), 999]) assert.equal(s.delete(k), model.delete(k), String(k));
    for (let i = -1; i < 3100; i++) for (const v of [1, 2]) assert.equal(s.has(blobKey(v, i * 1536)), model.has(blobKey(v, i * 1536)), `${v}:${i}`);
    for (const k of [7, 3, blobKey(2 ** 14, 5), blobKey(1, 2 ** 41), 8]) assert.equal(s.has(k), model.has(k), String(k));
    s.add(blobKey(1, 1536));
    assert.ok(s.has(blobKey(1, 1536)), 'added again after its delete');
  });
});

describe('LineSet', () => {
  it('adds, answers and deletes line numbers, counting each once', () => {
    const s = new LineSet();
    for (const n of [2, 3, 31, 32, 33, 100_000, 3]) s.add(n);
    assert.equal(s.size, 6);
    assert.ok(s.has(32) && s.has(100_000) && !s.has(4) && !s.has(5_000_000));
    assert.equal(s.delete(32), true);
    assert.equal(s.delete(32), false);
    assert.equal(s.delete(4), false);
    assert.equal(s.size, 5);
    assert.ok(!s.has(32) && s.has(31) && s.has(33));
  });
});

describe('OffsetTally', () => {
  it('is equal to another exactly when they hold the same offsets, whatever the order of adds and removes', async () => {
    const { OffsetTally } = await import('../../src/unpack/tar-tracker.js');
    const offsets = Array.from({ length: 5000 }, (_, i) => 512 + i * 1536 + (i % 7 === 0 ? 2 ** 40 : 0));
    const a = new OffsetTally();
    const b = new OffsetTally();
    for (const o of offsets) a.add(o);
    for (const o of [...offsets].reverse()) b.add(o);
    assert.ok(a.equals(b) && b.equals(a));
    // One offset missing, one moved by a block, one swapped for another: never equal.
    b.remove(offsets[17] as number);
    assert.ok(!a.equals(b));
    b.add((offsets[17] as number) + 512);
    assert.ok(!a.equals(b), 'same count, one offset moved');
    b.remove((offsets[17] as number) + 512);
    b.add(offsets[17] as number);
    assert.ok(a.equals(b), 'removed and added back');
    // Every single offset out of 5,000 changed tells the tallies apart.
    for (const [i, o] of offsets.entries()) {
      if (i % 50 !== 0) continue;
      b.remove(o);
      b.add(o + 1024);
      assert.ok(!a.equals(b), `offset ${o} moved`);
      b.remove(o + 1024);
      b.add(o);
    }
    assert.ok(new OffsetTally().equals(undefined));
    assert.ok(!a.equals(undefined));
  });

  it('is keyed per run: offsets aimed to collide under a fixed mix (same count, same sums) are told apart', async () => {
    const { OffsetTally } = await import('../../src/unpack/tar-tracker.js');
    // The unkeyed mix the tallies used before, and the inverse of murmur3's finalizer.
    const fmix32 = (h: number): number => {
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      return (h ^ (h >>> 16)) >>> 0;
    };
    const unfmix32 = (h: number): number => {
      h ^= h >>> 16;
      h = Math.imul(h, 0x7ed1b41d);
      h ^= (h >>> 13) ^ (h >>> 26);
      h = Math.imul(h, 0xa5cb9243);
      return (h ^ (h >>> 16)) >>> 0;
    };
    const fixedH2 = (h1: number, hi: number, lo: number): number => fmix32(h1 ^ Math.imul(hi ^ 0x27d4eb2f, 0x165667b1) ^ (lo >>> 7));
    /** The offset in 32-bit word `hi` whose fixed h1 is `h1` (its low word solved through the inverse). */
    const aimed = (hi: number, h1: number): { offset: number; h2: number } => {
      const lo = (unfmix32(h1) ^ fmix32(hi + 0x9e3779b9)) >>> 0;
      return { offset: hi * 2 ** 32 + lo, h2: fixedH2(h1, hi, lo) };
    };
    // Pairs whose fixed h1 values cancel; two pairs whose h2 sums meet (a birthday search, ~2^16 pairs) collide.
    const seen = new Map<number, [number, number]>();
    let found: [[number, number], [number, number]] | null = null;
    for (let i = 0; found === null; i++) {
      const t = fmix32(i + 1);
      const x = aimed(2 * i, t);
      const y = aimed(2 * i + 1, (2 ** 32 - t) >>> 0);
      const sum = (x.h2 + y.h2) >>> 0;
      const other = seen.get(sum);
      if (other !== undefined) found = [other, [x.offset, y.offset]];
      else seen.set(sum, [x.offset, y.offset]);
    }
    const [p, q] = found;
    const a = new OffsetTally();
    const b = new OffsetTally();
    for (const o of p) a.add(o);
    for (const o of q) b.add(o);
    assert.equal(a.count, b.count);
    assert.ok(!a.equals(b), `${p.join(',')} and ${q.join(',')} collide under the fixed mix, not under the run's key`);
  });
});
