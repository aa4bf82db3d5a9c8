import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from '../../src/pack/pack.js';
import { catalogSource, ownCatalog, structureSource } from '../../src/unpack/choose-records.js';
import { checkRecord, expectedDigests } from '../../src/set/choose-copy.js';
import { decodeStructureEntry, decodeStructureHeader } from '../../src/format/records.js';
import { locate, type VolumeSource } from '../../src/set/locate.js';
import { RandomReader } from '../../src/unpack/random-reader.js';
import { removeTree, seededText, tempDir } from '../helpers/tree.js';

/** Run `check` with the file at `path` cut to half its length, then put it back. */
async function withHalf(path: string, check: () => Promise<void>): Promise<void> {
  const whole = await readFile(path);
  await writeFile(path, whole.subarray(0, whole.length >> 1));
  try {
    await check();
  } finally {
    await writeFile(path, whole);
  }
}

describe('choose-records', () => {
  let work: string;
  let v: VolumeSource;
  let r: RandomReader;

  before(async () => {
    work = await tempDir();
    const src = join(work, 'src');
    await mkdir(join(src, 'd'), { recursive: true });
    for (let i = 0; i < 20; i++) await writeFile(join(src, 'd', `f${i}.txt`), seededText(i, 200 + i * 50));
    await pack({ source: src, out: join(work, 'set'), jobs: 1, now: new Date('2026-11-01T00:00:00Z') });
    v = (await locate(join(work, 'set'))).at(-1) as VolumeSource;
    r = await RandomReader.open(v.archive);
  });
  after(async () => {
    await r.close();
    await removeTree(work);
  });

  it('uses the volume\'s own structure.jsonl when it reads whole', async () => {
    const s = await structureSource(v, r);
    assert.ok(s);
    assert.equal(s.src?.path, v.structure);
    assert.equal(s.src?.range, undefined);
    assert.equal(s.whole, true);
  });

  it('takes the copy inside the .xtar when structure.jsonl is damaged', async () => {
    await withHalf(v.structure as string, async () => {
      const s = await structureSource(v, r);
      assert.ok(s);
      assert.equal(s.src?.path, v.archive);
      assert.match(s.src?.label, /\(structure copy\)$/);
      assert.ok(s.src?.range !== undefined && s.src?.gzip === true);
      assert.equal(s.whole, true);
    });
  });

  it('uses catalog.jsonl when whole, else the copy inside the .xtar; cut short everywhere: not complete', async () => {
    const own = await ownCatalog(v, r);
    assert.ok(own);
    assert.equal(own.path, v.catalog);
    assert.equal(own.complete, undefined);
    await withHalf(v.catalog as string, async () => {
      const copy = await ownCatalog(v, r);
      assert.ok(copy);
      assert.match(copy.label, /\(catalog copy\)$/);
      assert.equal(copy.complete, undefined);
      // catalogSource reads the volume's own file whatever its state (it covers the volumes before it).
      assert.equal((await catalogSource(v, r))?.path, v.catalog);
      const bare: VolumeSource = { ...v, archive: join(work, 'missing.xtar') };
      const nothing = await RandomReader.open(v.catalog as string);
      try {
        // The same damaged catalog.jsonl, and an "archive" holding no copy: the plain record, marked incomplete.
        const cut = await ownCatalog(bare, nothing);
        assert.ok(cut);
        assert.equal(cut.path, v.catalog);
        assert.equal(cut.complete, false);
      } finally {
        await nothing.close();
      }
    });
  });

  describe('digests (revision 2.1)', () => {
    /** Run `check` with `path` changed by `edit`, then put it back. */
    async function withEdit(path: string, edit: (text: string) => string, check: () => Promise<void>): Promise<void> {
      const whole = await readFile(path, 'utf8');
      const changed = edit(whole);
      assert.notEqual(changed, whole);
      await writeFile(path, changed);
      try {
        await check();
      } finally {
        await writeFile(path, whole);
      }
    }
    const oneMode = (t: string): string => t.replace('"mode":"0644"', '"mode":"0645"');
    const noDigest = (t: string): string => t.replace(/,"sha256":"[0-9a-f]{64}"\}\n$/, '}\n');

    it('a structure.jsonl that still parses but fails its checksum: the copy is used, checked, and the plain file named', async () => {
      await withEdit(v.structure as string, oneMode, async () => {
        const s = await structureSource(v, r);
        assert.equal(s?.src?.path, v.archive);
        assert.equal(s?.checked, true);
        assert.deepEqual(s?.notes, [{ path: v.structure, reason: 'structure.jsonl is damaged (its checksum does not match); the copy inside the archive was used' }]);
      });
    });

    it('no copy that checks: nothing to apply (src null), each damaged record named', async () => {
      const bare: VolumeSource = { ...v, archive: join(work, 'missing.xtar') };
      const nothing = await RandomReader.open(v.catalog as string);
      try {
        await withEdit(v.structure as string, oneMode, async () => {
          const s = await structureSource(bare, nothing);
          assert.equal(s?.src, null);
          assert.equal(s?.notes.length, 1);
        });
      } finally {
        await nothing.close();
      }
    });

    it('a record without a digest reads as before (legacy), unless volume.json expects one', async () => {
      await withEdit(v.structure as string, (t) => oneMode(noDigest(t)), async () => {
        const legacy = await structureSource(v, r);
        assert.equal(legacy?.src?.path, v.structure);
        assert.equal(legacy?.whole, true);
        assert.equal(legacy?.checked, false);
        const expected = (await expectedDigests(v)).structure;
        assert.match(expected ?? '', /^[0-9a-f]{64}$/);
        const strict = await structureSource(v, r, undefined, expected);
        assert.equal(strict?.src?.path, v.archive);
        assert.equal(strict?.checked, true);
      });
    });

    it('checkRecord: a wrong entry count is damage; a line that does not decode is broken', async () => {
      const plain = { path: v.structure as string, label: 'structure.jsonl' };
      assert.deepEqual(await checkRecord(plain, decodeStructureHeader, decodeStructureEntry), { state: 'checked', digest: true });
      await withEdit(v.structure as string, (t) => t.replace(/"entries":(\d+)/, (_m, n: string) => `"entries":${Number(n) + 1}`), async () => {
        assert.deepEqual(await checkRecord(plain, decodeStructureHeader, decodeStructureEntry), { state: 'damaged', digest: true });
      });
      await withEdit(v.structure as string, (t) => t.replace('"type":"file"', '"type":"fil"'), async () => {
        assert.deepEqual(await checkRecord(plain, decodeStructureHeader, decodeStructureEntry), { state: 'broken', digest: true });
      });
    });

    it('checkRecord with nothing to gather: a record that checks is read once without decoding an entry; any other is judged as ever', async () => {
      const plain = { path: v.structure as string, label: 'structure.jsonl' };
      let decoded = 0;
      const counting = (line: string, where: string) => {
        decoded++;
        return decodeStructureEntry(line, where);
      };
      assert.deepEqual(await checkRecord(plain, decodeStructureHeader, counting), { state: 'checked', digest: true });
      assert.equal(decoded, 0, 'its lines are decoded by the pass that uses them');
      // A line that does not decode (its digest no longer matches) is still found broken, not only damaged.
      await withEdit(v.structure as string, (t) => t.replace('"type":"file"', '"type":"fil"'), async () => {
        assert.deepEqual(await checkRecord(plain, decodeStructureHeader, counting), { state: 'broken', digest: true });
      });
      assert.ok(decoded > 0);
      // With a gatherer, every entry is decoded and gathered in the same pass.
      const seen: unknown[] = [];
      assert.deepEqual(await checkRecord(plain, decodeStructureHeader, decodeStructureEntry, { clear: () => (seen.length = 0), add: (e) => seen.push(e) }), { state: 'checked', digest: true });
      assert.ok(seen.length > 20);
    });

    it('a catalog.jsonl with a changed sha256 digit: the copy is used and checked, the plain file named', async () => {
      await withEdit(v.catalog as string, (t) => t.replace(/"sha256":"([0-9a-f])/, (_m, c: string) => `"sha256":"${c === '0' ? '1' : '0'}`), async () => {
        const own = await ownCatalog(v, r, undefined, (await expectedDigests(v)).catalog);
        assert.match(own?.label ?? '', /\(catalog copy\)$/);
        assert.equal(own?.checked, true);
        assert.equal(own?.plainDamaged, true);
        assert.deepEqual(own?.notes, [{ path: v.catalog, reason: 'catalog.jsonl is damaged (its checksum does not match); the copy inside the archive was used' }]);
      });
    });
  });
});
