/** The old generation's growth is held at 2× unless the user sized or paced it on node's command line. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../src/cli/heap-growth.js';

describe('heapGrowthFlag', () => {
  it('holds the growth at 2× by default', () => {
    assert.equal(HEAP_GROWING_PERCENT, 100);
    assert.equal(heapGrowthFlag([], ''), '--heap-growing-percent=100');
    assert.equal(heapGrowthFlag(['--enable-source-maps'], '--max-semi-space-size=8'), '--heap-growing-percent=100');
  });

  it('leaves a growth or an old-generation size given on node’s command line or in NODE_OPTIONS alone', () => {
    assert.equal(heapGrowthFlag(['--heap-growing-percent=50'], ''), null);
    assert.equal(heapGrowthFlag([], '--max-old-space-size=4096'), null);
    assert.equal(heapGrowthFlag(['--max_old_space_size=512'], ''), null);
    assert.equal(heapGrowthFlag([], '--inspect --max-heap-size=300'), null);
  });
});
