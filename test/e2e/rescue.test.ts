/**
 * `xtar rescue` (issue 16) through the real CLI, off a FUSE file system that fails chosen sectors with
 * EIO: the readable bytes copied identically, zeros where unreadable, a GNU ddrescue mapfile that
 * `ddrescuelog -t` accepts with exactly those ranges `-`; a second pass (a "cleaned disc": fewer bad
 * ranges) fills the copy in; unpack of the copy takes the map's ranges as unreadable; par2 repair of
 * a copy leaves a clean volume. Fixed data and ranges.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, run, xtar } from '../helpers/cli.js';
import { mountEio, type BadRanges, type EioMount } from '../helpers/eio-mount.js';
import { removeTree, seededBytes, seededText, snapshot, tempDir } from '../helpers/tree.js';

const SECTOR = 2048;

interface RescueJson {
  badBytes: number;
  volumes: { copy: string; files: { path: string; map: string; bytes: number; read: number; badBytes: number; bad: { offset: number; length: number }[] }[] }[];
}

/** The data blocks of a mapfile: [pos, size, status]. */
function blocksOf(map: string): [number, number, string][] {
  const lines = map.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  return lines.slice(1).map((l) => {
    const [p, s, st] = l.trim().split(/\s+/);
    return [Number(p), Number(s), st as string];
  });
}

describe('xtar rescue: a damaged disc copied as ddrescue does', () => {
  let work: string;
  let src: string;
  const mounts: EioMount[] = [];
  let runs = 0;

  before(async () => {
    work = await tempDir('xtar-rescue-');
    src = join(work, 'tree');
    for (let d = 0; d < 3; d++) {
      const dir = join(src, `dir${d}`);
      await mkdir(dir, { recursive: true });
      for (let f = 0; f < 20; f++) {
        const n = 3000 + ((d * 20 + f) * 7919) % 15000;
        await writeFile(join(dir, `f${f}.${f % 4 === 0 ? 'bin' : 'txt'}`), f % 4 === 0 ? seededBytes(d * 100 + f, n) : seededText(d * 100 + f, n));
      }
    }
  });
  after(async () => {
    for (const m of mounts) await m.close().catch(() => undefined);
    await removeTree(work);
  });

  async function pack(name: string, extra: string[]): Promise<{ set: string; vol: string }> {
    const set = join(work, name);
    const r = await xtar(['pack', src, '--out', set, ...extra]);
    assert.equal(r.status, 0, r.stderr);
    const vol = (await readdir(set)).filter((n) => n.includes('-vol')).sort()[0] as string;
    return { set, vol };
  }

  /** Rescue `vol` of `set` off a drive failing `bad` into `to`. */
  async function rescueOff(set: string, vol: string, bad: BadRanges, to: string): Promise<{ status: number; stderr: string; json: RescueJson }> {
    const n = runs++;
    const mnt = join(work, `mnt-${n}`);
    await mkdir(mnt);
    const mount = await mountEio(set, mnt, bad, join(work, `eio-${n}.log`));
    mounts.push(mount);
    try {
      const r = await xtar(['rescue', join(mnt, vol), '--to', to, '--json']);
      assert.notEqual(r.status, 2, r.stderr);
      return { status: r.status, stderr: r.stderr, json: JSON.parse(r.stdout) as RescueJson };
    } finally {
      await mount.close();
    }
  }

  /** The copy is the original outside `bad`, zeros inside; its map passes ddrescuelog and marks exactly `bad` as '-'. */
  async function assertCopy(orig: string, copy: string, bad: [number, number][]): Promise<void> {
    const a = await readFile(orig);
    const b = await readFile(copy);
    assert.equal(b.length, a.length);
    let at = 0;
    for (const [s, t] of bad) {
      assert.ok(a.subarray(at, s).equals(b.subarray(at, s)), `bytes ${at}–${s} copied`);
      assert.ok(b.subarray(s, t).every((x) => x === 0), `bytes ${s}–${t} are zeros`);
      at = t;
    }
    assert.ok(a.subarray(at).equals(b.subarray(at)), `bytes from ${at} copied`);
    const check = await run('ddrescuelog', ['-t', `${copy}.map`]);
    assert.equal(check.status, 0, check.stderr + check.stdout);
    const blocks = blocksOf(await readFile(`${copy}.map`, 'utf8'));
    assert.deepEqual(blocks.filter((x) => x[2] === '-').map((x) => [x[0], x[0] + x[1]]), bad);
    assert.ok(blocks.every((x) => x[2] === '+' || x[2] === '-'));
    assert.equal(blocks.reduce((n, x) => n + x[1], 0), a.length, 'the map covers the file');
  }

  it('copies every readable byte, maps the bad ranges, fills them in on a second pass; unpack of the copy names only what is lost', async () => {
    const { set, vol } = await pack('plain', []);
    const archive = await readFile(join(set, vol, `${vol}.xtar`));
    const extents = (await readFile(join(set, vol, 'catalog.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { path?: string; parts?: { offset: number; length: number }[] }).filter((l) => l.parts && l.path !== undefined).flatMap((l) => (l.parts ?? []).map((p) => ({ path: l.path as string, ...p })));
    const sectorIn = (i: number): [number, number] => {
      const e = extents[i] as { offset: number; length: number };
      const s = Math.floor((e.offset + e.length / 2) / SECTOR) * SECTOR;
      return [s, s + SECTOR];
    };
    const lasting = [sectorIn(5), sectorIn(30)];
    const healed = sectorIn(50);
    const all = [...lasting, healed].sort((x, y) => x[0] - y[0]);
    const to = join(work, 'rescued');
    const xtarFile = `${vol}/${vol}.xtar`;

    const first = await rescueOff(set, vol, { [xtarFile]: all }, to);
    assert.equal(first.status, 1, first.stderr);
    assert.equal(first.json.badBytes, 3 * SECTOR);
    assert.deepEqual(first.json.volumes[0]?.files.filter((f) => f.badBytes > 0).map((f) => [f.path, f.bad]), [[join(to, vol, `${vol}.xtar`), all.map(([s, t]) => ({ offset: s, length: t - s }))]]);
    const copy = join(to, vol);
    await assertCopy(join(set, vol, `${vol}.xtar`), join(copy, `${vol}.xtar`), all);
    for (const f of ['catalog.jsonl', 'structure.jsonl', 'volume.json', 'README.txt']) await assertCopy(join(set, vol, f), join(copy, f), []);

    // Another drive: only `lasting` still fails. Only the ranges the map marks bad are read.
    const second = await rescueOff(set, vol, { [xtarFile]: lasting }, to);
    assert.equal(second.status, 1, second.stderr);
    const xf = second.json.volumes[0]?.files.find((f) => f.path.endsWith('.xtar'));
    assert.equal(xf?.read, SECTOR, 'the second pass reads only what was bad, and gets the healed sector');
    assert.deepEqual(xf?.bad, lasting.map(([s, t]) => ({ offset: s, length: t - s })));
    await assertCopy(join(set, vol, `${vol}.xtar`), join(copy, `${vol}.xtar`), lasting);

    // The copy unpacks: every file on readable sectors identical, those on the map's bad ranges named, never written.
    const dest = join(work, 'out');
    const u = await xtar(['unpack', copy, '--dest', dest, '--json']);
    assert.equal(u.status, 1, u.stderr);
    const problems = (JSON.parse(u.stdout) as { problems: { path: string; kind: string; reason: string }[] }).problems;
    const hit = new Set(extents.filter((e) => lasting.some(([s, t]) => s < e.offset + e.length && t > e.offset)).map((e) => e.path));
    assert.ok(hit.size >= 2);
    const want = await snapshot(src);
    const got = await snapshot(join(dest, 'tree'));
    const named = new Set(problems.filter((p) => p.kind === 'damaged').map((p) => p.path));
    for (const [p, info] of want) {
      if (info.type !== 'file') continue;
      if (hit.has(`tree/${p}`)) {
        assert.equal(got.has(p), false, `${p} lies on unread bytes: not written`);
        assert.ok(named.has(`tree/${p}`), `${p} named as lost`);
      } else assert.equal(got.get(p)?.sha256, info.sha256, `${p} restored identically`);
    }
    assert.ok(problems.some((p) => /unreadable sectors/.test(p.reason)), JSON.stringify(problems));

    // A cleaned disc: everything reads, the map says so, the copy is the volume.
    const third = await rescueOff(set, vol, {}, to);
    assert.equal(third.status, 0, third.stderr);
    await assertCopy(join(set, vol, `${vol}.xtar`), join(copy, `${vol}.xtar`), []);
    assert.ok((await readFile(join(copy, `${vol}.xtar`))).equals(archive));
    const v = await xtar(['verify', copy]);
    assert.equal(v.status, 0, v.stderr);
  });

  it('a copy of a --par2 volume with bad ranges: repair, then verify is clean', async () => {
    const { set, vol } = await pack('par2', ['--par2', '10']);
    const bad = { [`${vol}/${vol}.xtar`]: [[4 * SECTOR, 5 * SECTOR], [20 * SECTOR, 21 * SECTOR]] } as BadRanges;
    const to = join(work, 'rescued-par2');
    const r = await rescueOff(set, vol, bad, to);
    assert.equal(r.status, 1, r.stderr);
    const copy = join(to, vol);
    const before = await xtar(['verify', copy]);
    assert.equal(before.status, 1, before.stderr);
    const rep = await xtar(['repair', copy]);
    assert.equal(rep.status, 0, rep.stderr + rep.stdout);
    const v = await xtar(['verify', copy]);
    assert.equal(v.status, 0, v.stderr);
  });

  it('an interrupted rescue goes on from the map of the file it was copying, not from its start', async () => {
    const big = join(work, 'big-tree');
    await mkdir(big);
    for (let i = 0; i < 12; i++) await writeFile(join(big, `r${i}.bin`), seededBytes(500 + i, 1024 * 1024));
    const set = join(work, 'big');
    assert.equal((await xtar(['pack', big, '--out', set])).status, 0);
    const vol = (await readdir(set)).find((n) => n.includes('-vol')) as string;
    const xtarFile = `${vol}/${vol}.xtar`;
    const original = await readFile(join(set, xtarFile));
    const MiB = 1024 * 1024;
    assert.ok(original.length > 11 * MiB, String(original.length));
    const to = join(work, 'rescued-interrupted');
    const copyMap = join(to, vol, `${vol}.xtar.map`);

    // The drive gets stuck at 10 MiB: the rescue is killed there, as a user would stop it.
    const mnt = join(work, 'mnt-stuck');
    await mkdir(mnt);
    const log = join(work, 'eio-stuck.log');
    await writeFile(`${log}.hang`, '');
    const mount = await mountEio(set, mnt, {}, log, { [xtarFile]: [[10 * MiB, 10 * MiB + SECTOR]] });
    mounts.push(mount);
    try {
      const child = spawn(process.execPath, [CLI, 'rescue', join(mnt, vol), '--to', to], { stdio: 'ignore' });
      const ended = new Promise<void>((resolve) => child.on('close', () => resolve()));
      const deadline = Date.now() + 30_000;
      while (!(await stat(copyMap).then(() => true, () => false))) {
        assert.equal(child.exitCode, null, 'the rescue ended before it wrote a map of the file in progress');
        assert.ok(Date.now() < deadline, 'no map of the file in progress after 30 s');
        await sleep(10);
      }
      assert.equal(child.exitCode, null);
      child.kill('SIGKILL');
      // The killed process ends once the stuck read is answered: the drive lets go only now.
      await rm(`${log}.hang`, { force: true });
      await ended;
    } finally {
      await rm(`${log}.hang`, { force: true });
      await mount.close();
    }
    // What the map says was read is in the copy; the rest is marked not tried.
    const blocks = blocksOf(await readFile(copyMap, 'utf8'));
    const done = blocks.filter((b) => b[2] === '+').reduce((n, b) => n + b[1], 0);
    assert.ok(done >= 8 * MiB && done < 10 * MiB, JSON.stringify(blocks));
    assert.deepEqual(blocks.map((b) => b[2]), ['+', '?']);
    assert.ok((await readFile(join(to, xtarFile))).subarray(0, done).equals(original.subarray(0, done)));

    // Run again: only what the map does not mark read is read, and the copy is whole.
    const again = await rescueOff(set, vol, {}, to);
    assert.equal(again.status, 0, again.stderr);
    const xf = again.json.volumes[0]?.files.find((f) => f.path.endsWith('.xtar'));
    assert.equal(xf?.read, original.length - done);
    assert.ok((await readFile(join(to, xtarFile))).equals(original));
    assert.equal((await xtar(['verify', join(to, vol)])).status, 0);
  });

  it('records beside a rescued archive: bytes their maps mark missing are damage, not zeros to read', async () => {
    const { set, vol } = await pack('records', []);
    const to = join(work, 'rescued-records');
    const r = await rescueOff(set, vol, { [`${vol}/volume.json`]: [[0, SECTOR]], [`${vol}/catalog.jsonl`]: [[SECTOR, 2 * SECTOR]] }, to);
    assert.equal(r.status, 1, r.stderr);
    const copy = join(to, vol);
    const u = await xtar(['unpack', copy, '--dest', join(work, 'out-records'), '--json']);
    assert.equal(u.status, 1, u.stderr);
    const problems = (JSON.parse(u.stdout) as { problems: { path: string; kind: string; reason: string }[] }).problems;
    const lines = problems.map((p) => `${p.path}: ${p.reason}`).join('\n');
    assert.match(lines, /volume\.json cannot be used \(it is missing from this rescued copy from byte 0 on/);
    assert.match(lines, /catalog\.jsonl.*the copy inside the archive was used/);
    assert.equal(problems.filter((p) => p.kind === 'damaged').length, 0, lines);
    const want = await snapshot(src);
    const got = await snapshot(join(work, 'out-records', 'tree'));
    for (const [p, info] of want) if (info.type === 'file') assert.equal(got.get(p)?.sha256, info.sha256, p);
  });
});
