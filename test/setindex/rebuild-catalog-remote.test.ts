/**
 * importBackup on a set in object storage's cache, without a server (as rebuild-remote.test.ts): the
 * archive a sparse stand-in of zeros registered with a fake store that answers ranged reads from the
 * real archive. With catalog.jsonl gone, the catalog's copy inside the archive is checked and read
 * from the remote file, not from the stand-in's zeros: every file keeps its blob.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, truncate } from 'node:fs/promises';
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

describe('importBackup from a remote set\'s cache without catalog.jsonl', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('reads the catalog\'s copy inside the archive through the registered remote file', async () => {
    const set = join(work, 'set');
    const { backupId: id } = await pack({ source: sample, out: set, jobs: 1 });
    const vol = (await readdir(set)).find((n) => n.startsWith(`${id}-vol`)) as string;
    const archiveName = (await readdir(join(set, vol))).find((n) => n.endsWith('.xtar')) as string;
    const archive = join(set, vol, archiveName);
    const bytes = await readFile(archive);
    await truncate(archive, 0);
    await truncate(archive, bytes.length);
    let ranges = 0;
    const store = { getRange: async (_name: string, pos: number, length: number) => (ranges++, bytes.subarray(pos, pos + length)) } as unknown as ObjectStore;
    registerRemoteFile(archive, { store, name: `${vol}/${archiveName}`, size: bytes.length });
    await rm(join(set, vol, 'catalog.jsonl'));

    const index = SetIndex.openFile(':memory:');
    try {
      const r = await importBackup(index, id, (await setVolumes(set)).get(id) ?? []);
      assert.deepEqual(r.damage, []);
      const files = index.dump().files[id] as { path: string; blob: { sha256: string } | null }[];
      assert.equal(files.length, r.files);
      assert.ok(files.length > 0);
      for (const f of files) assert.match(f.blob?.sha256 ?? '', /^[0-9a-f]{64}$/, f.path);
      assert.ok(ranges > 0, 'the copy was read from the remote file');
    } finally {
      index.close();
    }
  });
});
