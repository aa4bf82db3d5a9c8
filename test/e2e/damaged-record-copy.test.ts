/**
 * A gzip'd record copy inside the .xtar (ROOT.xtar-catalog.jsonl.gz, ROOT.xtar-structure.jsonl.gz)
 * whose compressed bytes are damaged is a damaged record — named as a problem, the run goes on —
 * never a zlib error that ends the run ("xtar: invalid bit length repeat."). The plain record beside
 * it is removed, so the copy is all there is; bytes inside the copy's data (not its tar header) are
 * flipped with a fixed seed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xtar } from '../helpers/cli.js';
import { mulberry32 } from '../helpers/prng.js';
import { removeTree, seededBytes, seededText, snapshot, tempDir } from '../helpers/tree.js';

/** The data range of the tar entry whose name ends with `suffix` (names here fit the ustar name field). */
function entryData(archive: Buffer, suffix: string): { start: number; size: number } {
  for (let off = 0; off + 512 <= archive.length; off += 512) {
    const name = archive.toString('latin1', off, off + 100).replace(/\0.*$/s, '');
    if (name !== '' && name.endsWith(suffix)) {
      const size = Number.parseInt(archive.toString('latin1', off + 124, off + 136).replace(/\0.*$/s, '').trim(), 8);
      return { start: off + 512, size };
    }
  }
  throw new Error(`no entry ${suffix}`);
}

describe("a damaged gzip'd record copy", () => {
  let work: string;
  let src: string;
  let pristine: string;
  let volumeName: string;

  before(async () => {
    work = await tempDir();
    src = join(work, 'tree');
    for (let d = 0; d < 3; d++) {
      const dir = join(src, `dir${d}`);
      await mkdir(dir, { recursive: true });
      for (let f = 0; f < 30; f++) await writeFile(join(dir, `f${f}.txt`), f % 3 === 0 ? seededBytes(d * 100 + f, 3000 + f * 97) : seededText(d * 100 + f, 3000 + f * 97));
    }
    pristine = join(work, 'set');
    const r = await xtar(['pack', src, '--out', pristine]);
    assert.equal(r.status, 0, r.stderr);
    volumeName = (await readdir(pristine)).find((n) => n.includes('-vol')) as string;
  });
  after(async () => {
    await removeTree(work);
  });

  /** A copy of the set without the volume's plain `record`, the bytes of its copy's data flipped; its volume folder and .xtar. */
  async function damagedCopy(name: string, record: 'catalog.jsonl' | 'structure.jsonl'): Promise<{ set: string; vol: string; archive: string }> {
    const set = join(work, `set-${name}`);
    await cp(pristine, set, { recursive: true });
    const vol = join(set, volumeName);
    await rm(join(vol, record));
    const archive = join(vol, `${volumeName}.xtar`);
    const buf = await readFile(archive);
    const { start, size } = entryData(buf, `.xtar-${record}.gz`);
    const next = mulberry32(record.length);
    // Past gzip's 10-byte header, short of its 8-byte trailer: the deflate stream itself.
    for (let i = start + 20; i < start + Math.min(size - 8, 400); i++) buf[i] = (buf[i]! ^ (1 + Math.floor(next() * 255))) & 0xff;
    await writeFile(archive, buf);
    return { set, vol, archive };
  }

  async function assertAllRestored(dest: string): Promise<void> {
    const want = await snapshot(src);
    const got = await snapshot(join(dest, 'tree'));
    for (const [p, info] of want) if (info.type === 'file') assert.equal(got.get(p)?.sha256, info.sha256, `${p} restored identically`);
  }

  it('catalog copy: unpack and verify name it and restore every file by the tar walk (exit 1)', async () => {
    const { vol, archive } = await damagedCopy('catalog', 'catalog.jsonl');
    const dest = join(work, 'out-catalog');
    const u = await xtar(['unpack', vol, '--dest', dest]);
    assert.equal(u.status, 1, u.stderr);
    assert.doesNotMatch(u.stderr, /^xtar: invalid|internal error/m, 'no zlib error ends the run');
    assert.match(u.stderr, /catalog copy\): the rest of the record does not inflate: its compressed bytes are damaged/);
    assert.match(u.stderr, /the copy of catalog\.jsonl inside the archive is damaged/);
    await assertAllRestored(dest);
    const v = await xtar(['verify', vol]);
    assert.equal(v.status, 1, v.stderr);
    assert.match(v.stderr, /catalog copy\): the rest of the record does not inflate/);
    assert.match(v.stdout + v.stderr, /90 files intact/);
    // The .xtar alone (no volume folder around it): the same.
    const bare = join(work, 'bare-catalog');
    await mkdir(bare);
    await cp(archive, join(bare, `${volumeName}.xtar`));
    const b = await xtar(['unpack', join(bare, `${volumeName}.xtar`), '--dest', join(work, 'out-bare-catalog')]);
    assert.equal(b.status, 1, b.stderr);
    await assertAllRestored(join(work, 'out-bare-catalog'));
    const bv = await xtar(['verify', join(bare, `${volumeName}.xtar`)]);
    assert.equal(bv.status, 1, bv.stderr);
    assert.match(bv.stderr, /does not inflate/);
    // expand-structure reads the catalog copy for the names a platform changed: named, the structure still applied.
    const e = await xtar(['expand-structure', join(bare, `${volumeName}.xtar`), '--dest', dest]);
    assert.equal(e.status, 1, e.stderr);
    assert.match(e.stderr, /catalog copy\): the rest of the record does not inflate/);
    assert.match(e.stdout + e.stderr, /applied structure/);
  });

  it('structure copy: unpack and verify name it, restore every file, apply none of it (exit 1); expand-structure refuses it in one sentence', async () => {
    const { vol, archive } = await damagedCopy('structure', 'structure.jsonl');
    const bare = join(work, 'bare-structure');
    await mkdir(bare);
    const bareXtar = join(bare, `${volumeName}.xtar`);
    await cp(archive, bareXtar);
    for (const input of [vol, bareXtar]) {
      const dest = join(work, `out-structure-${input === vol ? 'vol' : 'bare'}`);
      const u = await xtar(['unpack', input, '--dest', dest]);
      assert.equal(u.status, 1, `${input}: ${u.stderr}`);
      assert.match(u.stderr, /the copy of structure\.jsonl inside the archive is damaged/);
      assert.match(u.stderr, /no copy of the structure record checks out, so none was applied/);
      await assertAllRestored(dest);
      const v = await xtar(['verify', input]);
      assert.equal(v.status, 1, v.stderr);
      assert.match(v.stderr, /the copy of structure\.jsonl inside the archive is damaged/);
      const e = await xtar(['expand-structure', input, '--dest', dest]);
      assert.equal(e.status, 2, e.stderr);
      assert.match(e.stderr, /no copy of its structure record checks out \(.*\); nothing was applied\./);
    }
  });

  it('structure copy: index rebuild names it as damaged, not by zlib alone', async () => {
    const { set } = await damagedCopy('rebuild', 'structure.jsonl');
    const r = await xtar(['index', 'rebuild', set]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /its copy of the structure record\): its compressed bytes are damaged \(/);
  });
});
