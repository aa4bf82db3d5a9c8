/**
 * After a crash, recovery removes the volumes of a backup the index holds as incomplete only when a
 * checked volume.json says volumes are missing; a damaged or unreadable one is no reason to delete.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { pack } from '../../src/pack/pack.js';
import { SetIndex } from '../../src/setindex/db.js';
import { completeOnDisk, recoverIncomplete } from '../../src/setindex/recover.js';
import { setVolumes } from '../../src/set/locate.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const sample = fileURLToPath(new URL('../../../fixtures/sample', import.meta.url));

async function setWithIncompleteBackup(work: string, name: string): Promise<{ set: string; id: string; vols: string[] }> {
  const set = join(work, name);
  const r = await pack({ source: sample, out: set, jobs: 1 });
  // As after a crash between the volumes' rename and the index's last commit.
  const db = new Database(join(set, 'xtar-index.sqlite'));
  db.prepare('UPDATE backups SET complete = 0 WHERE id = ?').run(r.backupId);
  db.close();
  return { set, id: r.backupId, vols: (await readdir(set)).filter((n) => n.startsWith(`${r.backupId}-vol`)) };
}

describe('recoverIncomplete', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('a complete backup on disk is imported again', async () => {
    const { set, id } = await setWithIncompleteBackup(work, 'whole');
    const index = SetIndex.open(set);
    try {
      assert.deepEqual(await recoverIncomplete(index, set), [id]);
    } finally {
      index.close();
    }
  });

  it('a volume.json that does not check keeps the volumes: nothing is deleted on its word', async () => {
    const { set, id, vols } = await setWithIncompleteBackup(work, 'damaged');
    const manifest = join(set, vols[0] as string, 'volume.json');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('"volumes":1', '"volumes":3'));
    assert.equal(await completeOnDisk((await setVolumes(set)).get(id) ?? []), null);
    const index = SetIndex.open(set);
    try {
      assert.deepEqual(await recoverIncomplete(index, set), []);
    } finally {
      index.close();
    }
    assert.deepEqual((await readdir(set)).filter((n) => n.startsWith(`${id}-vol`)), vols, 'the volumes stay');
  });
});
