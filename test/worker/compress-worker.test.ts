import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import run, { decodeBatch, encodeBatch, JOB_BLOB, JOB_FAILED, JOB_SAME, RESULT_NUMBERS, type CompressBatchResult, type CompressJob } from '../../src/worker/compress-worker.js';
import { valueSymbol } from 'piscina';
import { removeTree, tempDir } from '../helpers/tree.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('compress worker batches as columns', () => {
  it('decodes a batch to the jobs it was encoded from', () => {
    const jobs: CompressJob[] = [
      { abs: '/t/ä b/x.txt', name: 'x.txt', size: 3, mtimeSec: -5, mode: 0o644 },
      { abs: '/t/y', name: 'y', size: 0, mtimeSec: 1_700_000_000, mode: 0o4755, sameAs: 'f'.repeat(64) },
    ];
    assert.deepEqual(decodeBatch(encodeBatch(6, jobs)), jobs);
  });

  it('answers with one buffer of blobs and a column of numbers per job: blob, same, failed', async () => {
    const dir = await tempDir();
    try {
      await mkdir(join(dir, 'd'));
      await writeFile(join(dir, 'a'), 'hello');
      await writeFile(join(dir, 'b'), 'abc');
      const jobs: CompressJob[] = [
        { abs: join(dir, 'a'), name: 'a', size: 5, mtimeSec: 0, mode: 0o644 },
        { abs: join(dir, 'missing'), name: 'missing', size: 1, mtimeSec: 0, mode: 0o644 },
        { abs: join(dir, 'b'), name: 'b', size: 3, mtimeSec: 0, mode: 0o644, sameAs: sha('abc') },
        { abs: join(dir, 'd'), name: 'd', size: 0, mtimeSec: 0, mode: 0o644 },
        { abs: join(dir, 'b'), name: 'b', size: 3, mtimeSec: 0, mode: 0o644 },
      ];
      // Outside piscina the answer is still wrapped for transfer.
      const r = (run(encodeBatch(6, jobs)) as unknown as Record<symbol, CompressBatchResult>)[valueSymbol] as CompressBatchResult;
      const col = (i: number, k: number): number => r.numbers[i * RESULT_NUMBERS + k] as number;
      assert.deepEqual([0, 1, 2, 3, 4].map((i) => col(i, 0)), [JOB_BLOB, JOB_FAILED, JOB_SAME, JOB_FAILED, JOB_BLOB]);
      assert.equal(r.reasons.length, 2);
      assert.match(r.reasons[1] as string, /no longer a regular file/);
      // Each blob starts where the one before ends; failed and same jobs hold none.
      assert.equal(col(1, 1), col(0, 1));
      assert.equal(col(2, 1), col(0, 1));
      assert.equal(col(4, 1), r.data.length);
      assert.equal(Buffer.from(r.data.subarray(0, col(0, 1))).readUInt32LE(0), 0x04034b50, 'a zip local header');
      assert.deepEqual([col(0, 2), col(4, 2), col(4, 5)], [5, 3, 0]);
      assert.equal(r.sha256.length, 5 * 64);
      assert.equal(r.sha256.slice(0, 64), sha('hello'));
      assert.equal(r.sha256.slice(64, 128), ' '.repeat(64));
      assert.equal(r.sha256.slice(256), sha('abc'));
      // A file longer or shorter than the scan saw is read up to the scanned size, and said to have changed.
      const grown = (run(encodeBatch(6, [{ abs: join(dir, 'a'), name: 'a', size: 4, mtimeSec: 0, mode: 0o644 }, { abs: join(dir, 'b'), name: 'b', size: 5, mtimeSec: 0, mode: 0o644 }, jobs[4] as CompressJob])) as unknown as Record<symbol, CompressBatchResult>)[valueSymbol] as CompressBatchResult;
      assert.deepEqual([0, 1, 2].map((i) => [grown.numbers[i * RESULT_NUMBERS + 2], grown.numbers[i * RESULT_NUMBERS + 5]]), [[4, 1], [3, 1], [3, 0]]);
      assert.equal(grown.sha256.slice(0, 64), sha('hell'));
    } finally {
      await removeTree(dir);
    }
  });
});
