/**
 * Volumes for removable media: no volume folder ever exceeds its size, volumes are well filled, a
 * file is split only when larger than a volume, each volume alone restores exactly its whole files,
 * missing volumes are named, and the by-hand procedure works across all volumes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { run, xtar } from '../helpers/cli.js';
import { diffSnapshots, removeTree, seededBytes, seededText, snapshot, tempDir } from '../helpers/tree.js';
import { scriptFromReadme } from '../helpers/readme-script.js';
import { SMALL_FILE_MAX } from '../../src/pack/compress.js';

interface PackJson {
  volumes: { volume: number; path: string; archive: string; bytes: number; files: number }[];
  bytes: number;
  archiveBytes: number;
}

async function folderBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(join(dir, f))).size;
  return n;
}

/** A seeded tree: `files` files whose sizes follow `size(i)`, spread over a few folders. */
async function makeTree(dir: string, seed: number, files: number, size: (i: number) => number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${(i * 7 + seed) % 5}`, `e${i % 3}`);
    await mkdir(sub, { recursive: true });
    const n = size(i);
    await writeFile(join(sub, `f${String(i).padStart(4, '0')}.${i % 4 === 0 ? 'bin' : 'txt'}`), i % 4 === 0 ? seededBytes(seed * 1000 + i, n) : seededText(seed * 1000 + i, n));
  }
  await mkdir(join(dir, 'empty'), { recursive: true });
}

describe('volumes', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  const shapes: { name: string; seed: number; files: number; size: (i: number) => number; volume: number }[] = [
    { name: 'many small files', seed: 1, files: 400, size: (i) => 200 + ((i * 7919) % 9000), volume: 300 * 1024 },
    { name: 'mixed sizes', seed: 2, files: 60, size: (i) => (i % 10 === 0 ? 200_000 + i * 1000 : 3000 + i * 50), volume: 512 * 1024 },
    { name: 'files larger than a volume', seed: 3, files: 12, size: (i) => (i % 3 === 0 ? 900_000 : 40_000), volume: 300 * 1024 },
    { name: 'big streamed files near volume ends', seed: 4, files: 5, size: (i) => SMALL_FILE_MAX + 1024 * 1024 + i * 100_000, volume: 4 * 1024 * 1024 },
  ];

  for (const shape of shapes) {
    it(`${shape.name}: every volume fits, and the set restores the tree`, async () => {
      const src = join(work, `src-${shape.seed}`, 'tree');
      await makeTree(src, shape.seed, shape.files, shape.size);
      const set = join(work, `set-${shape.seed}`);
      const r = await xtar(['pack', src, '--out', set, '--volume-size', String(shape.volume), '--json']);
      assert.equal(r.status, 0, r.stderr);
      const info = JSON.parse(r.stdout) as PackJson;
      assert.ok(info.volumes.length > 1, 'more than one volume');
      for (const v of info.volumes) {
        const bytes = await folderBytes(v.path);
        assert.ok(bytes <= shape.volume, `volume ${v.volume} holds ${bytes} bytes > ${shape.volume}`);
        assert.equal(bytes, v.bytes);
      }
      // Names sort in volume order.
      const names = info.volumes.map((v) => v.path);
      assert.deepEqual([...names].sort(), names);
      const dest = join(work, `out-${shape.seed}`);
      const u = await xtar(['unpack', set, '--dest', dest]);
      assert.equal(u.status, 0, u.stderr);
      assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'tree'))), []);
    });
  }

  it('fills volumes well: all but the last volume folder are at least 90% full', async () => {
    const src = join(work, 'fill', 'tree');
    await makeTree(src, 9, 500, (i) => 500 + ((i * 104729) % 20000));
    const set = join(work, 'set-fill');
    const r = await xtar(['pack', src, '--out', set, '--volume-size', '1MiB', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as PackJson;
    for (const v of info.volumes.slice(0, -1)) {
      const bytes = await folderBytes(v.path);
      assert.ok(bytes / (1024 * 1024) >= 0.9, `volume ${v.volume} is ${((100 * bytes) / 1024 / 1024).toFixed(1)}% full`);
    }
  });

  describe('a file split over three volumes', () => {
    let src: string;
    let set: string;
    let info: PackJson;
    before(async () => {
      src = join(work, 'split', 'tree');
      await mkdir(join(src, 'd'), { recursive: true });
      await writeFile(join(src, 'd', 'a.txt'), 'before the big one\n');
      await writeFile(join(src, 'd', 'big.bin'), seededBytes(77, 2_500_000));
      await writeFile(join(src, 'z.txt'), seededText(78, 300_000));
      set = join(work, 'set-split');
      const r = await xtar(['pack', src, '--out', set, '--volume-size', '1MB', '--json']);
      assert.equal(r.status, 0, r.stderr);
      info = JSON.parse(r.stdout) as PackJson;
    });

    it('is cut into NAME.zip.001… on consecutive volumes, and only it is', async () => {
      assert.ok(info.volumes.length >= 3);
      const last = info.volumes.at(-1)!;
      const catalog = (await readFile(join(last.path, 'catalog.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { path?: string; parts?: { volume: number }[] });
      const big = catalog.find((c) => c.path === 'tree/d/big.bin');
      const vols = big?.parts?.map((p) => p.volume) ?? [];
      assert.ok(vols.length >= 3, `split into ${vols.length} parts`);
      vols.forEach((v, i) => assert.equal(v, (vols[0] as number) + i, 'consecutive volumes'));
      for (const c of catalog) if (c.path && c.path !== 'tree/d/big.bin') assert.equal(c.parts?.length, 1, `${c.path} is whole`);
      const listing = await run('tar', ['-tf', info.volumes[1]!.archive]);
      assert.match(listing.stdout, /tree\/\.xtar/);
    });

    it('each volume alone restores exactly its whole files and names the volumes to insert', async () => {
      for (const v of info.volumes) {
        const dest = join(work, `alone-${v.volume}`);
        const r = await xtar(['unpack', v.path, '--dest', dest, '--json']);
        assert.equal(r.status, 1, r.stderr);
        const out = JSON.parse(r.stdout) as { files: number; problems: { path: string; reason: string }[] };
        const catalog = (await readFile(join(v.path, 'catalog.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { path?: string; parts?: { volume: number }[] });
        const whole = catalog.filter((c) => c.parts?.length === 1 && c.parts[0]?.volume === v.volume).map((c) => c.path);
        assert.equal(out.files, whole.length, `volume ${v.volume} restores ${whole.join(', ')}`);
        for (const p of whole) assert.ok((await stat(join(dest, p as string))).isFile());
        const big = out.problems.find((p) => p.path === 'tree/d/big.bin');
        assert.ok(big === undefined || /insert volume \d/.test(big.reason), JSON.stringify(big));
        assert.ok(out.problems.some((p) => /volume \d+ of \d+ of backup \S+ was not given/.test(p.reason)));
      }
    });

    it('volumes copied to different places restore together; a missing one is named by number', async () => {
      const all = join(work, 'together');
      const r = await xtar(['unpack', ...info.volumes.map((v) => v.path), '--dest', all]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(all, 'tree'))), []);
      const without2 = join(work, 'without-2');
      const m = await xtar(['unpack', ...info.volumes.filter((v) => v.volume !== 2).map((v) => v.path), '--dest', without2]);
      assert.equal(m.status, 1);
      assert.match(m.stderr, /tree\/d\/big\.bin: split across volumes [\d, ]+: insert volume 2/);
      assert.match(m.stderr, /volume 2 of \d+ of backup \S+ was not given/);
    });

    it('restores by hand across all volumes (tar, cat, unzip)', async () => {
      const text = await readFile(join(info.volumes[0]!.path, 'README.txt'), 'utf8');
      assert.match(text, new RegExp(`volume 1 of ${info.volumes.length}`));
      const script = join(work, 'restore.sh');
      await writeFile(script, await scriptFromReadme(info.volumes[0]!.path));
      const dest = join(work, 'by-hand');
      const r = await run('sh', [script, dest, ...info.volumes.map((v) => v.archive)]);
      assert.equal(r.status, 0, r.stderr);
      const want = await snapshot(src);
      const got = await snapshot(join(dest, 'tree'));
      for (const [p, i] of want) if (i.type === 'file') assert.equal(got.get(p)?.sha256, i.sha256, p);
    });

    it('xtar list shows the backup, its volumes and which volume holds each file', async () => {
      const r = await xtar(['list', set, '--json', '--files', '*.bin']);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout) as { backups: { id: string; kind: string; files: number; volumes: { volume: number; bytes: number }[]; fileList: { path: string; volumes: number[] }[] }[] };
      assert.equal(j.backups.length, 1);
      const b = j.backups[0]!;
      assert.equal(b.kind, 'full');
      assert.equal(b.files, 3);
      assert.deepEqual(b.volumes.map((v) => v.volume), info.volumes.map((v) => v.volume));
      assert.deepEqual(b.fileList.map((f) => f.path), ['tree/d/big.bin']);
      assert.ok(b.fileList[0]!.volumes.length >= 3);
      const human = await xtar(['list', set]);
      assert.match(human.stdout, /volume 1: /);
    });
  });

  it('--iso writes each volume as a disc image that fits the volume size and holds the volume folder', async (t) => {
    if (spawnSync('sh', ['-c', 'command -v xorriso']).status !== 0) {
      t.skip('no xorriso here (.ci/run installs it)');
      return;
    }
    const src = join(work, 'iso', 'tree');
    await makeTree(src, 5, 120, (i) => 2000 + ((i * 7919) % 30000));
    const set = join(work, 'set-iso');
    const size = 1_500_000;
    const r = await xtar(['pack', src, '--out', set, '--volume-size', String(size), '--iso', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as PackJson;
    assert.ok(info.volumes.length > 1);
    for (const v of info.volumes) {
      const iso = `${v.path}.iso`;
      assert.ok((await stat(iso)).size <= size, `${iso} fits`);
      const out = join(work, `iso-out-${v.volume}`);
      const x = spawnSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', out], { encoding: 'utf8' });
      assert.equal(x.status, 0, x.stderr);
      assert.deepEqual((await readdir(out)).sort(), (await readdir(v.path)).sort());
      assert.ok((await readFile(join(out, `${v.path.split('/').at(-1)}.xtar`))).equals(await readFile(v.archive)), 'the image holds the archive byte for byte');
    }
  });
});

