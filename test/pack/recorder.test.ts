import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { StructureEntry } from '../../src/format/records.js';
import { SetIndex } from '../../src/setindex/db.js';
import { refLine } from '../../src/pack/decide.js';
import { IndexRecorder } from '../../src/pack/recorder.js';
import { storedLine } from '../../src/pack/store-files.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const file = (path: string, size: number): StructureEntry => ({ path, type: 'file', mode: 0o640, uid: 0, gid: 0, mtimeNs: 7n, size });
const done = (size: number, c: string) => ({ size, sha256: c.repeat(64), crc32: 9, method: 8 as const, changed: false });
const summary = { volumeCount: 1, volumes: [{ number: 1, bytes: 10, files: 1 }], files: 3, bytes: 8, structureSha256: 'S' };

describe('IndexRecorder', () => {
  let dir: string;
  let ix: SetIndex;
  before(async () => {
    dir = await tempDir();
    ix = SetIndex.openFile(join(dir, 'i.sqlite'));
  });
  after(async () => {
    ix.close();
    await removeTree(dir);
  });

  it('writes a row per stored, referenced and skipped file, and counts them', () => {
    const first = new IndexRecorder(ix);
    first.begin({ id: '20261101T000000Z', kind: 'full', base: null, source: '/s', root: 's', created: '2026-11-01T00:00:00.000Z' });
    const row1 = first.backupRow;
    first.stored(file('s/a', 5), storedLine(file('s/a', 5), done(5, '1'), [{ volume: 1, offset: 512, length: 20 }]), 5);
    first.skip(file('s/x', 3), 'Permission denied');
    first.complete(summary);
    assert.equal(first.backupRow, -1);
    assert.deepEqual([first.storedFiles, first.storedBytes, first.skippedFiles, first.unchangedFiles], [1, 5, 1, 0]);
    assert.deepEqual(first.skipped, [{ path: 's/x', reason: 'Permission denied' }]);
    const a = ix.lookup(row1, 's/a');
    assert.deepEqual([a?.size, a?.mode, a?.mtimeNs, a?.blob?.sha256, a?.blob?.method, a?.blob?.parts], [5, 0o640, 7n, '1'.repeat(64), 'deflate', [{ volume: 1, offset: 512, length: 20 }]]);
    assert.equal(ix.lookup(row1, 's/x')?.skipped, 'Permission denied');
    const b = ix.backup('20261101T000000Z');
    assert.deepEqual([b?.complete, b?.storedFiles, b?.storedBytes, b?.skippedFiles, b?.structureSha256], [true, 1, 5, 1, 'S']);

    const second = new IndexRecorder(ix);
    second.begin({ id: '20261102T000000Z', kind: 'incremental', base: '20261101T000000Z', source: '/s', root: 's', created: '2026-11-02T00:00:00.000Z' });
    const v = a as NonNullable<typeof a>;
    second.referenced(file('s/a', 5), v);
    second.referenced(file('s/moved', 5), v);
    assert.deepEqual([second.unchangedFiles, second.renamedFiles, second.storedFiles], [2, 1, 0]);
    assert.equal(ix.lookup(second.backupRow, 's/moved')?.blob?.holderPath, 's/a');
    // s/a is still there: copied, not renamed away.
    assert.equal(second.renamedAway(second.backupRow), 0);
    const row2 = second.backupRow;
    second.complete(summary);
    assert.equal(ix.backup('20261102T000000Z')?.storedFiles, 0);

    // The next backup refers to s/moved, whose blob is still stored under s/a (the line's `as`): not a rename.
    const third = new IndexRecorder(ix);
    third.begin({ id: '20261103T000000Z', kind: 'incremental', base: '20261102T000000Z', source: '/s', root: 's', created: '2026-11-03T00:00:00.000Z' });
    const moved = ix.lookup(row2, 's/moved') as NonNullable<typeof a>;
    assert.equal(refLine('s/moved', moved).as, 's/a');
    third.referenced(file('s/moved', 5), moved);
    assert.deepEqual([third.unchangedFiles, third.renamedFiles], [1, 0]);
    third.drop();
  });

  it('drops an unfinished backup and its rows, once', () => {
    const r = new IndexRecorder(ix);
    r.begin({ id: '20261103T000000Z', kind: 'full', base: null, source: '/t', root: 't', created: '2026-11-03T00:00:00.000Z' });
    r.stored(file('t/a', 1), storedLine(file('t/a', 1), done(1, '2'), [{ volume: 1, offset: 512, length: 3 }]), 1);
    r.drop();
    assert.equal(r.backupRow, -1);
    assert.equal(ix.backup('20261103T000000Z'), null);
    r.drop();
  });
});
