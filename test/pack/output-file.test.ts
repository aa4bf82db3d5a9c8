import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OutputFile } from '../../src/pack/output-file.js';
import { removeTree, seededBytes, tempDir } from '../helpers/tree.js';

describe('OutputFile', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('patches bytes still in its buffer, already on disk, and across the boundary', async () => {
    const path = join(work, 'out.bin');
    const out = await OutputFile.create(path);
    const expected = Buffer.alloc(10 * 1024 * 1024);
    let at = 0;
    // Many writes of uneven sizes: the writer flushes every 4 MiB, so patches land on both sides.
    for (let i = 0; at < expected.length; i++) {
      const chunk = seededBytes(i, Math.min(expected.length - at, 100_000 + (i % 7) * 3000));
      await out.write(chunk);
      chunk.copy(expected, at);
      at += chunk.length;
      if (i % 5 === 0 && at > 2000) {
        const pos = (i * 7919) % (at - 1000);
        const patch = seededBytes(1000 + i, 700);
        await out.patch(pos, patch);
        patch.copy(expected, pos);
      }
    }
    // Straddle the first flush boundary (4 MiB) explicitly.
    const straddle = seededBytes(99, 4096);
    await out.patch(4 * 1024 * 1024 - 2048, straddle);
    straddle.copy(expected, 4 * 1024 * 1024 - 2048);
    assert.equal(out.offset, expected.length);
    await out.close();
    assert.ok((await readFile(path)).equals(expected));
  });

  it('refuses to patch beyond what was written', async () => {
    const out = await OutputFile.create(join(work, 'small.bin'));
    await out.write(Buffer.from('abc'));
    await assert.rejects(out.patch(2, Buffer.from('xy')), RangeError);
    await out.close();
  });
});
