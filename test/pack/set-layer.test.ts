import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../../src/errors.js';
import { PARTIAL_PREFIX, SET_MARKER, volumeName } from '../../src/format/layout.js';
import { creationTime, freshBackupId, idTime } from '../../src/set/backup-id.js';
import { prepareSet } from '../../src/set/prepare-set.js';
import { folderBytes, gzipFile } from '../../src/set/volume-files.js';
import { removeTree, tempDir } from '../helpers/tree.js';

describe('src/set (prepare-set, backup-id, volume-files)', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await removeTree(dir);
  });

  it('prepareSet makes a set of a new or empty folder and refuses any other', async () => {
    const set = await prepareSet(join(dir, 'new'));
    assert.deepEqual(JSON.parse(await readFile(join(set, SET_MARKER), 'utf8')), { xtar: 'set', version: 1 });
    assert.equal(await prepareSet(set), set);
    await mkdir(join(dir, 'busy'));
    await writeFile(join(dir, 'busy', 'x'), '');
    await assert.rejects(prepareSet(join(dir, 'busy')), (e: unknown) => e instanceof InputError && /is not empty and is not an xtar set/.test(e.message));
    await assert.rejects(prepareSet(join(dir, 'busy', 'x')), /exists and is not a folder/);
  });

  it('freshBackupId moves past ids that finished or partial volumes use, and idTime follows it', async () => {
    const set = await prepareSet(join(dir, 'ids'));
    const when = new Date('2026-11-20T12:00:00.250Z');
    assert.equal(await freshBackupId(set, when), '20261120T120000Z');
    await mkdir(join(set, volumeName('20261120T120000Z', 1)));
    await mkdir(join(set, PARTIAL_PREFIX + volumeName('20261120T120001Z', 1)));
    const id = await freshBackupId(set, when);
    assert.equal(id, '20261120T120002Z');
    assert.equal(idTime(id, when).toISOString(), '2026-11-20T12:00:02.000Z');
    assert.equal(idTime('20261120T120000Z', when), when);
  });

  it('creationTime: the given time, else SOURCE_DATE_EPOCH', () => {
    const d = new Date(5);
    assert.equal(creationTime(d), d);
    const old = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = '1700000000';
    try {
      assert.equal(creationTime(undefined).getTime(), 1_700_000_000_000);
    } finally {
      if (old === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = old;
    }
  });

  it('gzipFile and folderBytes', async () => {
    const d = join(dir, 'files');
    await mkdir(d);
    await writeFile(join(d, 'a'), 'x'.repeat(1000));
    await gzipFile(join(d, 'a'), join(d, 'a.gz'));
    assert.equal(gunzipSync(await readFile(join(d, 'a.gz'))).toString(), 'x'.repeat(1000));
    const gz = (await readFile(join(d, 'a.gz'))).length;
    assert.equal(await folderBytes(d), 1000 + gz);
  });
});
