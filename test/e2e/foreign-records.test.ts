/**
 * A record beside a volume that is sound but another volume's — structure.jsonl or catalog.jsonl
 * copied into the wrong folder when discs were copied back — is never believed: its header names
 * another backup (or, a catalog, another volume), or its digest is not the one the volume's
 * volume.json records. unpack, verify and index rebuild name it and take the copy inside the archive,
 * so every file comes back as it was backed up, with its own metadata.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { xtar } from '../helpers/cli.js';
import { diffSnapshots, removeTree, seededText, snapshot, tempDir } from '../helpers/tree.js';

type Snapshot = Awaited<ReturnType<typeof snapshot>>;
import { indexFiles, packOnDay as pack } from '../helpers/set-on-days.js';

/** Rewrite a record's trailer so that its digest matches its (changed) lines again: sound in itself. */
async function resealed(path: string, change: (lines: string[]) => void): Promise<void> {
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
  lines.pop();
  change(lines);
  const body = lines.map((l) => `${l}\n`).join('');
  const sha256 = createHash('sha256').update(body).digest('hex');
  await writeFile(path, `${body}${JSON.stringify({ end: true, entries: lines.length - 1, sha256 })}\n`);
}

describe('records of another volume beside a volume', () => {
  let work: string;
  let src: string;
  let set: string;
  /** The tree as the first backup saw it. */
  let first: Snapshot;
  let v1: string;
  let v2: string;

  before(async () => {
    work = await tempDir('xtar-foreign-');
    src = join(work, 'docs');
    await mkdir(join(src, 'd'), { recursive: true });
    for (let i = 1; i <= 6; i++) await writeFile(join(src, 'd', `f${i}.txt`), seededText(i, 200 + i));
    await chmod(join(src, 'd', 'f2.txt'), 0o644);
    set = join(work, 'set');
    v1 = (await pack(src, set, 0)).volumes[0]?.path as string;
    first = await snapshot(src, { contents: true });
    // The second backup: a file changed, a mode changed, a folder added.
    await writeFile(join(src, 'd', 'f1.txt'), seededText(99, 300));
    await chmod(join(src, 'd', 'f2.txt'), 0o600);
    await mkdir(join(src, 'e'));
    await writeFile(join(src, 'e', 'g.txt'), seededText(7, 50));
    v2 = (await pack(src, set, 1)).volumes[0]?.path as string;
    assert.notEqual(v1, v2);
  });
  after(() => removeTree(work));

  /** A copy of the set whose first volume holds the second backup's structure.jsonl and catalog.jsonl. */
  async function mixedUp(name: string, records: readonly string[] = ['structure.jsonl', 'catalog.jsonl']): Promise<string> {
    const copy = join(work, name);
    await cp(set, copy, { recursive: true });
    const vol = join(copy, (await readdir(copy)).find((n) => join(set, n) === v1) as string);
    for (const r of records) await copyFile(join(v2, r), join(vol, r));
    return vol;
  }

  it('unpack names both records, restores every file of the first backup from the copies inside the archive, with its own modes', async () => {
    const vol = await mixedUp('unpack');
    const dest = join(work, 'out-unpack');
    const r = await xtar(['unpack', vol, '--dest', dest]);
    assert.equal(r.status, 1, r.stderr);
    const b1 = (await readdir(join(work, 'unpack'))).find((n) => join(set, n) === v1)?.replace(/-vol\d+$/, '') as string;
    const b2 = v2.split('/').pop()?.replace(/-vol\d+$/, '') as string;
    for (const rec of ['structure.jsonl', 'catalog.jsonl']) {
      assert.ok(r.stderr.includes(`${join(vol, rec)}: ${rec} is not this volume's record (it is backup ${b2}'s, not ${b1}'s); the copy inside the archive was used\n`), r.stderr);
    }
    assert.equal(r.stderr.split('\n').filter((l) => l !== '').length, 2, r.stderr);
    assert.match(r.stdout, /\(full\)/);
    assert.deepEqual(diffSnapshots(first, await snapshot(join(dest, 'docs'), { contents: true })), []);
  });

  it('expand-structure after a restore by hand applies the first backup\'s own structure, not the record copied beside it', async () => {
    const vol = await mixedUp('expand');
    // The files restored by hand (here by unpack of the intact set), their modes and times lost.
    const dest = join(work, 'out-expand');
    assert.equal((await xtar(['unpack', v1, '--dest', dest, '--quiet'])).status, 0);
    for (const n of await readdir(join(dest, 'docs', 'd'))) await chmod(join(dest, 'docs', 'd', n), 0o600);
    const r = await xtar(['expand-structure', vol, '--dest', dest]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /structure\.jsonl: structure\.jsonl is not this volume's record \(it is backup \d{8}T\d{6}Z's, not \d{8}T\d{6}Z's\); the copy inside the archive was used\n/);
    assert.deepEqual(diffSnapshots(first, await snapshot(join(dest, 'docs'), { contents: true })), []);
  });

  it("another volume's volume.json too: named and ignored by unpack and list, which take none of its figures", async () => {
    const vol = await mixedUp('manifest', ['structure.jsonl', 'catalog.jsonl', 'volume.json']);
    const dest = join(work, 'out-manifest');
    const r = await xtar(['unpack', vol, '--dest', dest]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /volume\.json: volume\.json cannot be used \(it is not this volume's: it describes volume 1 of backup \d{8}T\d{6}Z, not volume 1 of \d{8}T\d{6}Z\); it was ignored\n/);
    assert.deepEqual(diffSnapshots(first, await snapshot(join(dest, 'docs'), { contents: true })), []);
    const l = await xtar(['list', join(vol, '..'), '--json']);
    assert.equal(l.status, 1, l.stderr);
    const j = JSON.parse(l.stdout) as { backups: { kind: string; files: number }[]; problems: { path: string }[] };
    assert.deepEqual(j.problems.map((p) => p.path), [join(vol, 'volume.json')]);
    // (The second backup's figures are not shown as the first's: an incremental of 2 files.)
    assert.deepEqual([j.backups[0]?.kind, j.backups[0]?.files], ['full', 0]);
  });

  it('verify names both records and finds every file intact', async () => {
    const vol = await mixedUp('verify');
    const r = await xtar(['verify', vol, '--json']);
    assert.equal(r.status, 1, r.stderr);
    const j = JSON.parse(r.stdout) as { intact: number; damaged: unknown[]; problems: { path: string; kind: string; reason: string }[] };
    assert.equal(j.intact, 6);
    assert.deepEqual(j.damaged, []);
    assert.deepEqual(
      j.problems.map((p) => [p.path.split('/').pop(), p.kind]),
      [
        ['structure.jsonl', 'header'],
        ['catalog.jsonl', 'header'],
      ],
    );
  });

  it('list --files names the catalog and lists none of the other backup\'s files as this one\'s', async () => {
    const vol = await mixedUp('list');
    const r = await xtar(['list', join(vol, '..'), '--files', '--json']);
    assert.equal(r.status, 1, r.stderr);
    const j = JSON.parse(r.stdout) as { backups: { fileList?: { path: string }[] }[]; problems: { path: string; reason: string }[] };
    assert.deepEqual(
      j.problems.map((p) => [p.path, p.reason.replace(/\d{8}T\d{6}Z/g, 'ID')]),
      [[join(vol, 'catalog.jsonl'), "it is not this volume's record (it is backup ID's, not ID's); the files it names there are not listed (xtar verify reads its copy inside the archive)"]],
    );
    assert.deepEqual(j.backups[0]?.fileList, []);
    assert.ok((j.backups[1]?.fileList ?? []).some((f) => f.path.endsWith('e/g.txt')), 'the second backup is listed from its own catalog');
  });

  it("verify's chain check takes no references from another backup's catalog", async () => {
    const copy = join(work, 'chain');
    await cp(set, copy, { recursive: true });
    // A third backup, full: it needs no other. Then the incremental's catalog (which refers to the
    // first backup's blobs) copied into its folder, and the first backup's volume gone.
    const third = (await pack(src, copy, 2, ['--mode', 'full'])).volumes[0]?.path as string;
    const name = (p: string): string => p.split('/').pop() as string;
    await copyFile(join(copy, name(v2), 'catalog.jsonl'), join(third, 'catalog.jsonl'));
    await rm(join(copy, name(v1)), { recursive: true });
    const r = await xtar(['verify', copy, '--json']);
    const j = JSON.parse(r.stdout) as { chainGaps: { backup: string; message: string }[] };
    const thirdId = name(third).replace(/-vol\d+$/, '');
    assert.deepEqual(
      j.chainGaps.filter((g) => g.backup === thirdId),
      [],
      r.stdout,
    );
  });

  it("a record of this backup resealed with other lines: not the digest volume.json records, so the copy is used", async () => {
    const copy = join(work, 'resealed');
    await cp(set, copy, { recursive: true });
    const vol = join(copy, (await readdir(copy)).find((n) => join(set, n) === v1) as string);
    // Every file's mode made 0600 in a structure record that checks by its own trailer.
    await resealed(join(vol, 'structure.jsonl'), (lines) => lines.forEach((l, i) => (lines[i] = l.replace(/"mode":"0644"/, '"mode":"0600"'))));
    const dest = join(work, 'out-resealed');
    const r = await xtar(['unpack', vol, '--dest', dest]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /structure\.jsonl: structure\.jsonl is not this volume's record \(its checksum is not the one this volume's volume\.json records\); the copy inside the archive was used\n$/);
    assert.deepEqual(diffSnapshots(first, await snapshot(join(dest, 'docs'), { contents: true })), []);
  });

  it("another volume's catalog.jsonl of the same backup: named, and the volume restored alone from its own copy", async () => {
    const big = join(work, 'big');
    await mkdir(big);
    for (let i = 0; i < 8; i++) await writeFile(join(big, `b${i}.bin`), seededText(40 + i, 90_000));
    const vols = (await pack(big, join(work, 'set-vols'), 0, ['--volume-size', '300K', '--level', '0'])).volumes.map((v) => v.path);
    assert.ok(vols.length >= 2, `${vols.length} volume(s)`);
    const [one, two] = vols as [string, string];
    await copyFile(join(two, 'catalog.jsonl'), join(one, 'catalog.jsonl'));
    const r = await xtar(['unpack', one, '--dest', join(work, 'out-vols')]);
    assert.equal(r.status, 1, r.stderr);
    assert.ok(r.stderr.includes(`${join(one, 'catalog.jsonl')}: catalog.jsonl is not this volume's record (it is volume 2's, not volume 1's); the copy inside the archive was used\n`), r.stderr);
    assert.doesNotMatch(r.stderr, /damaged/);
  });

  it('index rebuild names them and records the first backup from its own copies', async () => {
    const intact = join(work, 'intact');
    await cp(set, intact, { recursive: true });
    await rm(join(intact, 'xtar-index.sqlite'));
    assert.equal((await xtar(['index', 'rebuild', intact])).status, 0);
    const vol = await mixedUp('rebuild');
    const mixed = join(vol, '..');
    await rm(join(mixed, 'xtar-index.sqlite'));
    const r = await xtar(['index', 'rebuild', mixed]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /structure\.jsonl: it is backup \d{8}T\d{6}Z's record, not \d{8}T\d{6}Z's; not used/);
    assert.match(r.stderr, /catalog\.jsonl: catalog\.jsonl is not this volume's record \(it is backup \d{8}T\d{6}Z's, not \d{8}T\d{6}Z's\); the copy inside the archive was used/);
    assert.deepEqual(indexFiles(mixed), indexFiles(intact));
  });
});
