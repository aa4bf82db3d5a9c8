/**
 * Backups over time (issue 5): incremental, differential and cyclic packs into one set, restores of
 * any backup's state, policies, "nothing changed", the obsolete-volume list, an index rebuilt from
 * the volumes alone, and packs killed with -9 at random points. Every tree is kept as a snapshot
 * (sha256 of every file, modes, times) to compare each restore with the tree as it was.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, chmod, mkdir, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { CLI, run, xtar } from '../helpers/cli.js';
import { scriptFromReadme } from '../helpers/readme-script.js';
import { mulberry32 } from '../helpers/prng.js';
import { killMidPack } from '../helpers/kill.js';
import { diffSnapshots, removeTree, seededBytes, seededText, snapshot, tempDir, type NodeInfo } from '../helpers/tree.js';
import { SetIndex } from '../../src/setindex/db.js';
import { PARTIAL_PREFIX } from '../../src/format/layout.js';
import { recordLines, resealManifest, sealedRecord } from '../helpers/records.js';

const DAY = 86_400;
const EPOCH = 1_790_000_000; // 2026-09-21

interface PackJson {
  backup: string | null;
  kind: string;
  base: string | null;
  reason: string;
  storedFiles: number;
  unchangedFiles: number;
  renamedFiles: number;
  deletedFiles: number;
  nothingChanged?: boolean;
  volumes: { path: string; volume: number }[];
}

async function pack(src: string, set: string, day: number, extra: string[] = []): Promise<PackJson> {
  const r = await xtar(['pack', src, '--out', set, '--json', ...extra], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH + day * DAY) } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as PackJson;
}

/** The files a backup's own volumes hold (catalog lines without a reference to an earlier backup). */
async function storedPaths(set: string, id: string): Promise<string[]> {
  const r = await xtar(['list', set, '--files', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const b = (JSON.parse(r.stdout) as { backups: { id: string; fileList: { path: string; backup?: string }[] }[] }).backups.find((x) => x.id === id);
  assert.ok(b, `backup ${id} listed`);
  return b.fileList.filter((f) => f.backup === undefined).map((f) => f.path).sort();
}

async function restoreEquals(set: string, dest: string, want: Map<string, NodeInfo>, args: string[] = []): Promise<void> {
  const r = await xtar(['unpack', set, '--dest', dest, ...args]);
  assert.equal(r.status, 0, r.stderr);
  const got = await snapshot(join(dest, 'src'));
  assert.deepEqual(diffSnapshots(want, got), [], `restore ${args.join(' ')}`);
}

/** A small tree with some depth: 3 folders, 24 files of text and random bytes, one empty folder. */
async function makeTree(src: string): Promise<void> {
  for (const d of ['docs', 'img/raw', 'code/lib', 'empty']) await mkdir(join(src, d), { recursive: true });
  for (let i = 0; i < 8; i++) {
    await writeFile(join(src, 'docs', `note${i}.txt`), seededText(100 + i, 2000 + i * 300));
    await writeFile(join(src, 'img/raw', `p${i}.bin`), seededBytes(200 + i, 5000 + i * 1000));
    await writeFile(join(src, 'code/lib', `m${i}.js`), seededText(300 + i, 800 + i * 50));
  }
}

async function bumpMtime(p: string, secondsLater: number): Promise<void> {
  const t = new Date((EPOCH + secondsLater) * 1000);
  await utimes(p, t, t);
}

describe('backups over time', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('a chain of five: each incremental stores only what changed, and each backup restores the tree as it was', async () => {
    const src = join(work, 'chain/src');
    const set = join(work, 'chain/set');
    await makeTree(src);
    const states: Map<string, NodeInfo>[] = [];
    const ids: string[] = [];

    const full = await pack(src, set, 0);
    assert.equal(full.kind, 'full');
    states.push(await snapshot(src));
    ids.push(full.backup as string);

    // 1: modify one, add one, delete one, rename one, chmod one, touch one (same bytes, new mtime).
    await appendFile(join(src, 'docs/note0.txt'), 'one more line\n');
    await writeFile(join(src, 'docs/new.txt'), 'brand new\n');
    await rm(join(src, 'img/raw/p1.bin'));
    await rename(join(src, 'img/raw/p2.bin'), join(src, 'img/p2-moved.bin'));
    await chmod(join(src, 'code/lib/m3.js'), 0o600);
    await bumpMtime(join(src, 'code/lib/m4.js'), 5000);
    // --dry-run names each of these, writing nothing.
    const dry = await xtar(['pack', src, '--out', set, '--dry-run', '--json'], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH + DAY) } });
    assert.equal(dry.status, 0, dry.stderr);
    const items = (JSON.parse(dry.stdout) as { kind: string; items: { path: string; change: string; from?: string }[] }).items;
    assert.deepEqual(items.map((i) => `${i.change} ${i.path}${i.from ? ` <- ${i.from}` : ''}`).sort(), [
      'deleted src/img/raw/p1.bin',
      'metadata src/code/lib/m3.js',
      'metadata src/code/lib/m4.js',
      'modified src/docs/note0.txt',
      'new src/docs/new.txt',
      'renamed src/img/p2-moved.bin <- src/img/raw/p2.bin',
    ]);
    assert.equal((await readdir(set)).filter((n) => n.endsWith('-vol001')).length, 1, 'a dry run writes no volume');
    const inc1 = await pack(src, set, 1);
    assert.equal(inc1.kind, 'incremental');
    assert.equal(inc1.base, ids[0]);
    assert.deepEqual(await storedPaths(set, inc1.backup as string), ['src/docs/new.txt', 'src/docs/note0.txt']);
    assert.equal(inc1.renamedFiles, 1);
    assert.equal(inc1.deletedFiles, 1, 'the deleted file; the renamed one lives on under its new name');
    assert.equal(inc1.unchangedFiles, 22);
    states.push(await snapshot(src));
    ids.push(inc1.backup as string);

    // 2: a new folder with files, a folder removed, a file replaced by one of another size.
    await mkdir(join(src, 'new/deep'), { recursive: true });
    await writeFile(join(src, 'new/deep/a.txt'), seededText(400, 3000));
    await rm(join(src, 'empty'), { recursive: true });
    await writeFile(join(src, 'img/raw/p3.bin'), seededBytes(401, 123));
    const inc2 = await pack(src, set, 2);
    assert.deepEqual(await storedPaths(set, inc2.backup as string), ['src/img/raw/p3.bin', 'src/new/deep/a.txt']);
    states.push(await snapshot(src));
    ids.push(inc2.backup as string);

    // 3: only metadata: a chmod on a folder, and a touched file — a backup with no blob at all.
    await chmod(join(src, 'docs'), 0o750);
    await bumpMtime(join(src, 'docs/note5.txt'), 9000);
    const inc3 = await pack(src, set, 3);
    assert.equal(inc3.kind, 'incremental');
    assert.deepEqual(await storedPaths(set, inc3.backup as string), []);
    assert.equal(inc3.storedFiles, 0);
    states.push(await snapshot(src));
    ids.push(inc3.backup as string);

    // 4: a file renamed back over a deleted name's place, one rewritten.
    await rename(join(src, 'img/p2-moved.bin'), join(src, 'img/raw/p1.bin'));
    await writeFile(join(src, 'code/lib/m0.js'), seededText(500, 900));
    const inc4 = await pack(src, set, 4);
    assert.deepEqual(await storedPaths(set, inc4.backup as string), ['src/code/lib/m0.js']);
    assert.equal(inc4.renamedFiles, 1);
    states.push(await snapshot(src));
    ids.push(inc4.backup as string);

    for (const [i, id] of ids.entries()) await restoreEquals(set, join(work, `chain/out-${i}`), states[i] as Map<string, NodeInfo>, ['--backup', id]);
    // The default is the newest; --at picks the newest made at or before a time.
    await restoreEquals(set, join(work, 'chain/out-newest'), states[4] as Map<string, NodeInfo>);
    await restoreEquals(set, join(work, 'chain/out-at'), states[2] as Map<string, NodeInfo>, ['--at', new Date((EPOCH + 2 * DAY + 3600) * 1000).toISOString()]);

    // Restoring an old state says which volumes it needs: here the full's and the incremental's own.
    const plan = await xtar(['unpack', set, '--dest', join(work, 'chain/out-plan'), '--backup', ids[1] as string, '--json']);
    const vols = (JSON.parse(plan.stdout) as { volumes: { backup: string }[] }).volumes.map((v) => v.backup);
    assert.deepEqual(vols, [ids[0], ids[1]]);

    // Only some paths: a glob and a folder.
    const part = join(work, 'chain/out-part');
    const r = await xtar(['unpack', set, '--dest', part, 'm0.js', 'src/img']);
    assert.equal(r.status, 0, r.stderr);
    const got = await snapshot(join(part, 'src'));
    assert.deepEqual([...got.keys()].filter((p) => got.get(p)?.type === 'file').sort(), ['code/lib/m0.js', 'img/raw/p0.bin', 'img/raw/p1.bin', 'img/raw/p3.bin', 'img/raw/p4.bin', 'img/raw/p5.bin', 'img/raw/p6.bin', 'img/raw/p7.bin']);

    // The newest backup's volume alone restores what it stored and names the discs to insert for the rest.
    const alone = await xtar(['unpack', (inc4.volumes[0] as { path: string }).path, '--dest', join(work, 'chain/out-alone')]);
    assert.equal(alone.status, 1);
    // (One line per volume of an earlier backup, with its count; -v names each file.)
    assert.match(alone.stderr, new RegExp(`^xtar: volume 1 of backup ${ids[0]} was not given: \\d+ file\\(s\\) on it not restored$`, 'm'));
    assert.doesNotMatch(alone.stderr, /which was not given/);
    const each = await xtar(['unpack', (inc4.volumes[0] as { path: string }).path, '--dest', join(work, 'chain/out-alone-v'), '-v']);
    assert.match(each.stderr, new RegExp(`in backup ${ids[0]}, volume 1, which was not given`));

    // Nothing changed: no backup, no volume, exit 0, and the set's log says so.
    const before = (await readdir(set)).sort();
    const same = await pack(src, set, 5);
    assert.equal(same.nothingChanged, true);
    assert.deepEqual((await readdir(set)).sort(), before);
    assert.match(await readFile(join(set, 'xtar.log'), 'utf8'), /nothing changed since backup \d{8}T\d{6}Z; no backup made\n$/);

    // The index rebuilt from the volumes alone gives the same answers.
    const dump = (): ReturnType<SetIndex['dump']> => {
      const ix = SetIndex.open(set);
      try {
        return ix.dump();
      } finally {
        ix.close();
      }
    };
    const original = dump();
    const obsoleteBefore = (await xtar(['list', set, '--obsolete', '--keep', '2', '--json'])).stdout;
    const dryBefore = (await xtar(['pack', src, '--out', set, '--dry-run', '--json'], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH + 6 * DAY) } })).stdout;
    for (const f of ['xtar-index.sqlite', 'xtar-index.sqlite-journal']) await rm(join(set, f), { force: true });
    // Without its index file (a set copied back from discs) a dry run plans against the backups all the same, and writes no index.
    assert.equal((await xtar(['pack', src, '--out', set, '--dry-run', '--json'], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH + 6 * DAY) } })).stdout, dryBefore);
    assert.ok(!(await readdir(set)).includes('xtar-index.sqlite'), 'a dry run writes no index');
    const rb = await xtar(['index', 'rebuild', set]);
    assert.equal(rb.status, 0, rb.stderr);
    assert.deepEqual(dump(), original);
    assert.equal((await xtar(['list', set, '--obsolete', '--keep', '2', '--json'])).stdout, obsoleteBefore);
    assert.equal((await xtar(['pack', src, '--out', set, '--dry-run', '--json'], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH + 6 * DAY) } })).stdout, dryBefore);
  });

  it('by hand: the README script over the full and the incremental, oldest first, then expand-structure --prune', async () => {
    const src = join(work, 'hand/src');
    const set = join(work, 'hand/set');
    await makeTree(src);
    const full = await pack(src, set, 0);
    await rename(join(src, 'docs/note1.txt'), join(src, 'code/note1-moved.txt'));
    await rm(join(src, 'img/raw/p0.bin'));
    await rm(join(src, 'empty'), { recursive: true });
    await appendFile(join(src, 'code/lib/m1.js'), '// more\n');
    await chmod(join(src, 'docs/note2.txt'), 0o640);
    const inc = await pack(src, set, 1);
    const archives = [full, inc].map((b) => (b.volumes[0] as { path: string }).path).map((v) => join(v, `${v.slice(v.lastIndexOf('/') + 1)}.xtar`));
    const incVolume = (inc.volumes[0] as { path: string }).path;
    assert.match(await readFile(join(incVolume, 'README.txt'), 'utf8'), /incremental backup/);
    const script = join(work, 'hand/restore.sh');
    await writeFile(script, await scriptFromReadme(incVolume));
    const dest = join(work, 'hand/out');
    const r = await run('sh', [script, dest, ...archives]);
    assert.equal(r.status, 0, r.stderr);
    const ex = await xtar(['expand-structure', (inc.volumes[0] as { path: string }).path, '--dest', dest, '--prune', '--json']);
    assert.equal(ex.status, 0, ex.stderr);
    const done = JSON.parse(ex.stdout) as { renamed: number; pruned: number };
    assert.equal(done.renamed, 1);
    assert.equal(done.pruned, 3, 'the deleted file, the renamed file\'s old name and the removed folder');
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'src'))), []);
  });

  it('a forged reference (another blob, or a path out of the tree) is refused, never written', async () => {
    const src = join(work, 'forge/src');
    const set = join(work, 'forge/set');
    await makeTree(src);
    await pack(src, set, 0);
    await writeFile(join(src, 'docs/x.txt'), 'x\n');
    const inc = await pack(src, set, 1);
    const catalog = join((inc.volumes[0] as { path: string }).path, 'catalog.jsonl');
    const lines = (await readFile(catalog, 'utf8')).split('\n');
    const at = (p: string): number => lines.findIndex((l) => l.includes(`"path":"${p}"`));
    const victim = JSON.parse(lines[at('src/docs/note3.txt')] as string) as { parts: unknown };
    const donor = JSON.parse(lines[at('src/docs/note4.txt')] as string) as { parts: unknown };
    victim.parts = donor.parts; // note3's line now points at note4's blob
    lines[at('src/docs/note3.txt')] = JSON.stringify(victim);
    // Forged as a forger would: the trailer's digest made over the edited lines, and volume.json's
    // digest of it (and its own sum) made again, so the record checks and is this volume's.
    await writeFile(catalog, sealedRecord(recordLines(lines.join('\n'))));
    await resealManifest(dirname(catalog));
    const dest = join(work, 'forge/out');
    const r = await xtar(['unpack', set, '--dest', dest]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /src\/docs\/note3\.txt: Refused src\/docs\/note3\.txt: the zip inside holds "note4\.txt", not the name its tar entry gives\./);
    const got = await snapshot(join(dest, 'src'));
    assert.equal(got.has('docs/note3.txt'), false, 'the forged file is not written');
    assert.equal(got.get('docs/note4.txt')?.type, 'file');
    // A reference whose "as" leaves the tree makes the line invalid: the catalog is not used, the
    // copy inside the .xtar is, and nothing is written outside --dest.
    lines[at('src/docs/note5.txt')] = (lines[at('src/docs/note5.txt')] as string).replace('"backup"', '"as":"../../evil","backup"');
    await writeFile(catalog, lines.join('\n'));
    const r2 = await xtar(['unpack', set, '--dest', join(work, 'forge/out2')]);
    assert.ok(r2.status <= 1, r2.stderr);
    assert.equal((await snapshot(join(work, 'forge/out2/src'))).get('docs/note5.txt')?.type, 'file');
    assert.deepEqual((await readdir(join(work, 'forge'))).sort(), ['out', 'out2', 'set', 'src']);
  });

  it('--checksum finds a change that kept size and mtime; a plain incremental does not read it', async () => {
    const src = join(work, 'sum/src');
    const set = join(work, 'sum/set');
    await makeTree(src);
    const p = join(src, 'docs/note1.txt');
    await bumpMtime(p, 100); // a whole second: utimes can set it again exactly
    await pack(src, set, 0);
    const changed = Buffer.from(await readFile(p));
    changed[10] = changed[10] === 0x41 ? 0x42 : 0x41;
    await writeFile(p, changed);
    await bumpMtime(p, 100);
    const plain = await pack(src, set, 1);
    assert.equal(plain.nothingChanged, true, 'size and mtime are the same: nothing to see without --checksum');
    const summed = await pack(src, set, 2, ['--checksum']);
    assert.equal(summed.storedFiles, 1);
    assert.deepEqual(await storedPaths(set, summed.backup as string), ['src/docs/note1.txt']);
  });

  it('differential: changes since the last full, whatever incrementals came between', async () => {
    const src = join(work, 'diff/src');
    const set = join(work, 'diff/set');
    await makeTree(src);
    const full = await pack(src, set, 0);
    await writeFile(join(src, 'docs/a.txt'), 'a\n');
    const inc = await pack(src, set, 1);
    assert.deepEqual(await storedPaths(set, inc.backup as string), ['src/docs/a.txt']);
    await writeFile(join(src, 'docs/b.txt'), 'b\n');
    const diff = await pack(src, set, 2, ['--mode', 'differential']);
    assert.equal(diff.kind, 'differential');
    assert.equal(diff.base, full.backup);
    assert.deepEqual(await storedPaths(set, diff.backup as string), ['src/docs/a.txt', 'src/docs/b.txt']);
    await restoreEquals(set, join(work, 'diff/out'), await snapshot(src));
    // The incremental's volume is not needed for the newest state: the differential holds its file again.
    const ob = JSON.parse((await xtar(['list', set, '--obsolete', '--json'])).stdout) as { obsolete: { backup: string }[] };
    assert.deepEqual(ob.obsolete.map((v) => v.backup), [inc.backup]);
  });

  it('cyclic --split 3: after three runs every file has a copy from the last three, and the full is obsolete', async () => {
    const src = join(work, 'cyc/src');
    const set = join(work, 'cyc/set');
    await makeTree(src);
    const full = await pack(src, set, 0);
    const ids: string[] = [];
    for (let run = 1; run <= 3; run++) {
      await writeFile(join(src, 'docs/run.txt'), `run ${run}\n`);
      const c = await pack(src, set, run, ['--mode', 'cyclic', '--split', '3']);
      assert.equal(c.kind, 'cyclic');
      // The change, plus a third of the 24 files (rounded up) whose copies are oldest.
      assert.ok(c.storedFiles >= 1 + 8, `run ${run} stored ${c.storedFiles}`);
      ids.push(c.backup as string);
    }
    const r = await xtar(['list', set, '--files', '--json']);
    const newest = (JSON.parse(r.stdout) as { backups: { id: string; fileList: { path: string; backup?: string }[] }[] }).backups.at(-1);
    assert.equal(newest?.id, ids[2]);
    for (const f of newest?.fileList ?? []) assert.ok(f.backup === undefined || ids.includes(f.backup), `${f.path} is held by ${f.backup}`);
    const ob = JSON.parse((await xtar(['list', set, '--obsolete', '--json'])).stdout) as { obsolete: { backup: string }[] };
    assert.ok(ob.obsolete.some((v) => v.backup === full.backup), 'the full backup is no longer needed');
    await restoreEquals(set, join(work, 'cyc/out'), await snapshot(src));
  });

  it('policies: --full-every and --full-after force a full backup at their limits', async () => {
    const src = join(work, 'pol/src');
    const set = join(work, 'pol/set');
    await makeTree(src);
    const kinds: string[] = [];
    for (let day = 0; day < 4; day++) {
      await writeFile(join(src, 'docs/day.txt'), `day ${day}\n`);
      kinds.push((await pack(src, set, day, ['--full-every', '2'])).kind);
    }
    assert.deepEqual(kinds, ['full', 'incremental', 'incremental', 'full']);
    await writeFile(join(src, 'docs/day.txt'), 'later\n');
    const soon = await pack(src, set, 4, ['--full-after', '2d']);
    assert.equal(soon.kind, 'incremental');
    await writeFile(join(src, 'docs/day.txt'), 'much later\n');
    const late = await pack(src, set, 6, ['--full-after', '2d']);
    assert.equal(late.kind, 'full');
    assert.match(late.reason, /--full-after 2d/);
  });

  it('kill -9 at random points mid-pack never corrupts the index: the next pack recovers and restores exactly', async () => {
    const src = join(work, 'kill/src');
    const set = join(work, 'kill/set');
    await makeTree(src);
    // Enough compressible bytes that a pack at level 9 on one job takes a couple of seconds, well
    // beyond the latest kill point below (0-600 ms after its partial folder appears).
    await mkdir(join(src, 'bulk'));
    for (let i = 0; i < 20; i++) await writeFile(join(src, 'bulk', `b${i}.txt`), seededText(600 + i, 1_000_000));
    await pack(src, set, 0);
    const rnd = mulberry32(5);
    for (let round = 1; round <= 6; round++) {
      for (let i = 0; i < 10; i++) await writeFile(join(src, 'bulk', `b${(round * 7 + i) % 20}.txt`), seededText(700 + round * 10 + i, 1_000_000));
      // The partial folder killMidPack waits for must be this pack's, not one left from before.
      assert.deepEqual((await readdir(set)).filter((n) => n.startsWith(PARTIAL_PREFIX)), [], `round ${round}: no partial before the pack`);
      const child = spawn(process.execPath, [CLI, 'pack', src, '--out', set, '--quiet', '--jobs', '1', '--level', '9'], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH + round * DAY) }, stdio: 'ignore' });
      const k = await killMidPack(child, set, 'SIGKILL', { afterMs: Math.floor(rnd() * 600), what: `round ${round}` });
      assert.equal(k.signal, 'SIGKILL', `round ${round}: the pack died by the signal, not exit ${k.status}`);
      assert.ok(k.partialAtKill.length > 0, `round ${round}: a partial folder existed at the kill`);
      const db = new Database(join(set, 'xtar-index.sqlite'));
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok', `round ${round}`);
      } finally {
        db.close();
      }
      // Whatever was killed, the next pack finishes and its backup restores the tree exactly.
      const next = await pack(src, set, round, []);
      assert.ok(next.nothingChanged || next.backup, `round ${round}`);
      await restoreEquals(set, join(work, `kill/out-${round}`), await snapshot(src));
    }
    const ix = SetIndex.open(set);
    try {
      assert.deepEqual(ix.incomplete(), []);
    } finally {
      ix.close();
    }
  });
});
