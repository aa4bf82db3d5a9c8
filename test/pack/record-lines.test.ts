import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordLines } from '../../src/pack/record-lines.js';
import { removeTree, tempDir } from '../helpers/tree.js';

async function linesOf(text: string): Promise<string[]> {
  const dir = await tempDir();
  try {
    const path = join(dir, 'r.jsonl');
    await writeFile(path, text);
    const r = new RecordLines(path);
    const out: string[] = [];
    for (let l = r.next(); l !== null; l = r.next()) out.push(l);
    assert.equal(r.next(), null, 'stays at its end');
    return out;
  } finally {
    await removeTree(dir);
  }
}

describe('RecordLines', () => {
  it('reads lines across chunk boundaries, a character split by one included', async () => {
    // 256 KiB chunks: lines of 1,000 characters, many of them 2-byte 'é', cross several boundaries.
    const want = Array.from({ length: 1200 }, (_, i) => `${i}:${'é'.repeat(300)}${'x'.repeat(i % 7)}`);
    assert.deepEqual(await linesOf(`${want.join('\n')}\n`), want);
  });

  it('keeps empty lines and a last line without its newline', async () => {
    assert.deepEqual(await linesOf('a\n\nb'), ['a', '', 'b']);
    assert.deepEqual(await linesOf(''), []);
  });
});
