import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VOLUME_CATALOG, VOLUME_MANIFEST, VOLUME_README } from '../../src/format/layout.js';
import { gzipFile } from '../../src/set/volume-files.js';
import { bufferSource } from '../../src/pack/blob-source.js';
import { VolumeWriter, type VolumeWriterOptions } from '../../src/pack/volume-writer.js';
import type { BlobPart, CatalogFile } from '../../src/format/records.js';
import { removeTree, seededBytes, tempDir } from '../helpers/tree.js';

const line = (path: string, size: number) => (parts: BlobPart[]): CatalogFile => ({ path, size, sha256: '0'.repeat(64), crc32: 0, method: 'store', parts });

describe('VolumeWriter', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await removeTree(dir);
  });

  async function writer(volumeSize: number | null): Promise<{ vs: VolumeWriter; set: string }> {
    const set = join(dir, `set${n++}`);
    const workDir = join(set, 'work');
    await mkdir(workDir, { recursive: true });
    const structurePath = join(workDir, 'structure.jsonl');
    await writeFile(structurePath, '{"xtar":"structure"}\n');
    await gzipFile(structurePath, `${structurePath}.gz`);
    const o: VolumeWriterOptions = {
      set, backupId: '20261120T120000Z', root: 'src', createdIso: '2026-11-20T12:00:00.000Z', metaMtimeSec: 0, volumeSize,
      structurePath, structureGzPath: `${structurePath}.gz`, workDir, par2Percent: null, iso: false, kind: 'full', base: null, source: '/src',
    };
    const vs = new VolumeWriter(o);
    await vs.start();
    return { vs, set };
  }

  it('places blobs, rolls over when one does not fit, and finishes each folder under its final name', async () => {
    const { vs, set } = await writer(300_000);
    const placed: BlobPart[][] = [];
    for (const [i, size] of [160_000, 160_000, 500_000].entries()) {
      const build = line(`src/f${i}`, size);
      const parts = await vs.addBlob(`f${i}.zip`, `f${i}.zip`, 0, bufferSource(seededBytes(i, size)), build);
      await vs.record(build(parts), size);
      placed.push(parts);
    }
    assert.deepEqual(placed[0]?.map((p) => p.volume), [1]);
    assert.deepEqual(placed[1]?.map((p) => p.volume), [2]);
    assert.ok((placed[2]?.length ?? 0) >= 2);
    assert.equal(placed[2]?.reduce((s, p) => s + p.length, 0), 500_000);
    const out = await vs.finish();
    assert.equal(out.length, placed[2]?.at(-1)?.volume);
    for (const v of out) {
      assert.ok(v.bytes <= 300_000, `${v.path}: ${v.bytes}`);
      const files = await readdir(v.path);
      for (const f of [VOLUME_CATALOG, VOLUME_MANIFEST, VOLUME_README]) assert.ok(files.includes(f), f);
      assert.equal(JSON.parse(await readFile(join(v.path, VOLUME_MANIFEST), 'utf8')).volumes, out.length);
    }
    const lastCatalog = (await readFile(join(out.at(-1)?.path as string, VOLUME_CATALOG), 'utf8')).trim().split('\n');
    assert.equal(lastCatalog.length, 1 + 3 + 1, 'header, the three lines of volumes 1..N, trailer');
    assert.ok(!(await readdir(set)).some((f) => f.startsWith('.partial')));
  });

  it('without a volume size writes everything into one volume', async () => {
    const { vs } = await writer(null);
    const build = line('src/big', 400_000);
    const parts = await vs.addBlob('big.zip', 'big.zip', 0, bufferSource(seededBytes(9, 400_000)), build);
    assert.deepEqual(parts.map((p) => [p.volume, p.length]), [[1, 400_000]]);
    await vs.record(build(parts), 400_000);
    assert.equal((await vs.finish()).length, 1);
  });

  it('abort removes the partial volumes', async () => {
    const { vs, set } = await writer(300_000);
    await vs.openDir('sub/.xtar', 0, false);
    await vs.abort();
    assert.deepEqual((await readdir(set)).filter((f) => f !== 'work'), []);
  });
});
