/**
 * Issue 14, "Trust": one flipped bit in a volume's plain records (catalog.jsonl, structure.jsonl) or
 * in volume.json must never cost an intact file, and never be applied silently as wrong metadata.
 * A seeded random bit-flip run over a small real set of three volumes, through the library
 * (unpack and verify in-process, one thread), with every outcome checked exactly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { pack } from '../../src/pack/pack.js';
import { unpack } from '../../src/unpack/unpack.js';
import { verify } from '../../src/unpack/verify.js';
import { RandomReader } from '../../src/unpack/random-reader.js';
import { topLevelRecords } from '../../src/unpack/walk-archive.js';
import { mulberry32 } from '../../scripts/prng.js';
import { diffSnapshots, removeTree, seededBytes, seededText, snapshot, tempDir, touchNs, type NodeInfo } from '../helpers/tree.js';

const SEED = 0x1414;
const FLIPS = { 'catalog.jsonl': 150, 'structure.jsonl': 150, 'volume.json': 60 } as const;
type Target = keyof typeof FLIPS;

/** A small tree: several folders, varied modes and mtimes (nanoseconds too), enough bytes for a few 40 KiB volumes. */
async function makeTree(root: string): Promise<void> {
  const dirs = ['a', 'a/b', 'a/b/c', 'd', 'e'];
  for (const d of dirs) await mkdir(join(root, d), { recursive: true });
  const modes = [0o644, 0o600, 0o640, 0o755, 0o444, 0o700, 0o664];
  const files: string[] = [];
  for (let i = 0; i < 18; i++) {
    const p = join(root, dirs[i % dirs.length] as string, `f${i}.${i % 3 === 0 ? 'bin' : 'txt'}`);
    await writeFile(p, i % 3 === 0 ? seededBytes(i, 3000 + i * 211) : seededText(i, 500 + i * 97));
    files.push(p);
  }
  for (const [i, p] of files.entries()) {
    await chmod(p, modes[i % modes.length] as number);
    touchNs(p, 1_700_000_000 + i * 86_401, i * 1_000_003);
  }
  const dirModes = [0o755, 0o750, 0o700, 0o775, 0o711];
  for (const [i, d] of [...dirs].reverse().entries()) {
    await chmod(join(root, d), dirModes[i % dirModes.length] as number);
    touchNs(join(root, d), 1_690_000_000 + i * 3_601, i * 7);
  }
  touchNs(root, 1_680_000_000, 5);
}

/** Every volume folder's files of one name, volume by volume. */
async function targets(set: string, name: Target): Promise<string[]> {
  return (await readdir(set)).filter((n) => /-vol\d+$/.test(n)).sort().map((n) => join(set, n, name));
}

describe('integrity of the records: seeded single-bit flips', () => {
  let work: string;
  let set: string;
  let want: Map<string, NodeInfo>;

  before(async () => {
    work = await tempDir();
    const src = join(work, 'tree');
    await mkdir(src);
    await makeTree(src);
    set = join(work, 'set');
    await pack({ source: src, out: set, jobs: 1, volumeSize: 40 * 1024, now: new Date('2026-11-01T00:00:00Z') });
    want = await snapshot(src);
    assert.ok((await targets(set, 'catalog.jsonl')).length >= 2, 'the set has at least two volumes');
  });
  after(async () => {
    await removeTree(work);
  });

  it('the set restores exactly and verifies clean before any flip', async () => {
    const dest = join(work, 'clean');
    const r = await unpack({ inputs: [set], dest, jobs: 1 });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(diffSnapshots(want, await snapshot(join(dest, 'tree'))), []);
    assert.deepEqual((await verify({ inputs: [set], jobs: 1 })).problems, []);
  });

  it(`every flip (${FLIPS['catalog.jsonl']} in catalog.jsonl, ${FLIPS['structure.jsonl']} in structure.jsonl, ${FLIPS['volume.json']} in volume.json) restores every file and its metadata exactly, or names the record`, async () => {
    const rand = mulberry32(SEED);
    const failures: string[] = [];
    const tally = { flips: 0, thrown: 0, lostFiles: 0, wrongMeta: 0, silentVerify: 0 };
    let n = 0;
    for (const name of Object.keys(FLIPS) as Target[]) {
      const files = await targets(set, name);
      for (let k = 0; k < FLIPS[name]; k++) {
        const path = files[Math.floor(rand() * files.length)] as string;
        const whole = await readFile(path);
        const bit = Math.floor(rand() * whole.length * 8);
        const flipped = Buffer.from(whole);
        flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
        await writeFile(path, flipped);
        const what = `${path.slice(set.length + 1)} bit ${bit} (byte ${bit >> 3})`;
        try {
          tally.flips++;
          await oneFlip(name, what);
        } catch (e) {
          // A thrown error ends a real run (exit 2): nothing is restored.
          tally.thrown++;
          failures.push(`${what}: thrown: ${(e as Error).message}`);
        } finally {
          await writeFile(path, whole);
        }
      }
    }
    assert.deepEqual({ tally, failures: failures.slice(0, 20), failureCount: failures.length }, { tally: { flips: 360, thrown: 0, lostFiles: 0, wrongMeta: 0, silentVerify: 0 }, failures: [], failureCount: 0 });

    async function oneFlip(name: Target, what: string): Promise<void> {
      const dest = join(work, `out-${n++}`);
      const r = await unpack({ inputs: [set], dest, jobs: 1 });
      const got = await snapshot(join(dest, 'tree'));
      const diffs = diffSnapshots(want, got);
      const lost = diffs.filter((d) => d.startsWith('missing') || /: (sha256|size) /.test(d));
      tally.lostFiles += lost.length;
      // Metadata is right, or (only when no checked copy of the structure exists) not applied and named.
      const metaNamed = r.structure === null && r.problems.some((p) => p.path.endsWith('structure.jsonl'));
      const wrong = diffs.filter((d) => !lost.includes(d));
      if (wrong.length > 0 && !metaNamed) tally.wrongMeta += wrong.length;
      const bad = r.problems.filter((p) => p.kind !== 'header');
      if (lost.length > 0 || (wrong.length > 0 && !metaNamed) || bad.length > 0) failures.push(`${what}: ${[...diffs, ...bad.map((p) => `${p.kind} ${p.path}: ${p.reason}`)].slice(0, 4).join('; ')}`);
      await removeTree(dest);
      if (name !== 'volume.json') {
        // verify must not call the set intact: the record it read was damaged.
        const v = await verify({ inputs: [set], jobs: 1 });
        const notMissing = v.problems.filter((p) => p.kind !== 'missing');
        if (notMissing.length === 0) {
          tally.silentVerify++;
          failures.push(`${what}: verify says all is intact`);
        }
        if (v.damaged.length > 0) failures.push(`${what}: verify blames files: ${v.damaged.map((p) => `${p.path}: ${p.reason}`).join('; ')}`);
      }
    }
  });
});

/** Overwrite the middle of a record's gzip copy inside the .xtar (its data, not its tar header): the copy no longer reads. */
async function spoilCopy(archive: string, which: 'structure' | 'catalog'): Promise<void> {
  const r = await RandomReader.open(archive);
  const at = (await topLevelRecords(r))[which];
  await r.close();
  assert.ok(at, `the archive holds a ${which} copy`);
  const bytes = await readFile(archive);
  bytes.fill(0x55, at.start + 20, at.start + at.size - 10);
  await writeFile(archive, bytes);
}

describe('integrity of the records: when no copy checks', () => {
  let work: string;
  let src: string;
  let want: Map<string, NodeInfo>;
  /** A fresh one-volume set of the tree: its volume folder and archive. */
  const fresh = async (name: string): Promise<{ set: string; vol: string; archive: string }> => {
    const set = join(work, name);
    await pack({ source: src, out: set, jobs: 1, now: new Date('2026-11-02T00:00:00Z') });
    const vol = join(set, (await readdir(set)).find((n) => n.endsWith('-vol001')) as string);
    return { set, vol, archive: join(vol, `${vol.slice(vol.lastIndexOf('/') + 1)}.xtar`) };
  };

  before(async () => {
    work = await tempDir();
    src = join(work, 'tree');
    await mkdir(src);
    await makeTree(src);
    want = await snapshot(src);
  });
  after(async () => {
    await removeTree(work);
  });

  it('catalog.jsonl and its copy both damaged: the lines are hints, every blob they miss is found by the tar walk', async () => {
    const { set, vol, archive } = await fresh('cat-both');
    const path = join(vol, 'catalog.jsonl');
    const lines = (await readFile(path, 'utf8')).split('\n');
    // One line points one byte off; another carries a wrong sha256 digit: both still parse.
    lines[1] = (lines[1] as string).replace(/"offset":(\d+)/, (_m, n: string) => `"offset":${Number(n) + 1}`);
    lines[2] = (lines[2] as string).replace(/"sha256":"([0-9a-f])/, (_m, c: string) => `"sha256":"${c === '0' ? '1' : '0'}`);
    await writeFile(path, lines.join('\n'));
    await spoilCopy(archive, 'catalog');
    const dest = join(work, 'cat-both-out');
    const r = await unpack({ inputs: [set], dest, jobs: 1 });
    assert.deepEqual(diffSnapshots(want, await snapshot(join(dest, 'tree'))), []);
    assert.deepEqual(r.problems.map((p) => p.kind), ['header', 'header']);
    assert.match(r.problems[0]?.reason ?? '', /^catalog\.jsonl is damaged \(its checksum does not match\)$/);
    assert.match(r.problems[1]?.reason ?? '', /^the copy of catalog\.jsonl inside the archive is damaged/);
    const v = await verify({ inputs: [set], jobs: 1 });
    assert.deepEqual(v.damaged, []);
    assert.equal(v.problems.length, 2);
  });

  it('structure.jsonl and its copy both damaged: no mode, time or path of it is applied; files restored, the record named', async () => {
    const { set, vol, archive } = await fresh('st-both');
    const path = join(vol, 'structure.jsonl');
    const text = await readFile(path, 'utf8');
    const changed = text.replace('"mode":"0600"', '"mode":"6777"');
    assert.notEqual(changed, text);
    await writeFile(path, changed);
    await spoilCopy(archive, 'structure');
    const dest = join(work, 'st-both-out');
    const r = await unpack({ inputs: [set], dest, jobs: 1 });
    assert.equal(r.structure, null);
    const got = await snapshot(join(dest, 'tree'));
    for (const [p, w] of want) if (w.type === 'file') assert.equal(got.get(p)?.sha256, w.sha256, p);
    for (const [p, g] of got) assert.ok((g.mode & 0o7000) === 0, `${p}: no setuid/setgid/sticky from the damaged record`);
    assert.ok(r.problems.every((p) => p.kind === 'header'), JSON.stringify(r.problems));
    assert.deepEqual(
      r.problems.map((p) => p.reason.replace(/ \(.*/, '')),
      ['structure.jsonl is damaged', 'the copy of structure.jsonl inside the archive is damaged', 'no copy of the structure record checks out, so none was applied: files were restored without folders\' modes, links, owners or times'],
    );
  });

  it('a set from before digests (the v1 golden set) with a catalog line one byte off still restores every file', async () => {
    const repo = fileURLToPath(new URL('../../../', import.meta.url));
    const set = join(work, 'v1');
    await cp(join(repo, 'test/fixtures/archives/v1/sample-set'), set, { recursive: true });
    const path = join(set, '20251123T070500Z-vol001', 'catalog.jsonl');
    const lines = (await readFile(path, 'utf8')).split('\n');
    lines[1] = (lines[1] as string).replace(/"offset":(\d+)/, (_m, n: string) => `"offset":${Number(n) + 1}`);
    await writeFile(path, lines.join('\n'));
    const dest = join(work, 'v1-out');
    const r = await unpack({ inputs: [set], dest, jobs: 1 });
    assert.deepEqual(r.problems, []);
    const sample = await snapshot(join(repo, 'fixtures/sample'));
    const got = await snapshot(join(dest, 'sample'));
    for (const [p, w] of sample) if (w.type === 'file') assert.equal(got.get(p)?.sha256, w.sha256, p);
  });
});
