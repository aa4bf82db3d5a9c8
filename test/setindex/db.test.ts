import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RECIPIENTS_FILE } from '../../src/format/encryption.js';
import { INDEX_FILE, indexInMemoryOnly, SetIndex } from '../../src/setindex/db.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const sha = (c: string): string => c.repeat(64);

describe('SetIndex', () => {
  let dir: string;
  let ix: SetIndex;
  let a: number;
  let b: number;
  before(async () => {
    dir = await tempDir();
    ix = SetIndex.openFile(join(dir, 'i.sqlite'));
    // Backup A (full): three files on two volumes. Backup B (incremental): x changed, y unchanged, z renamed to w.
    a = ix.beginBackup({ id: '20261101T000000Z', kind: 'full', base: null, source: '/s', root: 's', created: '2026-11-01T00:00:00.000Z' });
    const f = (path: string, size: number, mtime: bigint) => ({ path, size, mtimeNs: mtime, mode: 0o644 });
    const bx = ix.addBlob(a, 's/x', { sha256: sha('1'), crc32: 1, method: 'deflate', parts: [{ volume: 1, offset: 512, length: 10 }] });
    ix.addFile(a, f('s/x', 5, 1n), bx);
    const by = ix.addBlob(a, 's/y', { sha256: sha('2'), crc32: 2, method: 'store', parts: [{ volume: 1, offset: 1024, length: 10 }, { volume: 2, offset: 512, length: 4 }] });
    ix.addFile(a, f('s/y', 6, 2n), by);
    const bz = ix.addBlob(a, 's/z', { sha256: sha('3'), crc32: 3, method: 'store', parts: [{ volume: 2, offset: 2048, length: 9 }] });
    ix.addFile(a, f('s/z', 7, 3n), bz);
    ix.completeBackup(a, { volumeCount: 2, volumes: [{ number: 1, bytes: 100, files: 1 }, { number: 2, bytes: 100, files: 2 }], files: 3, bytes: 18, storedFiles: 3, storedBytes: 18, skippedFiles: 0, structureSha256: 'A' });
    b = ix.beginBackup({ id: '20261102T000000Z', kind: 'incremental', base: '20261101T000000Z', source: '/s', root: 's', created: '2026-11-02T00:00:00.000Z' });
    ix.addFile(b, f('s/x', 8, 4n), ix.addBlob(b, 's/x', { sha256: sha('4'), crc32: 4, method: 'deflate', parts: [{ volume: 1, offset: 512, length: 12 }] }));
    ix.addFile(b, f('s/y', 6, 2n), by);
    ix.addFile(b, f('s/w', 7, 3n), bz);
    ix.completeBackup(b, { volumeCount: 1, volumes: [{ number: 1, bytes: 50, files: 1 }], files: 3, bytes: 21, storedFiles: 1, storedBytes: 8, skippedFiles: 0, structureSha256: 'B' });
  });
  after(async () => {
    ix.close();
    await removeTree(dir);
  });

  it('lists complete backups in order and finds the latest of a kind', () => {
    assert.deepEqual(ix.backups().map((x) => [x.id, x.seq, x.kind]), [['20261101T000000Z', 1, 'full'], ['20261102T000000Z', 2, 'incremental']]);
    assert.equal(ix.latest('/s')?.id, '20261102T000000Z');
    assert.equal(ix.latest('/s', 'full')?.id, '20261101T000000Z');
    assert.equal(ix.latest('/other'), null);
    assert.equal(ix.countAfter('/s', 1), 1);
  });

  it('looks a path up with the blob that holds it, and finds rename candidates by size and mtime', () => {
    const w = ix.lookup(b, 's/w');
    assert.equal(w?.blob?.holder, '20261101T000000Z');
    assert.equal(w?.blob?.holderPath, 's/z');
    assert.deepEqual(w?.blob?.parts, [{ volume: 2, offset: 2048, length: 9 }]);
    assert.equal(ix.lookup(b, 's/z'), null);
    assert.equal(ix.findByTime(a, 7, 3n)?.path, 's/z');
    assert.equal(ix.findByTime(a, 7, 4n), null);
  });

  it('records a stored file and its blob with one call, its path known once', () => {
    const c = ix.beginBackup({ id: '20261104T000000Z', kind: 'full', base: null, source: '/t', root: 't', created: '2026-11-04T00:00:00.000Z' });
    const id = ix.addStored(c, { path: 't/new', size: 9, mtimeNs: 7n, mode: 0o600 }, { sha256: sha('9'), crc32: 9, method: 'deflate', parts: [{ volume: 2, offset: 512, length: 5 }, { volume: 3, offset: 512, length: 4 }] });
    ix.flush();
    const v = ix.lookup(c, 't/new');
    assert.deepEqual([v?.size, v?.mtimeNs, v?.mode, v?.blob?.id, v?.blob?.holderPath, v?.blob?.sha256], [9, 7n, 0o600, id, 't/new', sha('9')]);
    assert.deepEqual(v?.blob?.parts.map((p) => p.volume), [2, 3]);
    ix.dropBackup(c);
  });

  it('stored files written many to a statement: ids in order, every row seen by whatever reads or writes next, none left by a drop', () => {
    const c = ix.beginBackup({ id: '20261105T000000Z', kind: 'full', base: null, source: '/u', root: 'u', created: 'x' });
    const f = (i: number) => ({ path: `u/f${String(i).padStart(3, '0')}`, size: i, mtimeNs: 1000n + BigInt(i), mode: 0o644 });
    const blob = (i: number) => ({ sha256: sha((i % 10).toString()), crc32: i, method: 'store' as const, parts: [{ volume: 1 + (i % 2), offset: 512 * i, length: i + 1 }] });
    const ids: number[] = [];
    for (let i = 0; i < 100; i++) {
      ids.push(ix.addStored(c, f(i), blob(i)));
      // Reads in the middle of a batch see the rows just added (pack looks up while it stores).
      if (i === 40) assert.deepEqual([ix.lookup(c, 'u/f040')?.blob?.id, ix.lookup(c, 'u/f040')?.blob?.parts], [ids[40], blob(40).parts]);
      if (i === 70) assert.equal(ix.findByTime(c, 70, 1070n), null, 'rename candidates come once the backup is complete');
      // Other rows between them keep their order and their ids.
      if (i === 50) ix.addFile(c, { path: 'u/skipped', size: 1, mtimeNs: 1n, mode: 0o644 }, null);
      if (i === 80) ids.push(ix.addBlob(c, 'u/lone', blob(80)));
    }
    assert.deepEqual(ids, ids.map((_, k) => (ids[0] as number) + k), 'consecutive blob ids, as SQLite gives them');
    ix.completeBackup(c, { volumeCount: 2, volumes: [{ number: 1, bytes: 1, files: 50 }, { number: 2, bytes: 1, files: 50 }], files: 101, bytes: 4950, storedFiles: 100, storedBytes: 4950, skippedFiles: 1, structureSha256: 'C' });
    const files = [...ix.files(c)];
    assert.equal(files.length, 101);
    for (let i = 0; i < 100; i++) {
      const v = files.find((x) => x.path === f(i).path);
      assert.deepEqual([v?.size, v?.mtimeNs, v?.blob?.id, v?.blob?.sha256, v?.blob?.crc32, v?.blob?.parts], [i, 1000n + BigInt(i), ids[i < 81 ? i : i + 1], sha((i % 10).toString()), i, blob(i).parts]);
    }
    assert.equal(ix.findByTime(c, 70, 1070n)?.path, 'u/f070');
    assert.equal(ix.blobOf('20261105T000000Z', 'u/lone'), ids[81]);
    // A backup dropped with stored files still waiting leaves none of them behind.
    const d = ix.beginBackup({ id: '20261106T000000Z', kind: 'full', base: null, source: '/v', root: 'v', created: 'x' });
    for (let i = 0; i < 40; i++) ix.addStored(d, { ...f(i), path: `v/f${i}` }, blob(i));
    ix.dropBackup(d);
    assert.equal(ix.lookup(d, 'v/f39'), null);
    assert.equal([...ix.files(d)].length, 0);
    const again = ix.beginBackup({ id: '20261106T000001Z', kind: 'full', base: null, source: '/v', root: 'v', created: 'x' });
    assert.equal(ix.addStored(again, f(0), blob(0)), (ids.at(-1) as number) + 1, 'the dropped blobs\' ids are free again');
    ix.dropBackup(again);
    ix.dropBackup(c);
  });

  it('names deleted paths in SQL', () => {
    assert.deepEqual([...ix.deleted(a, b)], ['s/z']);
    assert.equal(ix.countDeleted(a, b), 1);
  });

  it('needs the volumes holding a kept state and the last volume of each kept backup', () => {
    // B's state: x on B vol 1; y on A vols 1-2; w (z) on A vol 2.
    assert.deepEqual(ix.neededVolumes([b]), [{ backup: '20261101T000000Z', volume: 1 }, { backup: '20261101T000000Z', volume: 2 }, { backup: '20261102T000000Z', volume: 1 }]);
  });

  it('chooses the cyclic share: the oldest copies first, and every copy too old', () => {
    assert.equal(ix.chooseRefresh(b, 1, 3, 10), 1);
    assert.ok(ix.isRefresh('s/w') || ix.isRefresh('s/y'), 'one of the files held by the oldest backup');
    assert.equal(ix.isRefresh('s/x'), false);
    assert.equal(ix.chooseRefresh(b, 0, 3, 2), 2, 'copies stored 2 backups before the next are refreshed');
  });

  it('drops an incomplete backup with everything recorded for it', () => {
    const c = ix.beginBackup({ id: '20261103T000000Z', kind: 'incremental', base: '20261102T000000Z', source: '/s', root: 's', created: 'x' });
    ix.addFile(c, { path: 's/new', size: 1, mtimeNs: 9n, mode: 0o644 }, ix.addBlob(c, 's/new', { sha256: sha('5'), crc32: 5, method: 'store', parts: [{ volume: 1, offset: 0, length: 1 }] }));
    ix.flush();
    assert.deepEqual(ix.incomplete().map((x) => x.id), ['20261103T000000Z']);
    ix.dropBackup(c);
    assert.deepEqual(ix.incomplete(), []);
    assert.equal(ix.lookup(c, 's/new'), null);
    assert.equal(ix.blobOf('20261103T000000Z', 's/new'), null);
  });
});

describe('indexInMemoryOnly', () => {
  it("a pack's answer: an encrypted set, or one the pack makes encrypted, without an index file or --index-plain", async () => {
    const dir = await tempDir();
    try {
      assert.equal(await indexInMemoryOnly(dir), false, 'a plain set');
      assert.equal(await indexInMemoryOnly(dir, { encrypting: true }), true, 'a set this pack makes encrypted');
      assert.equal(await indexInMemoryOnly(dir, { encrypting: true, indexPlain: true }), false, '--index-plain');
      await writeFile(join(dir, RECIPIENTS_FILE), `age1${'q'.repeat(58)}\n`);
      assert.equal(await indexInMemoryOnly(dir), true, 'an encrypted set');
      await writeFile(join(dir, INDEX_FILE), '');
      assert.equal(await indexInMemoryOnly(dir, { encrypting: true }), false, 'an index file on disk');
    } finally {
      await removeTree(dir);
    }
  });
});
