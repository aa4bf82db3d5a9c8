/**
 * `pack --bundle` (docs/FORMAT.md, "Bundles"): small files of a folder several to one zip. Round trip
 * of the nasty tree, the by-hand restore (tar + unzip + expand-structure, an incremental too), a burst
 * inside a bundle (the other members come back byte for byte, the hit one is listed, none is wrong),
 * the tar walk without any catalog, an incremental with a changed bundled file, volumes of a set that
 * is split, and the refusal with encryption.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, xtar } from '../helpers/cli.js';
import { byHandDiffs, diffSnapshots, makeNastyTree, removeTree, snapshot, tempDir } from '../helpers/tree.js';
import { scriptFromReadme } from '../helpers/readme-script.js';
import { escapeRegExp } from '../helpers/regexp.js';

interface Line {
  path: string;
  parts?: { volume: number; offset: number; length: number }[];
  bundle?: string;
  backup?: string;
}

async function lines(volume: string): Promise<Line[]> {
  const text = await readFile(join(volume, 'catalog.jsonl'), 'utf8');
  return text.trim().split('\n').slice(1, -1).map((l) => JSON.parse(l) as Line);
}

async function packJson(args: string[]): Promise<{ path: string; archive: string }[]> {
  const r = await xtar(['pack', ...args, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { volumes: { path: string; archive: string }[] }).volumes;
}

/** A folder of `n` tiny files with distinct contents, and one of 10 kB (never bundled). */
async function tinyTree(root: string, n: number): Promise<void> {
  await mkdir(join(root, 'd', 'sub'), { recursive: true });
  for (let i = 0; i < n; i++) await writeFile(join(root, 'd', `f${String(i).padStart(3, '0')}.txt`), `tiny file number ${i}\n`);
  await writeFile(join(root, 'd', 'sub', 'g.txt'), 'in a subfolder\n');
  await writeFile(join(root, 'd', 'large.bin'), Buffer.alloc(10_000, 7));
}

describe('pack --bundle', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('round-trips the nasty tree, its catalog giving each bundled file its own line and range', async () => {
    const src = await makeNastyTree(join(work, 'nasty-in'));
    const [v] = await packJson([src, '--out', join(work, 'nasty-set'), '--bundle']);
    const cat = await lines(v!.path);
    const bundled = cat.filter((l) => l.bundle !== undefined);
    assert.ok(bundled.length >= 4, `files in bundles: ${bundled.length}`);
    // Each member's range is its own (no two lines share one).
    assert.equal(new Set(bundled.map((l) => l.parts![0]!.offset)).size, bundled.length);
    const dest = join(work, 'nasty-out');
    const u = await xtar(['unpack', join(work, 'nasty-set'), '--dest', dest]);
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'nasty'))), []);
    const ver = await xtar(['verify', join(work, 'nasty-set')]);
    assert.equal(ver.status, 0, ver.stderr);
    const list = await xtar(['list', join(work, 'nasty-set'), '--files']);
    assert.equal(list.status, 0, list.stderr);
    for (const l of bundled) assert.ok(list.stdout.includes(l.path.split('/').pop() as string), `list --files names ${l.path}`);
  });

  it('restores by hand with tar + unzip (the README script), then expand-structure gives the whole tree', async () => {
    const src = await makeNastyTree(join(work, 'hand-in'));
    const [v] = await packJson([src, '--out', join(work, 'hand-set'), '--bundle']);
    const script = join(work, 'restore.sh');
    await writeFile(script, await scriptFromReadme(v!.path));
    const dest = join(work, 'hand-out');
    const r = await run('sh', [script, dest, v!.archive]);
    assert.equal(r.status, 0, r.stderr);
    const original = await snapshot(src);
    const byHand = await snapshot(join(dest, 'nasty'));
    // Every file's bytes, and no bundle, blob or work folder left behind.
    assert.deepEqual(byHandDiffs(original, byHand), { wrong: [], leftovers: [] });
    assert.deepEqual((await readdir(dest)).sort(), ['nasty', 'nasty.xtar-catalog.jsonl.gz', 'nasty.xtar-structure.jsonl.gz']);
    const ex = await xtar(['expand-structure', join(v!.path, 'structure.jsonl'), '--dest', dest]);
    assert.equal(ex.status, 0, ex.stderr);
    assert.deepEqual(diffSnapshots(original, await snapshot(join(dest, 'nasty'))), []);
  });

  it('a burst inside a bundle costs only the member it touches: the others come back byte for byte', async () => {
    const src = join(work, 'burst-in', 'tree');
    await tinyTree(src, 12);
    const set = join(work, 'burst-set');
    const [v] = await packJson([src, '--out', set, '--bundle']);
    const cat = await lines(v!.path);
    const members = cat.filter((l) => l.bundle === '.xtar-bundle-1');
    assert.ok(members.length >= 8, `members of the first bundle: ${members.length}`);
    // Flip 20 bytes inside the 5th member's data (after its 30-byte header and name).
    const hit = members[4]!;
    const archive = await readFile(v!.archive);
    const at = hit.parts![0]!.offset + hit.parts![0]!.length - 10;
    for (let i = 0; i < 8; i++) archive[at + i] = (archive[at + i] as number) ^ 0x5a;
    await writeFile(v!.archive, archive);
    const dest = join(work, 'burst-out');
    const u = await xtar(['unpack', set, '--dest', dest]);
    assert.equal(u.status, 1, u.stderr);
    assert.match(u.stderr, new RegExp(escapeRegExp(hit.path)));
    const before = await snapshot(src);
    const after = await snapshot(join(dest, 'tree'));
    for (const [p, info] of before) {
      if (info.type !== 'file') continue;
      if (`tree/${p}` === hit.path) assert.equal(after.get(p), undefined, 'the hit file is not written');
      else assert.equal(after.get(p)?.sha256, info.sha256, `${p} comes back whole`);
    }
    const ver = await xtar(['verify', set]);
    assert.equal(ver.status, 1);
    assert.ok(ver.stderr.includes(hit.path), ver.stderr);
    // With --keep-damaged the hit member's bytes (its 8 flipped ones in place) are kept beside, as for a blob.
    const kept = join(work, 'burst-kept');
    const k = await xtar(['unpack', set, '--dest', kept, '--keep-damaged']);
    assert.equal(k.status, 1, k.stderr);
    const rel = hit.path.slice('tree/'.length);
    assert.match(k.stderr, new RegExp(`${escapeRegExp(hit.path)}: .*; what could be read is in ${escapeRegExp(rel.split('/').pop() as string)}\\.damaged`));
    const damaged = await readFile(join(kept, 'tree', `${rel}.damaged`));
    const original = await readFile(join(src, rel));
    assert.equal(damaged.length, original.length);
    let differ = 0;
    for (let i = 0; i < original.length; i++) if (damaged[i] !== original[i]) differ++;
    assert.ok(differ > 0 && differ <= 8, `${differ} bytes differ`);
    assert.equal((await snapshot(join(kept, 'tree'))).get(rel), undefined, 'never under its own name');
  });

  it('without any catalog, the tar walk takes the members out of a bundle one by one (a damaged one listed)', async () => {
    const src = join(work, 'walk-in', 'tree');
    await tinyTree(src, 20);
    const set = join(work, 'walk-set');
    const [v] = await packJson([src, '--out', set, '--bundle']);
    const cat = await lines(v!.path);
    const members = cat.filter((l) => l.bundle === '.xtar-bundle-1');
    const hit = members[2]!;
    const archive = await readFile(v!.archive);
    // The catalog copy inside the archive lost (its tar header damaged), the one beside it removed.
    const header = archive.indexOf(Buffer.from('tree.xtar-catalog.jsonl.gz'));
    assert.ok(header > 0);
    archive[header] = 0x58;
    // And a member's local header destroyed: the walk finds the next one by its own header.
    archive.fill(0x41, hit.parts![0]!.offset, hit.parts![0]!.offset + 12);
    await writeFile(v!.archive, archive);
    await rm(join(v!.path, 'catalog.jsonl'));
    const dest = join(work, 'walk-out');
    const u = await xtar(['unpack', v!.path, '--dest', dest]);
    assert.equal(u.status, 1, u.stderr);
    assert.match(u.stderr, /bundle is damaged/);
    const before = await snapshot(src);
    const after = await snapshot(join(dest, 'tree'));
    let restored = 0;
    for (const [p, info] of before) {
      if (info.type !== 'file') continue;
      if (`tree/${p}` === hit.path) assert.equal(after.get(p), undefined, 'the hit file is not written');
      else {
        assert.equal(after.get(p)?.sha256, info.sha256, `${p} comes back whole`);
        restored++;
      }
    }
    assert.equal(restored, 21);
  });

  it('an incremental (its index rebuilt from the volumes) bundles only the changed files; unpack and a by-hand restore of the chain give the new tree', async () => {
    const src = join(work, 'inc-in', 'tree');
    await tinyTree(src, 30);
    const set = join(work, 'inc-set');
    const [full] = await packJson([src, '--out', set, '--bundle', '--bundle-files', '8']);
    assert.ok((await lines(full!.path)).filter((l) => l.bundle !== undefined).length >= 24);
    // Two changed files (same size, new bytes and time), one new, one removed.
    await writeFile(join(src, 'd', 'f003.txt'), 'TINY FILE NUMBER 3\n');
    await writeFile(join(src, 'd', 'f017.txt'), 'tiny file NUMBER 17\n');
    const later = new Date('2030-01-01T00:00:00Z');
    await utimes(join(src, 'd', 'f003.txt'), later, later);
    await utimes(join(src, 'd', 'f017.txt'), later, later);
    await writeFile(join(src, 'd', 'new.txt'), 'new\n');
    await rm(join(src, 'd', 'f020.txt'));
    await new Promise((r) => setTimeout(r, 1100));
    // The index made again from the volumes' records (bundled lines and all) before the incremental.
    await rm(join(set, 'xtar-index.sqlite'));
    const [inc] = await packJson([src, '--out', set, '--bundle', '--bundle-files', '8']);
    const cat = await lines(inc!.path);
    const stored = cat.filter((l) => l.backup === undefined && l.parts !== undefined);
    assert.deepEqual(stored.map((l) => l.path).sort(), ['tree/d/f003.txt', 'tree/d/f017.txt', 'tree/d/new.txt']);
    assert.ok(stored.every((l) => l.bundle === '.xtar-bundle-1'), 'the changed files are bundled');
    // Unchanged files bundled by the full backup are referred to, each by its member's range.
    assert.ok(cat.some((l) => l.backup !== undefined && l.path === 'tree/d/f004.txt'));
    const dest = join(work, 'inc-out');
    const u = await xtar(['unpack', set, '--dest', dest]);
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'tree'))), []);
    // By hand: both backups' archives, oldest first, then expand-structure --prune.
    const script = join(work, 'restore-inc.sh');
    await writeFile(script, await scriptFromReadme(inc!.path));
    const hand = join(work, 'inc-hand');
    const r = await run('sh', [script, hand, full!.archive, inc!.archive]);
    assert.equal(r.status, 0, r.stderr);
    const ex = await xtar(['expand-structure', inc!.path, '--dest', hand, '--prune']);
    assert.equal(ex.status, 0, ex.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(hand, 'tree'))), []);
  });

  it('never splits a bundle across volumes, and each volume restores alone', async () => {
    const src = join(work, 'vol-in', 'tree');
    await tinyTree(src, 400);
    const set = join(work, 'vol-set');
    const volumes = await packJson([src, '--out', set, '--bundle', '--volume-size', '256KiB']);
    assert.ok(volumes.length >= 2, `volumes: ${volumes.length}`);
    const last = await lines(volumes[volumes.length - 1]!.path);
    // Members of one bundle lie on one volume.
    const where = new Map<string, number>();
    for (const l of last) {
      if (l.bundle === undefined) continue;
      const key = `${l.path.slice(0, l.path.lastIndexOf('/'))}|${l.bundle}|${l.parts![0]!.volume}`;
      where.set(key, (where.get(key) ?? 0) + 1);
    }
    assert.ok(where.size > 20, String(where.size));
    const dest = join(work, 'vol-out');
    const u = await xtar(['unpack', set, '--dest', dest]);
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'tree'))), []);
    const one = join(work, 'vol-one');
    const alone = join(work, 'vol-alone');
    await cp(volumes[0]!.path, join(alone, volumes[0]!.path.split('/').pop() as string), { recursive: true });
    const u1 = await xtar(['unpack', alone, '--dest', one]);
    // (Exit 1: the files of the other volumes are named as missing.)
    assert.ok(u1.status === 0 || u1.status === 1, u1.stderr);
    const got = await snapshot(join(one, 'tree'));
    const orig = await snapshot(src);
    for (const [p, info] of got) if (info.type === 'file') assert.equal(info.sha256, orig.get(p)?.sha256, p);
  });

  it('refuses an encrypted set in one sentence, and a bundle size out of range', async () => {
    const src = join(work, 'enc-in', 'tree');
    await tinyTree(src, 3);
    const r = await xtar(['pack', src, '--out', join(work, 'enc-set'), '--bundle', '--encrypt'], { env: { ...process.env, XTAR_PASSPHRASE: 'correct horse' } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--bundle cannot be used with an encrypted set/);
    const k = await xtar(['pack', src, '--out', join(work, 'k-set'), '--bundle-files', '1']);
    assert.equal(k.status, 2);
    assert.match(k.stderr, /--bundle-files must be a whole number from 2 to 256/);
  });
});
