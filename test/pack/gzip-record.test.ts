/**
 * The records' gzip copies (src/pack/gzip-record.ts): one zlib -9 member under zlib, else members of
 * RECORD_MEMBER_BYTES of input each (made here or by the pool's workers), which gunzip as one stream.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import { gzipMembers, RECORD_LIBDEFLATE_LEVEL, RECORD_MEMBER_BYTES, RECORD_ZLIB_LEVEL, writeGzip, type MemberMaker } from '../../src/pack/gzip-record.js';
import { CompressPool } from '../../src/pack/compress.js';
import { deflateBackend, gzipMember } from '../../src/worker/deflate.js';
import { removeTree, seededText, tempDir } from '../helpers/tree.js';

/** `data` cut into pieces of uneven sizes, as a stream would give them. */
async function* pieces(data: Buffer): AsyncGenerator<Uint8Array> {
  for (let at = 0, n = 1; at < data.length; at += n, n = (n * 7 + 13) % 300_000) yield data.subarray(at, at + n);
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}

/** The members of a run of gzip members (each with the 10-byte header gzipMember writes), each inflated on its own. */
function members(gz: Buffer): Buffer[] {
  const found: Buffer[] = [];
  for (let at = 0; at < gz.length; ) {
    assert.deepEqual([...gz.subarray(at, at + 4)], [0x1f, 0x8b, 8, 0]);
    const r = inflateRawSync(gz.subarray(at + 10), { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    found.push(r.buffer);
    at += 10 + r.engine.bytesWritten + 8;
  }
  return found;
}

describe('the records\' gzip copies', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await removeTree(dir);
  });

  const data = seededText(5, 2 * RECORD_MEMBER_BYTES + 12_345);

  it('gzipMembers: a member per RECORD_MEMBER_BYTES of input, the last shorter; gunzipped together they are the input', async () => {
    const sizes: number[] = [];
    const make: MemberMaker = async (d, l, z) => {
      sizes.push(d.length);
      assert.equal(l, RECORD_LIBDEFLATE_LEVEL);
      assert.equal(z, RECORD_ZLIB_LEVEL);
      return gzipMember(d, l, z);
    };
    const gz = await collect(gzipMembers(pieces(data), make));
    assert.deepEqual(sizes, [RECORD_MEMBER_BYTES, RECORD_MEMBER_BYTES, 12_345]);
    assert.ok(gunzipSync(gz).equals(data));
    // Exactly-full members leave no empty one behind; no input still makes one (empty) member.
    sizes.length = 0;
    assert.ok(gunzipSync(await collect(gzipMembers(pieces(data.subarray(0, RECORD_MEMBER_BYTES)), make))).equals(data.subarray(0, RECORD_MEMBER_BYTES)));
    assert.deepEqual(sizes, [RECORD_MEMBER_BYTES]);
    sizes.length = 0;
    assert.equal(gunzipSync(await collect(gzipMembers(pieces(Buffer.alloc(0)), make))).length, 0);
    assert.deepEqual(sizes, [0]);
  });

  it('gzipMember: a gzip member with no name and time 0, which gunzips to its input', () => {
    const m = gzipMember(data.subarray(0, 50_000), RECORD_LIBDEFLATE_LEVEL, RECORD_ZLIB_LEVEL);
    assert.deepEqual([...m.subarray(0, 4)], [0x1f, 0x8b, 8, 0]);
    assert.equal(m.readUInt32LE(4), 0);
    assert.ok(gunzipSync(m).equals(data.subarray(0, 50_000)));
  });

  it('writeGzip: zlib -9\'s own single member under zlib; otherwise members, made by the pool\'s workers as well as here', async () => {
    const file = join(dir, 'a.gz');
    await writeGzip(pieces(data), file);
    const here = await readFile(file);
    assert.ok(gunzipSync(here).equals(data));
    if (deflateBackend === 'zlib') {
      assert.ok(here.equals(gzipSync(data, { level: 9 })), 'byte for byte what zlib -9 writes');
      return;
    }
    assert.deepEqual(members(here).map((m) => m.length), [RECORD_MEMBER_BYTES, RECORD_MEMBER_BYTES, 12_345]);
    const pool = new CompressPool(6, 2);
    try {
      const inPool = join(dir, 'b.gz');
      await writeGzip(pieces(data), inPool, pool.gzipMember);
      assert.ok((await readFile(inPool)).equals(here), 'the workers write the same bytes');
    } finally {
      await pool.close();
    }
  });
});
