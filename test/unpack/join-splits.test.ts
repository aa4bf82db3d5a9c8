import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { splitVerdict } from '../../src/unpack/join-splits.js';

/** Parts `indexes`, part i found on volume `first + i - 1`. */
const on = (indexes: number[], first: number | null) => indexes.map((i) => ({ volume: first === null ? null : first + i - 1 }));

describe('splitVerdict', () => {
  it('joins parts 1..n that add up to the whole zip', () => {
    assert.equal(splitVerdict([1, 2, 3], on([1, 2, 3], 4), 300, 300, null), null);
  });

  it('does not join parts that do not add up, and guesses the next volume', () => {
    assert.equal(splitVerdict([1, 2], on([1, 2], 4), 200, 300, null), 'split across volumes and incomplete here: insert volume 6 and maybe later ones');
    assert.equal(splitVerdict([1, 2], on([1, 2], 4), 200, 300, 9), 'split across volumes and incomplete here: insert volume 6 (and maybe up to 9)');
    assert.equal(splitVerdict([1, 2], on([1, 2], 4), 200, 300, 6), 'split across volumes and incomplete here: insert volume 6');
    assert.equal(splitVerdict([1, 2], on([1, 2], 4), 200, 300, 5), 'split across volumes and incomplete here');
  });

  it('names the volumes of the parts missing in between (non-contiguous parts)', () => {
    // Parts 1 and 3 are here, adding up to the whole zip's length: part 2 (volume 5) is missing.
    assert.equal(splitVerdict([1, 3], on([1, 3], 4), 300, 300, null), 'split across volumes and incomplete here: insert volume 5');
  });

  it('without part 1 (length unknown) names the parts before and the volume after', () => {
    assert.equal(splitVerdict([2, 3], on([2, 3], 7), 200, null, 10), 'split across volumes and incomplete here: insert volume 7, volume 10');
  });

  it('guesses nothing when no part\'s volume is known', () => {
    assert.equal(splitVerdict([2], on([2], null), 100, null, null), 'split across volumes and incomplete here');
  });
});
