import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeStructureEntry, decodeStructureHeader, decodeTrailer } from '../../src/format/records.js';
import { resultOf } from '../../src/pack/compress.js';
import { EARLY_ITEMS, gzipStructure, writeStructure } from '../../src/pack/write-structure.js';
import { withFixture } from './context-fixture.js';

describe('writeStructure', () => {
  const fx = withFixture();

  it('writes header, entries in tree order and trailer, and hashes the entry lines', async () => {
    const ctx = await fx().context();
    const st = await writeStructure(ctx);
    const lines = (await readFile(st.path, 'utf8')).split('\n').filter((l) => l !== '');
    const header = decodeStructureHeader(lines[0] as string);
    assert.deepEqual([header.backup, header.root, header.created, header.base], [ctx.backupId, 'src', ctx.createdIso, undefined]);
    const entries = lines.slice(1, -1);
    assert.deepEqual(entries.map((l) => decodeStructureEntry(l).path), ['src', 'src/a', 'src/sub', 'src/sub/b']);
    assert.deepEqual(st.entries, entries.map((l) => decodeStructureEntry(l)), 'the entries kept for the volume pass are the record\'s');
    assert.equal(decodeTrailer(lines.at(-1) as string)?.entries, 4);
    assert.equal(st.sha256, createHash('sha256').update(entries.map((l) => `${l}\n`).join('')).digest('hex'));
    assert.deepEqual([st.scan.files, st.scan.dirs, st.scan.bytes], [2, 2, 8]);
    await gzipStructure(st);
    assert.equal(gunzipSync(await readFile(st.gzPath)).toString('utf8'), await readFile(st.path, 'utf8'));
  });

  it('hands a full backup\'s small files to the pool during the scan, and compresses them', async () => {
    const st = await writeStructure(await fx().context());
    assert.deepEqual([...st.early.keys()], ['src/a', 'src/sub/b']);
    const t = st.early.get('src/a');
    const a = t === undefined ? undefined : await resultOf(t.ticket);
    assert.ok(a?.ok);
    assert.equal(a.size, 5);
  });

  it('hands thousands of tiny files to the pool during the scan, so the workers are not idle while it runs', async () => {
    await mkdir(join(fx().tree, 'many'));
    for (let i = 0; i < 3000; i++) await writeFile(join(fx().tree, 'many', String(i)), 'x');
    try {
      const st = await writeStructure(await fx().context());
      assert.equal(st.early.size, 3002);
      assert.ok(EARLY_ITEMS >= 3002);
    } finally {
      await rm(join(fx().tree, 'many'), { recursive: true });
    }
  });

  it('hands nothing early to an incremental (its files are decided first)', async () => {
    const ctx = await fx().context();
    const st = await writeStructure({ ...ctx, plan: { kind: 'incremental', base: { rowid: 1, id: 'x' } as never, reason: '' } });
    assert.equal(st.early.size, 0);
  });
});
