/**
 * importBackup on a set in object storage's cache, without a server: the archive there is a sparse
 * stand-in (zeros) registered with a remote file (src/store/remote-files.ts), here a fake store
 * answering ranged reads from the real archive. With the plain structure.jsonl damaged, or
 * catalog.jsonl gone, the copy inside the archive is checked and read from the remote file, not from
 * the stand-in's zeros.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack } from '../../src/pack/pack.js';
import { SetIndex } from '../../src/setindex/db.js';
import { importBackup, type ImportResult } from '../../src/setindex/rebuild.js';
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

  /**
   * A set packed into `name`, its archive made the cache's stand-in (the archive's size, all zeros;
   * its bytes only in the "bucket"); `ranges()`: how many ranged reads the bucket answered.
   */
  async function standIn(name: string): Promise<{ set: string; id: string; vol: string; ranges: () => number }> {
    const set = join(work, name);
    const { backupId: id } = await pack({ source: sample, out: set, jobs: 1 });
    const vol = join(set, (await readdir(set)).find((n) => n.startsWith(`${id}-vol`)) as string);
    const archiveName = (await readdir(vol)).find((n) => n.endsWith('.xtar')) as string;
    const archive = join(vol, archiveName);
    const bytes = await readFile(archive);
    await truncate(archive, 0);
    await truncate(archive, bytes.length);
    let ranges = 0;
    const store = { getRange: async (_name: string, pos: number, length: number) => (ranges++, bytes.subarray(pos, pos + length)) } as unknown as ObjectStore;
    registerRemoteFile(archive, { store, name: `${vol.split('/').pop() as string}/${archiveName}`, size: bytes.length });
    return { set, id, vol, ranges: () => ranges };
  }

  async function imported(set: string, id: string, check: (r: ImportResult, index: SetIndex) => void): Promise<void> {
    const index = SetIndex.openFile(':memory:');
    try {
      check(await importBackup(index, id, (await setVolumes(set)).get(id) ?? []), index);
    } finally {
      index.close();
    }
  }

  it('reads the structure record\'s copy inside the archive through the registered remote file when structure.jsonl is damaged', async () => {
    const { set, id, vol, ranges } = await standIn('structure');
    const structure = join(vol, 'structure.jsonl');
    await writeFile(structure, (await readFile(structure, 'utf8')).replace('"size":', '"size":1'));
    await imported(set, id, (r) => {
      assert.ok(r.files > 0);
      assert.ok(r.damage.some((d) => d.includes('structure.jsonl') && d.includes('not used')), r.damage.join('\n'));
      assert.ok(ranges() > 0, 'the copy was read from the remote file');
    });
  });

  it('reads the catalog\'s copy inside the archive through the registered remote file when catalog.jsonl is gone: every file keeps its blob', async () => {
    const { set, id, vol, ranges } = await standIn('catalog');
    await rm(join(vol, 'catalog.jsonl'));
    await imported(set, id, (r, index) => {
      assert.deepEqual(r.damage, []);
      const files = index.dump().files[id] as { path: string; blob: { sha256: string } | null }[];
      assert.equal(files.length, r.files);
      assert.ok(files.length > 0);
      for (const f of files) assert.match(f.blob?.sha256 ?? '', /^[0-9a-f]{64}$/, f.path);
      assert.ok(ranges() > 0, 'the copy was read from the remote file');
    });
  });
});
