/**
 * importBackup on a set in object storage's cache, without a server: the archive there is a sparse
 * stand-in (zeros) registered with a remote file (src/store/remote-files.ts), here a fake store
 * answering ranged reads from the real archive. With the plain structure.jsonl damaged, the copy
 * inside the archive is read from the remote file, not from the stand-in's zeros.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack } from '../../src/pack/pack.js';
import { SetIndex } from '../../src/setindex/db.js';
import { importBackup } from '../../src/setindex/rebuild.js';
import { setVolumes } from '../../src/set/locate.js';
import { registerRemoteFile } from '../../src/store/remote-files.js';
import type { ObjectStore } from '../../src/store/object-store.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const sample = fileURLToPath(new URL('../../../fixtures/sample', import.meta.url));

describe('importBackup from a remote set\'s cache', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('reads the structure record\'s copy inside the archive through the registered remote file when structure.jsonl is damaged', async () => {
    const set = join(work, 'set');
    const { backupId: id } = await pack({ source: sample, out: set, jobs: 1 });
    const vol = (await readdir(set)).find((n) => n.startsWith(`${id}-vol`)) as string;
    const archiveName = (await readdir(join(set, vol))).find((n) => n.endsWith('.xtar')) as string;
    const archive = join(set, vol, archiveName);
    const bytes = await readFile(archive);
    // The cache's stand-in: the archive's size, all zeros; its bytes only in the "bucket".
    await truncate(archive, 0);
    await truncate(archive, bytes.length);
    let ranges = 0;
    const store = { getRange: async (_name: string, pos: number, length: number) => (ranges++, bytes.subarray(pos, pos + length)) } as unknown as ObjectStore;
    registerRemoteFile(archive, { store, name: `${vol}/${archiveName}`, size: bytes.length });
    const structure = join(set, vol, 'structure.jsonl');
    const text = await readFile(structure, 'utf8');
    await writeFile(structure, text.replace('"size":', '"size":1'));

    const index = SetIndex.openFile(':memory:');
    try {
      const r = await importBackup(index, id, (await setVolumes(set)).get(id) ?? []);
      assert.ok(r.files > 0);
      assert.ok(r.damage.some((d) => d.includes('structure.jsonl') && d.includes('not used')), r.damage.join('\n'));
      assert.ok(ranges > 0, 'the copy was read from the remote file');
    } finally {
      index.close();
    }
  });
});
