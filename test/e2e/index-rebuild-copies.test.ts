/**
 * `xtar index rebuild` takes each backup's catalog as unpack does: a volume's catalog.jsonl when it
 * checks, else the copy inside its .xtar when that checks — and, since a copy holds only its own
 * volume's lines, the volume before it for the rest. A catalog that does not check is named and not
 * believed; only when no copy checks are files recorded without their blobs. The set: a full backup
 * over several volumes (--volume-size) and an incremental after it (whose catalog refers to the
 * full's blobs).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xtar } from '../helpers/cli.js';
import { removeTree, seededBytes, seededText, tempDir } from '../helpers/tree.js';
import { indexFiles, packOnDay as pack, type PackedJson } from '../helpers/set-on-days.js';

const INDEX = 'xtar-index.sqlite';

/** Change one hex digit of the first file line's sha256: the line still decodes, its digest no longer matches. */
async function flipInLine(catalog: string): Promise<void> {
  const b = await readFile(catalog);
  const at = b.indexOf('"sha256":"', b.indexOf(0x0a) + 1) + '"sha256":"'.length + 5;
  assert.ok(at > 20, catalog);
  b[at] = b[at] === 0x61 ? 0x62 : 0x61;
  await writeFile(catalog, b);
}

/** Flip a byte inside the gzip'd catalog copy at the top level of an .xtar: it no longer inflates. */
async function damageCopy(archive: string): Promise<void> {
  const b = await readFile(archive);
  const name = b.indexOf('.xtar-catalog.jsonl.gz\0');
  assert.ok(name >= 0, archive);
  const data = name - (name % 512) + 512;
  b[data + 30] = (b[data + 30] as number) ^ 0xff;
  await writeFile(archive, b);
}

describe('index rebuild takes a catalog that does not check, or is missing, from the copy inside the archive', () => {
  let work: string;
  let src: string;
  let pristine: string;
  let full: PackedJson;
  let incremental: PackedJson;
  let intact: Record<string, unknown[]>;

  /** A copy of the set without its index, `damage` done to its volumes, then `index rebuild`. */
  async function rebuilt(name: string, damage: () => Promise<void>): Promise<{ set: string; status: number; stderr: string }> {
    const set = join(work, name);
    await cp(pristine, set, { recursive: true });
    await rm(join(set, INDEX));
    await damage();
    const r = await xtar(['index', 'rebuild', set]);
    return { set, status: r.status, stderr: r.stderr };
  }
  const volumesOf = (set: string, p: PackedJson): string[] => p.volumes.map((v) => join(set, v.path.slice(pristine.length + 1)));

  before(async () => {
    work = await tempDir();
    src = join(work, 'src');
    for (const d of ['photos', 'notes']) await mkdir(join(src, d), { recursive: true });
    // Incompressible photos, so that 300 KB volumes take several; small notes between them.
    for (let i = 0; i < 24; i++) await writeFile(join(src, 'photos', `p${String(i).padStart(2, '0')}.raw`), seededBytes(i, 12_000));
    for (let i = 0; i < 30; i++) await writeFile(join(src, 'notes', `n${String(i).padStart(2, '0')}.txt`), seededText(100 + i, 300));
    pristine = join(work, 'pristine');
    full = await pack(src, pristine, 0, ['--volume-size', '300K']);
    assert.ok(full.volumes.length >= 2, `${full.volumes.length} volume(s)`);
    await writeFile(join(src, 'notes', 'n03.txt'), 'changed since the full backup\n');
    incremental = await pack(src, pristine, 1, ['--volume-size', '300K']);
    assert.ok(incremental.backup !== null);
    const r = await xtar(['index', 'rebuild', pristine]);
    assert.equal(r.status, 0, r.stderr);
    intact = indexFiles(pristine);
  });
  after(async () => {
    await removeTree(work);
  });

  it('every catalog.jsonl deleted: rebuilt from the copies, exit 0, the same rows, and a pack stores nothing unchanged', async () => {
    const r = await rebuilt('no-plain', async () => {
      for (const p of [full, incremental]) for (const v of volumesOf(join(work, 'no-plain'), p)) await rm(join(v, 'catalog.jsonl'));
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(indexFiles(r.set), intact);
    const again = await pack(src, r.set, 2);
    assert.equal(again.nothingChanged, true, 'every file is known with its blob: nothing is stored again');
  });

  it('a byte flipped inside a line of the newest catalog.jsonl: it is named, not believed, and the copy gives the right rows (exit 1)', async () => {
    let catalog = '';
    const r = await rebuilt('flipped', async () => {
      const vols = volumesOf(join(work, 'flipped'), full);
      catalog = join(vols[vols.length - 1] as string, 'catalog.jsonl');
      await flipInLine(catalog);
    });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `xtar: backup ${full.backup}: ${catalog}: catalog.jsonl is damaged (its checksum does not match); the copy inside the archive was used\n`);
    assert.deepEqual(indexFiles(r.set), intact);
  });

  it('the newest volume\'s catalog.jsonl and its copy both damaged: only the files whose lines they held lose their blobs; the volume before gives the rest', async () => {
    const r = await rebuilt('newest-both', async () => {
      const vols = volumesOf(join(work, 'newest-both'), full);
      const newest = vols[vols.length - 1] as string;
      await flipInLine(join(newest, 'catalog.jsonl'));
      await damageCopy(join(newest, (await readdir(newest)).find((n) => n.endsWith('.xtar')) as string));
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /catalog\.jsonl: catalog\.jsonl is damaged \(its checksum does not match\)\n/);
    assert.match(r.stderr, /\.xtar: the copy of catalog\.jsonl inside the archive is damaged \(.*\): the files whose catalog lines it held are recorded without where their bytes lie/);
    const got = indexFiles(r.set)[full.backup as string] as { path: string; blob: unknown; skipped?: string | null }[];
    const want = intact[full.backup as string] as { path: string; blob: unknown }[];
    const lost = got.filter((f) => f.blob === null);
    assert.ok(lost.length > 0 && lost.length < got.length, `${lost.length} of ${got.length} without blobs`);
    for (const f of lost) assert.match(String(f.skipped), /its catalog line is in a record that does not check/);
    for (const [i, f] of got.entries()) if (f.blob !== null) assert.deepEqual(f, want[i]);
  });

  it('every catalog.jsonl and every copy damaged: files recorded without blobs, each record named (exit 1)', async () => {
    const r = await rebuilt('all-damaged', async () => {
      for (const v of volumesOf(join(work, 'all-damaged'), full)) {
        await flipInLine(join(v, 'catalog.jsonl'));
        await damageCopy(join(v, (await readdir(v)).find((n) => n.endsWith('.xtar')) as string));
      }
    });
    assert.equal(r.status, 1, r.stderr);
    for (const v of full.volumes) {
      assert.ok(r.stderr.includes(`${join(work, 'all-damaged', v.path.slice(pristine.length + 1), 'catalog.jsonl')}: catalog.jsonl is damaged (its checksum does not match)\n`), r.stderr);
      assert.ok(r.stderr.includes('the copy of catalog.jsonl inside the archive is damaged'), r.stderr);
    }
    const got = indexFiles(r.set)[full.backup as string] as { blob: unknown; skipped?: string | null }[];
    assert.ok(got.length > 0);
    for (const f of got) {
      assert.equal(f.blob, null);
      assert.match(String(f.skipped), /its catalog line is in a record that does not check/);
    }
  });
});
