import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { blobsOnReadable, stretches, tally } from '../../scripts/damage-count.js';

describe('damage-compare counting', () => {
  it('tells files restored whole from files written wrong and files lost', () => {
    const original = new Map([['a', '1'], ['b', '2'], ['c', '3'], ['d', '4']]);
    const restored = new Map([['a', '1'], ['b', 'x'], ['d', '4']]);
    assert.deepEqual(tally(original, restored), { identical: 2, wrong: 1, lost: 1 });
  });

  it('places stretches at the same relative positions, aligned to the sector, merged when they touch', () => {
    assert.deepEqual(stretches(100_000, [0, 0.5, 0.5001], 8192, 2048), [[0, 8192], [45056, 53248]]);
    assert.deepEqual(stretches(10_000, [0.99], 4096), [[5844, 9940]]);
    assert.deepEqual(stretches(100, [0.5], 4096), [[0, 100]]);
  });

  it("counts an xtar file whole only when no damaged byte touches its blob's range", () => {
    const line = (path: string, offset: number, length: number): string => JSON.stringify({ path, size: 1, parts: [{ volume: 1, offset, length }] });
    const catalog = [
      JSON.stringify({ xtar: 'catalog', version: 1 }),
      line('t/before', 0, 2048), // ends where the damage starts
      line('t/touching', 2047, 2),
      line('t/inside', 3000, 10),
      line('t/after', 4096, 100), // starts where the damage ends
      JSON.stringify({ path: 't/empty', size: 0, parts: [] }),
      JSON.stringify({ path: 't/gone', skipped: 'removed' }),
      JSON.stringify({ end: true, entries: 6, sha256: '0' }),
      '',
    ].join('\n');
    assert.deepEqual([...blobsOnReadable(catalog, [[2048, 4096]])].sort(), ['t/after', 't/before', 't/empty']);
  });
});
