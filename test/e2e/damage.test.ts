/**
 * Damaged discs, with a fixed seed: flipped bytes, 4 KiB bursts, many bursts, a burst over a nested
 * .xtar header, over the catalog, and a truncated volume. Every file whose blob was untouched comes
 * back identical; `xtar verify` names exactly the files whose blobs were hit (the hit set is
 * computed here from the blob extents in the catalog, not written down).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xtar } from '../helpers/cli.js';
import { removeTree, seededBytes, seededText, snapshot, tempDir } from '../helpers/tree.js';
import { mulberry32 } from '../helpers/prng.js';

interface Extent {
  path: string;
  offset: number;
  length: number;
}

const rng = mulberry32;

describe('damaged volumes', () => {
  let work: string;
  let src: string;
  let pristine: string;
  let volumeName: string;
  let extents: Extent[];
  let archiveSize: number;

  before(async () => {
    work = await tempDir();
    src = join(work, 'tree');
    for (let d = 0; d < 6; d++) {
      const dir = join(src, `dir${d}`, d % 2 ? 'sub' : 'other');
      await mkdir(dir, { recursive: true });
      for (let f = 0; f < 50; f++) {
        const n = 2000 + ((d * 50 + f) * 7919) % 30000;
        await writeFile(join(dir, `f${f}.${f % 5 === 0 ? 'bin' : 'txt'}`), f % 5 === 0 ? seededBytes(d * 100 + f, n) : seededText(d * 100 + f, n));
      }
    }
    pristine = join(work, 'set');
    const r = await xtar(['pack', src, '--out', pristine, '--json']);
    assert.equal(r.status, 0, r.stderr);
    volumeName = (await readdir(pristine)).find((n) => n.includes('-vol'))!;
    const lines = (await readFile(join(pristine, volumeName, 'catalog.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { path?: string; parts?: { offset: number; length: number }[] });
    extents = lines.filter((l) => l.parts).map((l) => ({ path: l.path as string, offset: l.parts![0]!.offset, length: l.parts![0]!.length }));
    archiveSize = (await stat(join(pristine, volumeName, `${volumeName}.xtar`))).size;
    assert.equal(extents.length, 300);
  });
  after(async () => {
    await removeTree(work);
  });

  /** Copy the set, damage the archive with `ranges` (and maybe other files), verify and unpack it. */
  async function damaged(name: string, ranges: [number, number][], seed: number, more?: (vol: string) => Promise<void>) {
    const set = join(work, `set-${name}`);
    await cp(pristine, set, { recursive: true });
    const vol = join(set, volumeName);
    const archive = join(vol, `${volumeName}.xtar`);
    const buf = await readFile(archive);
    const next = rng(seed);
    for (const [start, end] of ranges) for (let i = start; i < end && i < buf.length; i++) buf[i] = (buf[i]! ^ (1 + Math.floor(next() * 255))) & 0xff;
    await writeFile(archive, buf);
    if (more) await more(vol);
    const hit = new Set(extents.filter((e) => ranges.some(([s, t]) => s < e.offset + e.length && t > e.offset)).map((e) => e.path));
    const v = await xtar(['verify', vol, '--json']);
    const verified = JSON.parse(v.stdout) as { intact: number; damaged: string[]; damagedBytes: number };
    const dest = join(work, `out-${name}`);
    const u = await xtar(['unpack', vol, '--dest', dest, '--json']);
    return { hit, verify: v, verified, unpack: u, dest };
  }

  /** The problems of an unpack --json (in the object, not on stderr: docs/JSON.md), one `path: reason` a line. */
  function problemLines(stdout: string): string {
    return (JSON.parse(stdout) as { problems: { path: string; reason: string }[] }).problems.map((p) => `${p.path}: ${p.reason}`).join('\n');
  }

  async function assertRecovered(hit: Set<string>, dest: string): Promise<void> {
    const want = await snapshot(src);
    const got = await snapshot(join(dest, 'tree'));
    for (const [p, info] of want) {
      if (info.type !== 'file') continue;
      const path = `tree/${p}`;
      if (hit.has(path)) assert.equal(got.has(p), false, `damaged ${path} must not be written as good`);
      else assert.equal(got.get(p)?.sha256, info.sha256, `intact ${path} restored identically`);
    }
  }

  it('single flipped bytes', async () => {
    const next = rng(1);
    const ranges: [number, number][] = Array.from({ length: 20 }, () => {
      const at = Math.floor(next() * archiveSize);
      return [at, at + 1];
    });
    const d = await damaged('flips', ranges, 11);
    assert.ok(d.hit.size > 0);
    assert.deepEqual([...d.verified.damaged].sort(), [...d.hit].sort());
    assert.equal(d.verify.status, 1);
    const hitBytes = extents.filter((e) => d.hit.has(e.path)).reduce((n, e) => n + e.length, 0);
    assert.equal(d.verified.damagedBytes, hitBytes, 'the report counts the bytes of the damaged blobs');
    assert.equal(d.verified.intact, extents.length - d.hit.size);
    await assertRecovered(d.hit, d.dest);
  });

  it('one 4 KiB burst, and eight of them', async () => {
    for (const [name, count] of [['burst1', 1], ['burst8', 8]] as const) {
      const next = rng(count * 17);
      const ranges: [number, number][] = Array.from({ length: count }, () => {
        const at = Math.floor(next() * (archiveSize - 4096));
        return [at, at + 4096];
      });
      const d = await damaged(name, ranges, count);
      assert.deepEqual([...d.verified.damaged].sort(), [...d.hit].sort(), name);
      assert.equal(d.unpack.status, 1);
      await assertRecovered(d.hit, d.dest);
    }
  });

  it('a burst over a nested .xtar header costs no file whose blob survived', async () => {
    const pristineArchive = await readFile(join(pristine, volumeName, `${volumeName}.xtar`));
    const at = pristineArchive.indexOf(Buffer.from('dir3/.xtar\0'));
    assert.ok(at > 0 && at % 512 === 0);
    const d = await damaged('nested-header', [[at, at + 4096]], 3);
    assert.deepEqual([...d.verified.damaged].sort(), [...d.hit].sort());
    await assertRecovered(d.hit, d.dest);
    assert.ok((await readdir(join(d.dest, 'tree/dir3/sub'))).length >= 45, 'the folder whose header was destroyed is restored');
  });

  it('a damaged catalog.jsonl and a burst over the in-archive catalog copy cost nothing', async () => {
    const plain = await damaged('catalog', [], 5, async (vol) => {
      const c = await readFile(join(vol, 'catalog.jsonl'));
      for (let i = 1000; i < 1000 + 4096 && i < c.length; i++) c[i] = 0x41;
      await writeFile(join(vol, 'catalog.jsonl'), c);
    });
    // Every file restored; the damaged record is named (exit 1), not passed over in silence.
    assert.equal(plain.unpack.status, 1, plain.unpack.stderr);
    assert.match(problemLines(plain.unpack.stdout), /catalog\.jsonl: catalog\.jsonl is damaged \(.*\); the copy inside the archive was used/);
    await assertRecovered(new Set(), plain.dest);
    // The copy sits at the end of the archive, before the two end blocks.
    const copy = await damaged('catalog-copy', [[archiveSize - 1024 - 2048, archiveSize - 1024]], 6);
    assert.equal(copy.hit.size, 0);
    await assertRecovered(new Set(), copy.dest);
  });

  it('a damaged structure.jsonl costs nothing: the copy inside the archive takes over', async () => {
    const d = await damaged('structure', [], 8, async (vol) => {
      const st = await readFile(join(vol, 'structure.jsonl'));
      for (let i = 2000; i < 2000 + 4096 && i < st.length; i++) st[i] = 0x7b;
      await writeFile(join(vol, 'structure.jsonl'), st);
    });
    assert.equal(d.unpack.status, 1, d.unpack.stderr);
    assert.match(problemLines(d.unpack.stdout), /structure\.jsonl: structure\.jsonl is damaged \(.*\); the copy inside the archive was used/);
    const want = await snapshot(src);
    const got = await snapshot(join(d.dest, 'tree'));
    for (const [p, info] of want) {
      assert.equal(got.get(p)?.mtimeUs, info.mtimeUs, `${p}: times applied from the structure copy`);
      if (info.type === 'file') assert.equal(got.get(p)?.sha256, info.sha256, p);
    }
  });

  it('with no catalog at all, the walk reads on past a destroyed header', async () => {
    const pristineArchive = await readFile(join(pristine, volumeName, `${volumeName}.xtar`));
    // Destroy the header of a file inside dir1 (not a folder header): the rest of dir1 must still come back.
    const at = pristineArchive.indexOf(Buffer.from('f10.bin.zip\0'));
    assert.ok(at > 0 && at % 512 === 0);
    const copyAt = pristineArchive.indexOf(Buffer.from('tree.xtar-catalog.jsonl.gz\0'));
    const d = await damaged('no-catalog', [[at, at + 512], [copyAt, copyAt + 512]], 9, async (vol) => {
      await writeFile(join(vol, 'catalog.jsonl'), '');
    });
    const lost = new Set<string>();
    const want = await snapshot(src);
    const got = await snapshot(join(d.dest, 'tree'));
    for (const [p, info] of want) if (info.type === 'file' && got.get(p)?.sha256 !== info.sha256) lost.add(p);
    // Only the file whose own header was destroyed is lost (its blob cannot be placed without a header or a catalog).
    assert.ok(lost.size <= 1, `lost: ${[...lost].join(', ')}`);
    assert.match(problemLines(d.unpack.stdout), /read on from the next valid header/);
  });

  it('a truncated volume restores every file before the cut', async () => {
    const cut = Math.floor(archiveSize * 0.6);
    const d = await damaged('truncated', [], 7, async (vol) => truncate(join(vol, `${volumeName}.xtar`), cut));
    const hit = new Set(extents.filter((e) => e.offset + e.length > cut).map((e) => e.path));
    assert.deepEqual([...d.verified.damaged].sort(), [...hit].sort());
    await assertRecovered(hit, d.dest);
  });
});

describe('par2 recovery data', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('with --par2 10, eight 4 KiB bursts on a 20 MB volume lose nothing after xtar repair', async () => {
    const src = join(work, 'tree');
    for (let d = 0; d < 4; d++) {
      await mkdir(join(src, `d${d}`), { recursive: true });
      for (let f = 0; f < 40; f++) {
        const n = 60_000 + ((d * 40 + f) * 7919) % 140_000;
        await writeFile(join(src, `d${d}`, `f${f}`), f % 2 ? seededBytes(d * 1000 + f, n) : seededText(d * 1000 + f, n));
      }
    }
    const set = join(work, 'set');
    const p = await xtar(['pack', src, '--out', set, '--volume-size', '20M', '--par2', '10', '--json']);
    assert.equal(p.status, 0, p.stderr);
    const info = JSON.parse(p.stdout) as { volumes: { path: string; archive: string; bytes: number }[] };
    const vol = info.volumes[0]!;
    assert.ok(vol.bytes <= 20_000_000);
    assert.ok((await stat(vol.archive)).size > 10_000_000, 'a volume of real size');
    assert.ok((await readdir(vol.path)).some((n) => n.endsWith('.par2')));
    const buf = await readFile(vol.archive);
    const next = rng(42);
    for (let k = 0; k < 8; k++) {
      const at = Math.floor(next() * (buf.length - 4096));
      for (let i = at; i < at + 4096; i++) buf[i] = buf[i]! ^ 0xa5;
    }
    await writeFile(vol.archive, buf);
    const before = await xtar(['verify', vol.path, '--json']);
    assert.equal(before.status, 1, 'the damage is seen');
    const r = await xtar(['repair', vol.path, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { damaged: string[] }).damaged, []);
    const dest = join(work, 'out');
    const u = await xtar(['unpack', vol.path, '--dest', dest]);
    assert.equal(u.status, 0, u.stderr);
    const want = await snapshot(src);
    const got = await snapshot(join(dest, 'tree'));
    for (const [path, i] of want) if (i.type === 'file') assert.equal(got.get(path)?.sha256, i.sha256, path);
  });

  it('without par2 installed, --par2 says how to install it', async () => {
    const r = await xtar(['pack', join(work, 'tree'), '--out', join(work, 'set-nopar2'), '--par2', '5'], { env: { ...process.env, PATH: '/nonexistent' } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /par2 is not installed: .*apt-get install par2/);
  });
});
