/** The read-ahead window of RandomReader: an archive read front to back is read once, never going back. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RandomReader } from '../../src/unpack/random-reader.js';
import { removeTree, seededBytes, tempDir } from '../helpers/tree.js';

const MiB = 1024 * 1024;

describe('RandomReader', () => {
  let work: string;
  let file: string;
  let data: Buffer;
  before(async () => {
    work = await tempDir();
    file = join(work, 'a.bin');
    data = seededBytes(7, 4 * MiB + 1000);
    await writeFile(file, data);
  });
  after(async () => {
    await removeTree(work);
  });

  /** The reader and the [position, length] of every read it makes of the file. */
  async function counted(): Promise<{ r: RandomReader; reads: [number, number][] }> {
    const r = await RandomReader.open(file);
    const reads: [number, number][] = [];
    const fh = r.handle;
    const read = fh.read.bind(fh) as (b: Buffer, o: number, l: number, p: number) => Promise<{ bytesRead: number; buffer: Buffer }>;
    (fh as unknown as { read: typeof read }).read = async (b, o, l, p) => {
      const got = await read(b, o, l, p);
      reads.push([p, got.bytesRead]);
      return got;
    };
    return { r, reads };
  }

  it('a read running past the window reads on from where the window ended, not again from its start', async () => {
    const { r, reads } = await counted();
    try {
      assert.ok((await r.read(0, 100)).equals(data.subarray(0, 100)));
      // A blob that starts near the end of the window and runs past it.
      assert.ok((await r.read(MiB - 300, 1000)).equals(data.subarray(MiB - 300, MiB + 700)));
      // One larger than a window, starting inside the current one.
      assert.ok((await r.read(2 * MiB - 500, MiB + 2000)).equals(data.subarray(2 * MiB - 500, 3 * MiB + 1500)));
      assert.ok((await r.read(4 * MiB, 5000)).equals(data.subarray(4 * MiB)));
    } finally {
      await r.close();
    }
    // No byte read twice, never going back: each read starts where the one before ended (or past it,
    // over bytes no one asked for).
    let at = 0;
    for (const [p, n] of reads) {
      assert.ok(p >= at, JSON.stringify(reads));
      at = p + n;
    }
    assert.equal(reads.length, 4, JSON.stringify(reads));
  });

  it('reads on to the end through two buffers, not new memory for each window', async () => {
    const r = await RandomReader.open(file);
    const used = new Set<ArrayBufferLike>();
    const fh = r.handle;
    const read = fh.read.bind(fh) as (b: Buffer, o: number, l: number, p: number) => Promise<{ bytesRead: number; buffer: Buffer }>;
    (fh as unknown as { read: typeof read }).read = async (b, o, l, p) => {
      used.add(b.buffer);
      return read(b, o, l, p);
    };
    try {
      await r.readOn(0);
      // The window is the last one read, whole.
      assert.ok((await r.read(4 * MiB, 1000)).equals(data.subarray(4 * MiB)));
    } finally {
      await r.close();
    }
    assert.equal(used.size, 2);
  });
});
