/**
 * Old archives must always restore: the golden v1 set in test/fixtures/archives/v1 (never
 * regenerated) unpacks to fixtures/sample, and the golden v2 and v3 sets (a full backup and an
 * incremental on it, test/fixtures/archives/v2 and v3 — v3 of revision 2.1, records with digests)
 * restore either backup's tree exactly. And packing is deterministic: the same tree at the same
 * SOURCE_DATE_EPOCH gives the same bytes, so today's full backup is compared byte for byte with v3's.
 * The encrypted golden set (test/fixtures/archives/v4-encrypted, revision 2.2) restores both backups.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { xtar } from '../helpers/cli.js';
import { isRoot, removeTree, snapshot, tempDir, type NodeInfo } from '../helpers/tree.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const golden = join(repo, 'test/fixtures/archives/v1/sample-set');
const sample = join(repo, 'fixtures/sample');
const EPOCH = 1763881500;
const goldenV2 = join(repo, 'test/fixtures/archives/v2/sample-set');
/** SOURCE_DATE_EPOCH and every mtime of the v2 full backup, and of what changed for its incremental. */
const V2_FULL = { id: '20251201T000000Z', epoch: 1764547200 };
const V2_INC = { id: '20251202T000000Z', epoch: 1764633600 };
/** The same for the v3 set (revision 2.1): the same tree and changes, a month later. */
const goldenV3 = join(repo, 'test/fixtures/archives/v3/sample-set');
const V3_FULL = { id: '20260101T000000Z', epoch: 1767225600 };
const V3_INC = { id: '20260102T000000Z', epoch: 1767312000 };
/** The encrypted golden set (revision 2.2): v3's two backups, packed with --encrypt (its README). */
const goldenV4 = join(repo, 'test/fixtures/archives/v4-encrypted/sample-set');
const V4_PASSPHRASE = 'golden passphrase';

interface Want {
  type: 'dir' | 'file';
  mode: number;
  mtimeSec: number;
  data?: Buffer;
}

/**
 * The tree the v2 full backup was made of: fixtures/sample with every mtime at V2_FULL.epoch and the
 * modes cp -r gives under umask 022 (written out here, so a checkout's own umask does not matter).
 */
async function v2FullTree(full = V2_FULL): Promise<Map<string, Want>> {
  const want = new Map<string, Want>();
  for (const [p, info] of await snapshot(sample)) {
    assert.ok(info.type === 'dir' || info.type === 'file', `fixtures/sample holds only folders and files (${p})`);
    const data = info.type === 'file' ? await readFile(join(sample, p)) : undefined;
    const mode = info.type === 'dir' || p === 'src/hello.sh' ? 0o755 : 0o644;
    want.set(p, { type: info.type, mode, mtimeSec: full.epoch, ...(data ? { data } : {}) });
  }
  return want;
}

/** The full's tree with the changes recorded in test/fixtures/archives/v2/README.md. */
async function v2IncrementalTree(full = V2_FULL, inc = V2_INC): Promise<Map<string, Want>> {
  const want = await v2FullTree(full);
  const at = (p: string): Want => want.get(p) ?? assert.fail(`${p} is in fixtures/sample`);
  const notes = at('docs/notes.txt');
  want.set('docs/notes.txt', { ...notes, data: Buffer.concat([notes.data as Buffer, Buffer.from('A line added for the incremental.\n')]), mtimeSec: inc.epoch });
  want.set('docs/letters/2025-12-02.txt', { type: 'file', mode: 0o644, mtimeSec: inc.epoch, data: Buffer.from('Dear disc,\nthis letter came after the full backup.\n') });
  assert.ok(want.delete('docs/letters/2026-11-01.txt'));
  want.set('photos/gradient-renamed.png', at('photos/gradient.png'));
  want.delete('photos/gradient.png');
  want.set('README.md', { ...at('README.md'), mode: 0o600 });
  for (const dir of ['docs/letters', 'photos']) want.set(dir, { ...at(dir), mtimeSec: inc.epoch });
  return want;
}

/** Every difference between a restored tree and the expected one: paths, types, bytes, modes, mtimes (and owner root, when root restores). */
function treeDiffs(got: Map<string, NodeInfo>, want: Map<string, Want>): string[] {
  const diffs: string[] = [];
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  for (const [p, w] of want) {
    const g = got.get(p);
    if (!g) {
      diffs.push(`missing: ${p}`);
      continue;
    }
    if (g.type !== w.type) diffs.push(`${p}: type ${g.type}, want ${w.type}`);
    if (g.mode !== w.mode) diffs.push(`${p}: mode ${g.mode.toString(8)}, want ${w.mode.toString(8)}`);
    if (g.mtimeUs !== BigInt(w.mtimeSec) * 1_000_000n) diffs.push(`${p}: mtime ${g.mtimeUs} µs, want ${w.mtimeSec} s`);
    if (w.data && (g.size !== w.data.length || g.sha256 !== sha(w.data))) diffs.push(`${p}: contents differ (${g.size} bytes, want ${w.data.length})`);
    if (isRoot && (g.uid !== 0 || g.gid !== 0)) diffs.push(`${p}: owner ${g.uid}:${g.gid}, want 0:0`);
  }
  for (const p of got.keys()) if (!want.has(p)) diffs.push(`extra: ${p}`);
  return diffs;
}

describe('golden archives and determinism', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('the v1 golden set restores fixtures/sample exactly', async () => {
    const dest = join(work, 'golden-out');
    const r = await xtar(['unpack', golden, '--dest', dest]);
    assert.equal(r.status, 0, r.stderr);
    const want = await snapshot(sample);
    const got = await snapshot(join(dest, 'sample'));
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [p, info] of want) {
      const g = got.get(p);
      assert.equal(g?.type, info.type, p);
      if (info.type === 'file') assert.equal(g?.sha256, info.sha256, p);
      assert.equal(g?.mtimeUs, BigInt(EPOCH) * 1_000_000n, p);
    }
    assert.equal(got.get('src/hello.sh')?.mode, 0o755);
    assert.equal(got.get('README.md')?.mode, 0o644);
  });

  it('the v2 golden set: the newest backup (the incremental) restores its tree exactly', async () => {
    const dest = join(work, 'golden-v2-inc');
    const r = await xtar(['unpack', goldenV2, '--dest', dest]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^restored 7 files \(37\.6 KiB\) into /m);
    assert.deepEqual(treeDiffs(await snapshot(join(dest, 'sample')), await v2IncrementalTree()), []);
  });

  it('the v2 golden set: --backup <the full> restores the full backup\'s tree exactly', async () => {
    const dest = join(work, 'golden-v2-full');
    const r = await xtar(['unpack', goldenV2, '--dest', dest, '--backup', V2_FULL.id]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(treeDiffs(await snapshot(join(dest, 'sample')), await v2FullTree()), []);
  });

  it('the v2 golden set is what the README says: a v1 full and a v2 incremental on it', async () => {
    const header = async (id: string, file: string): Promise<Record<string, unknown>> =>
      JSON.parse((await readFile(join(goldenV2, `${id}-vol001`, file), 'utf8')).split('\n')[0] as string) as Record<string, unknown>;
    assert.deepEqual(await header(V2_FULL.id, 'structure.jsonl'), { xtar: 'structure', version: 1, backup: V2_FULL.id, root: 'sample', created: '2025-12-01T00:00:00.000Z' });
    assert.deepEqual(await header(V2_INC.id, 'structure.jsonl'), { xtar: 'structure', version: 2, backup: V2_INC.id, root: 'sample', created: '2025-12-02T00:00:00.000Z', kind: 'incremental', base: V2_FULL.id });
  });

  it('packing the same tree at the same SOURCE_DATE_EPOCH gives identical bytes', async () => {
    const src = join(work, 'sample');
    execFileSync('cp', ['-r', sample, src]);
    execFileSync('find', [src, '-exec', 'touch', '-h', '-d', `@${EPOCH}`, '{}', '+']);
    const env = { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) };
    const a = await xtar(['pack', src, '--out', join(work, 'a'), '--json'], { env });
    const b = await xtar(['pack', src, '--out', join(work, 'b'), '--json', '--jobs', '1'], { env });
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    const va = (JSON.parse(a.stdout) as { volumes: { archive: string }[] }).volumes[0]?.archive as string;
    const vb = (JSON.parse(b.stdout) as { volumes: { archive: string }[] }).volumes[0]?.archive as string;
    assert.ok((await readFile(va)).equals(await readFile(vb)), 'same bytes with 1 job and with all cores');
  });

  it('the v3 golden set (revision 2.1): both backups restore their trees exactly, and verify finds nothing', async () => {
    const inc = join(work, 'golden-v3-inc');
    const r = await xtar(['unpack', goldenV3, '--dest', inc]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(treeDiffs(await snapshot(join(inc, 'sample')), await v2IncrementalTree(V3_FULL, V3_INC)), []);
    const full = join(work, 'golden-v3-full');
    const f = await xtar(['unpack', goldenV3, '--dest', full, '--backup', V3_FULL.id]);
    assert.equal(f.status, 0, f.stderr);
    assert.deepEqual(treeDiffs(await snapshot(join(full, 'sample')), await v2FullTree(V3_FULL)), []);
    const v = await xtar(['verify', goldenV3]);
    assert.equal(v.status, 0, v.stderr);
    const trailer = (await readFile(join(goldenV3, `${V3_INC.id}-vol001`, 'structure.jsonl'), 'utf8')).trimEnd().split('\n').at(-1) as string;
    assert.match(trailer, /^\{"end":true,"entries":\d+,"sha256":"[0-9a-f]{64}"\}$/);
  });

  it('the encrypted golden set (revision 2.2): both backups restore with its passphrase, verify finds nothing, and a wrong one is refused', async () => {
    const env = { ...process.env, XTAR_PASSPHRASE: V4_PASSPHRASE };
    const inc = join(work, 'golden-v4-inc');
    const r = await xtar(['unpack', goldenV4, '--dest', inc], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(treeDiffs(await snapshot(join(inc, 'sample')), await v2IncrementalTree(V3_FULL, V3_INC)), []);
    const full = join(work, 'golden-v4-full');
    const f = await xtar(['unpack', goldenV4, '--dest', full, '--backup', V3_FULL.id], { env });
    assert.equal(f.status, 0, f.stderr);
    assert.deepEqual(treeDiffs(await snapshot(join(full, 'sample')), await v2FullTree(V3_FULL)), []);
    const v = await xtar(['verify', goldenV4], { env });
    assert.equal(v.status, 0, v.stderr);
    const wrong = await xtar(['verify', goldenV4], { env: { ...process.env, XTAR_PASSPHRASE: 'not it' } });
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /passphrase/);
  });

  it('CI sets umask 022 before npm test, so the v1 byte comparison runs there instead of skipping', async () => {
    const ci = await readFile(join(repo, '.ci/run'), 'utf8');
    const umaskAt = ci.search(/^umask 022$/m);
    const testAt = ci.search(/^npm test$/m);
    assert.ok(umaskAt >= 0 && testAt > umaskAt, '.ci/run must run `umask 022` on its own line before `npm test`');
  });

  it('packing fixtures/sample today gives the same bytes as the v3 golden full backup (archive and records)', async (t) => {
    // Made as root with umask 022 (owner root, modes from cp -r): other users or umasks record other
    // owners or modes, so the bytes cannot match. CI (.ci/run) runs as root with umask 022. (The v1
    // archive, without digests, is no longer what xtar writes; it must still restore: above.)
    const umask = process.umask();
    if (!isRoot || umask !== 0o022) {
      t.skip(`needs root and umask 022 (the v3 golden set recorded owner root and modes made under umask 022); here uid ${process.getuid?.()}, umask ${umask.toString(8).padStart(3, '0')}`);
      return;
    }
    // The archive records the root folder's name: "sample", as when v3 was made.
    const src = join(work, 'v3-again', 'sample');
    await mkdir(join(work, 'v3-again'));
    execFileSync('cp', ['-r', sample, src]);
    execFileSync('find', [src, '-exec', 'touch', '-h', '-d', `@${V3_FULL.epoch}`, '{}', '+']);
    // The golden blobs are zlib's bytes; libdeflate's differ (same contents), so this pack uses zlib.
    const env = { ...process.env, SOURCE_DATE_EPOCH: String(V3_FULL.epoch), XTAR_DEFLATE: 'zlib' };
    const r = await xtar(['pack', src, '--out', join(work, 'v3-again', 'set'), '--json'], { env });
    assert.equal(r.status, 0, r.stderr);
    const vol = (JSON.parse(r.stdout) as { volumes: { path: string }[] }).volumes[0]?.path as string;
    const gold = join(goldenV3, `${V3_FULL.id}-vol001`);
    // volume.json names the source path (here a temporary folder), so it is not compared.
    for (const name of [`${V3_FULL.id}-vol001.xtar`, 'structure.jsonl', 'catalog.jsonl']) {
      assert.ok((await readFile(join(vol, name))).equals(await readFile(join(gold, name))), `${name}: same bytes as the v3 golden set`);
    }
  });
});
