import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { VolumeSource } from '../../src/set/locate.js';
import { chooseBackup, PathFilter } from '../../src/unpack/select.js';

const vol = (backupId: string | null, volume: number): VolumeSource => ({ dir: null, archive: `/a/${backupId}-${volume}.xtar`, structure: null, catalog: null, backupId, volume });
const vols = [vol('20261101T000000Z', 1), vol('20261101T000000Z', 2), vol('20261105T000000Z', 1), vol('20261110T000000Z', 1)];

describe('chooseBackup', () => {
  it('takes the newest by default, an id, or the newest at or before a time', () => {
    assert.equal(chooseBackup(vols, {}).target, '20261110T000000Z');
    const c = chooseBackup(vols, { backup: '20261101T000000Z' });
    assert.deepEqual(c.own.map((v) => v.volume), [1, 2]);
    assert.deepEqual([...c.others.keys()], ['20261105T000000Z:1', '20261110T000000Z:1']);
    assert.equal(chooseBackup(vols, { at: new Date('2026-11-07T00:00:00Z') }).target, '20261105T000000Z');
    assert.equal(chooseBackup(vols, { at: new Date('2026-11-05T00:00:00Z') }).target, '20261105T000000Z');
  });

  it('says what is there when the backup asked for is not', () => {
    assert.throws(() => chooseBackup(vols, { backup: '20261102T000000Z' }), /not among the volumes given \(they hold 20261101T000000Z, 20261105T000000Z, 20261110T000000Z\)/);
    assert.throws(() => chooseBackup(vols, { at: new Date('2026-10-01T00:00:00Z') }), /No backup was made at or before/);
  });
});

describe('PathFilter', () => {
  it('selects everything without patterns', () => {
    assert.equal(new PathFilter([]).selects('root/a/b'), true);
  });

  it('matches from the root or below it; a name pattern at any depth; a folder brings what is below', () => {
    const f = new PathFilter(['docs', '*.jpg', 'root/src/lib/']);
    assert.equal(f.selects('root/docs'), true);
    assert.equal(f.selects('root/docs/a/b.txt'), true);
    assert.equal(f.selects('root/x/docs/c'), true, 'a name without / matches at any depth');
    assert.equal(f.selects('root/p/cat.jpg'), true);
    assert.equal(f.selects('root/src/lib/m.js'), true);
    assert.equal(f.selects('root/src/main.js'), false);
    assert.equal(f.selects('root/documents'), false);
    const g = new PathFilter(['src/*.js']);
    assert.equal(g.selects('root/src/a.js'), true);
    assert.equal(g.selects('root/src/lib/a.js'), false);
  });
});
