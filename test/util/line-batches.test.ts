/** readLineBatches and its LineSplitter break lines exactly as readline does, whatever the chunking. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { LineSplitter, readLineBatches } from '../../src/util/lines.js';
import { removeTree, tempDir } from '../helpers/tree.js';

async function viaReadline(data: Buffer): Promise<string[]> {
  const input = Readable.from([data]);
  input.setEncoding('utf8');
  const out: string[] = [];
  for await (const l of createInterface({ input, crlfDelay: Infinity })) out.push(l);
  return out;
}

function viaSplitter(data: Buffer, cuts: number[]): string[] {
  const s = new LineSplitter();
  const out: string[] = [];
  let at = 0;
  for (const c of [...cuts, data.length]) {
    out.push(...s.push(data.subarray(at, c)));
    at = c;
  }
  return [...out, ...s.end()];
}

describe('readLineBatches', () => {
  it('splits as readline does, at any chunk boundary (\\n, \\r\\n, lone \\r, a last line without newline, UTF-8 across chunks)', async () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['a', 'b', '\n', '\r', '\r\n', 'é', '€', '{"x":1}', '\n\n'];
    for (let t = 0; t < 300; t++) {
      const text = Array.from({ length: rnd(40) }, () => alphabet[rnd(alphabet.length)]).join('');
      const data = Buffer.from(text);
      const cuts = Array.from({ length: rnd(5) }, () => rnd(data.length + 1)).sort((a, b) => a - b);
      assert.deepEqual(viaSplitter(data, cuts), await viaReadline(data), JSON.stringify({ text, cuts }));
    }
  });

  it('reads a byte range of a file, and a gzip one, in batches', async () => {
    const dir = await tempDir();
    try {
      const lines = Array.from({ length: 30_000 }, (_, i) => `{"path":"f${i}","n":${i}}`);
      const text = `${lines.join('\n')}\n`;
      const plain = join(dir, 'r.jsonl');
      await writeFile(plain, Buffer.concat([Buffer.from('HEAD'), Buffer.from(text), Buffer.from('TAIL')]));
      const got: string[] = [];
      let batches = 0;
      for await (const b of readLineBatches(plain, { start: 4, end: 4 + Buffer.byteLength(text) })) {
        batches++;
        got.push(...b);
      }
      assert.deepEqual(got, lines);
      assert.ok(batches > 1 && batches < 10, `${batches} batches`);
      const gz = join(dir, 'r.jsonl.gz');
      await writeFile(gz, gzipSync(text));
      const unz: string[] = [];
      for await (const b of readLineBatches(gz, undefined, true)) unz.push(...b);
      assert.deepEqual(unz, lines);
    } finally {
      await removeTree(dir);
    }
  });
});
