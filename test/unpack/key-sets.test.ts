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
