import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SetIndex } from '../../src/setindex/db.js';
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
