import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { VOLUME_MANIFEST, VOLUME_README } from '../../src/format/layout.js';
import { fileSource } from '../../src/pack/blob-source.js';
import { sealVolume, writeOwnCatalog } from '../../src/pack/seal-volume.js';
import { removeTree, tempDir } from '../helpers/tree.js';

describe('seal-volume', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await removeTree(dir);
  });

  it('writeOwnCatalog: the volume\'s own lines between a header and a trailer counting them, gzipped', async () => {
    const catalog = join(dir, 'catalog.jsonl');
    await writeFile(catalog, 'H\nold\nmine1\nmine2\n');
    await writeOwnCatalog(join(dir, 'own.gz'), 'HEADER\n', catalog, 6, 18, 2);
    const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
    assert.equal(gunzipSync(await readFile(join(dir, 'own.gz'))).toString(), `HEADER\nmine1\nmine2\n{"end":true,"entries":2,"sha256":"${sha('HEADER\nmine1\nmine2\n')}"}\n`);
    await writeOwnCatalog(join(dir, 'none.gz'), 'HEADER\n', catalog, 18, 18, 0);
    assert.equal(gunzipSync(await readFile(join(dir, 'none.gz'))).toString(), `HEADER\n{"end":true,"entries":0,"sha256":"${sha('HEADER\n')}"}\n`);
  });

  it('sealVolume writes README.txt and volume.json for its place among the volumes', async () => {
    const v = { number: 2, partialDir: join(dir, 'vol'), archive: 'x-vol002.xtar', files: 3, bytes: 30 };
    await mkdir(v.partialDir);
    await sealVolume({ backupId: 'B', root: 'src', createdIso: 'C', kind: 'incremental', base: 'A', source: '/src', volumeSize: null, par2Percent: null }, v, 3);
    assert.deepEqual((await readdir(v.partialDir)).sort(), [VOLUME_README, VOLUME_MANIFEST].sort());
    const m = JSON.parse(await readFile(join(v.partialDir, VOLUME_MANIFEST), 'utf8'));
    assert.deepEqual([m.backup, m.volume, m.volumes, m.files, m.bytes, m.kind, m.base, m.source], ['B', 2, 3, 3, 30, 'incremental', 'A', '/src']);
  });

  it('fileSource reads byte ranges of a spool file', async () => {
    await writeFile(join(dir, 'spool'), '0123456789');
    const s = await fileSource(join(dir, 'spool'));
    try {
      assert.equal(s.length, 10);
      assert.equal(Buffer.from(await s.read(3, 4)).toString(), '3456');
      assert.equal(Buffer.from(await s.read(8, 5)).toString(), '89');
    } finally {
      await s.close();
    }
  });
});
