import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { StructureEntry } from '../../src/format/records.js';
import { SetIndex, type BackupRow } from '../../src/setindex/db.js';
import { decide, refLine } from '../../src/pack/decide.js';
import type { BackupPlan } from '../../src/pack/plan-backup.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const sha = (c: string): string => c.repeat(64);
const file = (path: string, size: number, mtimeNs: bigint): StructureEntry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs, size });

describe('decide', () => {
  let dir: string;
  let ix: SetIndex;
  let base: BackupRow;
  before(async () => {
    dir = await tempDir();
    ix = SetIndex.openFile(join(dir, 'i.sqlite'));
    const a = ix.beginBackup({ id: '20261101T000000Z', kind: 'full', base: null, source: '/s', root: 's', created: '2026-11-01T00:00:00.000Z' });
    const add = (path: string, size: number, mtimeNs: bigint, c: string): void =>
      ix.addFile(a, { path, size, mtimeNs, mode: 0o644 }, ix.addBlob(a, path, { sha256: sha(c), crc32: 1, method: 'deflate', parts: [{ volume: 1, offset: 512, length: 10 }] }));
    add('s/same', 5, 1n, '1');
    add('s/touched', 6, 2n, '2');
    add('s/grown', 7, 3n, '3');
    add('s/gone', 8, 4n, '4');
    ix.addFile(a, { path: 's/unread', size: 9, mtimeNs: 5n, mode: 0o644, skipped: 'denied' }, null);
    ix.completeBackup(a, { volumeCount: 1, volumes: [{ number: 1, bytes: 100, files: 4 }], files: 5, bytes: 35, storedFiles: 4, storedBytes: 26, skippedFiles: 1, structureSha256: 'A' });
    base = ix.latest('/s') as BackupRow;
  });
  after(async () => {
    ix.close();
    await removeTree(dir);
  });
  const inc = (): BackupPlan => ({ kind: 'incremental', base, reason: '' });

  it('stores every file of a full backup without asking the index', () => {
    assert.deepEqual(decide(ix, { kind: 'full', base: null, reason: '' }, false, file('s/same', 5, 1n)), { kind: 'store' });
  });

  it('refers to an unchanged file, and reads it to compare when its mtime moved or with --checksum', () => {
    const same = decide(ix, inc(), false, file('s/same', 5, 1n));
    assert.equal(same.kind, 'ref');
    assert.equal(same.kind === 'ref' && same.v.blob?.sha256, sha('1'));
    assert.equal(decide(ix, inc(), false, file('s/touched', 6, 99n)).kind, 'check');
    assert.equal(decide(ix, inc(), true, file('s/same', 5, 1n)).kind, 'check');
  });

  it('stores a file whose size changed, a new file, and one the base could not read', () => {
    assert.equal(decide(ix, inc(), false, file('s/grown', 70, 3n)).kind, 'store');
    assert.equal(decide(ix, inc(), false, file('s/new', 11, 9n)).kind, 'store');
    assert.equal(decide(ix, inc(), false, file('s/unread', 9, 5n)).kind, 'store');
  });

  it('reads a new path whose size and mtime match a file of the base (a rename candidate)', () => {
    const d = decide(ix, inc(), false, file('s/moved', 8, 4n));
    assert.equal(d.kind, 'check');
    assert.equal(d.kind === 'check' && d.v.path, 's/gone');
    assert.equal(decide(ix, inc(), false, file('s/empty', 0, 4n)).kind, 'store');
  });

  it('stores a file a cyclic backup refreshes, though unchanged', () => {
    ix.chooseRefresh(base.rowid, 1, 2, 10);
    const refreshed = ['s/same', 's/touched', 's/grown', 's/gone'].filter((p) => ix.isRefresh(p));
    assert.equal(refreshed.length, 1);
    const p = refreshed[0] as string;
    const v = ix.lookup(base.rowid, p);
    assert.equal(decide(ix, { kind: 'cyclic', base, reason: '' }, false, file(p, v?.size ?? 0, v?.mtimeNs ?? 0n)).kind, 'store');
    assert.equal(decide(ix, inc(), false, file(p, v?.size ?? 0, v?.mtimeNs ?? 0n)).kind, 'ref');
  });

  it('writes a reference line naming the holder, and the path it was stored under when renamed', () => {
    const v = ix.lookup(base.rowid, 's/gone');
    assert.ok(v);
    assert.deepEqual(refLine('s/gone', v), { path: 's/gone', size: 8, sha256: sha('4'), crc32: 1, method: 'deflate', parts: [{ volume: 1, offset: 512, length: 10 }], backup: '20261101T000000Z' });
    assert.equal(refLine('s/moved', v).as, 's/gone');
  });
});
