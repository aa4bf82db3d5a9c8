/**
 * Old archives must always restore: the golden v1 set in test/fixtures/archives/v1 (never
 * regenerated) unpacks to fixtures/sample. And packing is deterministic: the same tree at the same
 * SOURCE_DATE_EPOCH gives the same bytes, so golden archives can be compared byte for byte.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { xtar } from '../helpers/cli.js';
import { isRoot, removeTree, snapshot, tempDir } from '../helpers/tree.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const golden = join(repo, 'test/fixtures/archives/v1/sample-set');
const sample = join(repo, 'fixtures/sample');
const EPOCH = 1763881500;

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

  it('CI sets umask 022 before npm test, so the v1 byte comparison runs there instead of skipping', async () => {
    const ci = await readFile(join(repo, '.ci/run'), 'utf8');
    const umaskAt = ci.search(/^umask 022$/m);
    const testAt = ci.search(/^npm test$/m);
    assert.ok(umaskAt >= 0 && testAt > umaskAt, '.ci/run must run `umask 022` on its own line before `npm test`');
  });

  it('packing fixtures/sample today gives the same bytes as the v1 golden archive', async (t) => {
    // xtar 0.1 made it as root with umask 022 (owner root, modes from cp -r): other users or umasks
    // record other owners or modes, so the bytes cannot match. CI (.ci/run) runs as root with umask 022.
    const umask = process.umask();
    if (!isRoot || umask !== 0o022) {
      t.skip(`needs root and umask 022 (the v1 golden archive recorded owner root and modes made under umask 022); here uid ${process.getuid?.()}, umask ${umask.toString(8).padStart(3, '0')}`);
      return;
    }
    // The archive records the root folder's name: "sample", as when v1 was made.
    const src = join(work, 'v1-again', 'sample');
    await mkdir(join(work, 'v1-again'));
    execFileSync('cp', ['-r', sample, src]);
    execFileSync('find', [src, '-exec', 'touch', '-h', '-d', `@${EPOCH}`, '{}', '+']);
    const env = { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) };
    const r = await xtar(['pack', src, '--out', join(work, 'v1-again', 'set'), '--json'], { env });
    assert.equal(r.status, 0, r.stderr);
    const archive = (JSON.parse(r.stdout) as { volumes: { archive: string }[] }).volumes[0]?.archive as string;
    const goldArchive = join(golden, '20251123T070500Z-vol001/20251123T070500Z-vol001.xtar');
    assert.ok((await readFile(archive)).equals(await readFile(goldArchive)), 'same bytes as the v1 golden archive');
  });
});
