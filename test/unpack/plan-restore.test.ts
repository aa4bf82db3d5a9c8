import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CatalogFile, CatalogLine } from '../../src/format/records.js';
import { OwnCatalogs } from '../../src/unpack/choose-records.js';
import { Holders, planRestore } from '../../src/unpack/plan-restore.js';
import { chooseBackup, PathFilter } from '../../src/unpack/select.js';
import { usePackedSet } from './archive.js';

describe('planRestore', () => {
  const at = usePackedSet();

  it('needs every volume for the whole backup', async () => {
    assert.ok(at.p.volumes.length >= 3, `${at.p.volumes.length} volumes`);
    const { plan, own } = await planRestore(chooseBackup(at.p.volumes, {}), new PathFilter([]), new OwnCatalogs());
    assert.equal(plan.kind, 'full');
    assert.deepEqual(plan.volumes.map((v) => v.volume), at.p.volumes.map((v) => v.volume));
    assert.ok(plan.volumes.every((v) => v.path !== null));
    assert.equal(own.length, at.p.volumes.length);
  });

  it('for one path, needs the volumes holding its bytes and the newest (for the records), no other', async () => {
    const [path, on] = [...at.p.files].find(([, vols]) => vols[0] === 1) as [string, number[]];
    const newest = at.p.volumes.length;
    const { plan, own } = await planRestore(chooseBackup(at.p.volumes, {}), new PathFilter([path]), new OwnCatalogs());
    const want = [...new Set([...on, newest])].sort((a, b) => a - b);
    assert.deepEqual(plan.volumes.map((v) => v.volume), want);
    assert.deepEqual(own.map((v) => v.volume), want);
  });

  it('Holders: each volume once, in the order first met; skipped files and paths not selected hold nothing', () => {
    const h = new Holders(new PathFilter(['keep']), 'B');
    const line = (path: string, volumes: number[], backup?: string): CatalogLine => {
      const c: CatalogFile = { path, size: 1, sha256: '0'.repeat(64), crc32: 0, method: 'store', parts: volumes.map((volume) => ({ volume, offset: 0, length: 1 })) };
      if (backup !== undefined) c.backup = backup;
      return c;
    };
    h.add(line('root/keep/x', [3, 4]));
    h.add(line('root/other', [1]));
    h.add(line('root/keep/y', [4, 2], 'A'));
    h.add(line('root/keep/z', [3]));
    h.add({ path: 'root/keep/s', skipped: 'unreadable' });
    assert.deepEqual([...h.found.keys()], ['B:3', 'B:4', 'A:4', 'A:2']);
    h.clear();
    assert.equal(h.found.size, 0);
  });
});
