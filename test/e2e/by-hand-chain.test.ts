/**
 * README.txt's restore script over a chain of backups, oldest first, with GNU tools, BusyBox alone
 * and bsdtar: the newest backup's version of a file always wins, however each backup stored it. The
 * file is split across volumes in the full (NAME.zip.001, .002, .003), then stored whole
 * (NAME.zip), then bundled (.xtar-bundle-N), then split again into fewer parts — so neither an
 * older split joined after a newer whole file nor a stale older part joined onto a newer split
 * may decide what is restored.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, xtar } from '../helpers/cli.js';
import { scriptFromReadme } from '../helpers/readme-script.js';
import { TOOLSETS, which } from '../helpers/toolsets.js';
import { removeTree, seededBytes, seededText, tempDir } from '../helpers/tree.js';
import { SCRIPT_TOOLS } from '../../src/pack/readme.js';

const missing = ['dash', 'busybox', 'bsdtar', 'unzip'].filter((t) => which(t) === null);

const EPOCH = 1_790_000_000;
const DAY = 86_400;

interface PackJson {
  volumes: { path: string; archive: string }[];
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('restore by hand over a chain: the newest backup wins', { skip: missing.length > 0 ? `needs ${missing.join(', ')}` : false }, () => {
  let work: string;
  let src: string;
  let script: string;
  /** Each backup in order: its archives (in volume order) and big.bin's bytes then. */
  const backups: { archives: string[]; big: string; how: string }[] = [];

  before(async () => {
    work = await tempDir();
    src = join(work, 'tree');
    await mkdir(join(src, 'd'), { recursive: true });
    for (let i = 0; i < 5; i++) await writeFile(join(src, 'd', `small${i}.txt`), seededText(i, 300 + i));
    const big = join(src, 'd', 'big.bin');
    // (size, pack options, how big.bin is stored): each a different size, so each incremental stores it again.
    const steps: [number, string[], string][] = [
      [2_600_000, [], 'split in 3'],
      [300_000, [], 'whole'],
      [1_000, ['--bundle'], 'bundled'],
      [1_500_000, [], 'split in 2'],
    ];
    for (const [i, [size, extra, how]] of steps.entries()) {
      const bytes = seededBytes(100 + i, size);
      await writeFile(big, bytes);
      const r = await xtar(['pack', src, '--out', join(work, 'set'), '--volume-size', '1MB', '--json', ...extra], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH + i * DAY) } });
      assert.equal(r.status, 0, r.stderr);
      backups.push({ archives: (JSON.parse(r.stdout) as PackJson).volumes.map((v) => v.archive), big: sha(bytes), how });
    }
    // The layout the test is about: three parts, then two.
    assert.equal(backups[0]?.archives.length, 3);
    assert.equal(backups[3]?.archives.length, 2);
    script = join(work, 'restore.sh');
    await writeFile(script, await scriptFromReadme(join(backups[0]?.archives[0] as string, '..')));
  });
  after(async () => {
    await removeTree(work);
  });

  for (const [name, where] of Object.entries(TOOLSETS)) {
    it(`${name} tools: after each backup of the chain, big.bin is that backup's (split, whole, bundled, split again)`, async () => {
      const bin = join(work, `bin-${name}`);
      await mkdir(bin);
      for (const t of [...SCRIPT_TOOLS, 'locale', 'bsdtar']) {
        const to = where(t);
        if (to !== null) await symlink(to, join(bin, t));
      }
      for (let upTo = 1; upTo <= backups.length; upTo++) {
        const dest = join(work, `out-${name}-${upTo}`);
        const archives = backups.slice(0, upTo).flatMap((b) => b.archives);
        const r = await run(join(bin, 'sh'), [script, dest, ...archives], { env: { PATH: bin, LC_ALL: 'C', HOME: work } });
        const want = backups[upTo - 1] as { big: string; how: string };
        assert.equal(r.status, 0, `${name}, backups 1-${upTo}: ${r.stderr}`);
        assert.equal(sha(await readFile(join(dest, 'tree/d/big.bin'))), want.big, `${name}, backups 1-${upTo}: big.bin is the newest backup's (${want.how})`);
        for (let i = 0; i < 5; i++) assert.deepEqual(await readFile(join(dest, 'tree/d', `small${i}.txt`)), seededText(i, 300 + i));
        assert.deepEqual((await readdir(dest, { recursive: true })).sort(), ['tree', 'tree.xtar-catalog.jsonl.gz', 'tree.xtar-structure.jsonl.gz', 'tree/d', 'tree/d/big.bin', ...[0, 1, 2, 3, 4].map((i) => `tree/d/small${i}.txt`)], 'nothing else is left: no part, no note of a join, no work folder');
      }
    });
  }
});

describe('restore by hand over an encrypted chain: the newest backup wins', { skip: ['dash', 'unzip', 'age', 'age-keygen'].some((t) => which(t) === null) ? 'needs dash, unzip, age and age-keygen' : false }, () => {
  let work: string;

  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('NAME.zip.age split in 3, then whole, then split in 2: XTAR_IDENTITY=key.txt sh restore.sh gives the newest each time', async () => {
    const src = join(work, 'tree');
    await mkdir(join(src, 'd'), { recursive: true });
    await writeFile(join(src, 'd', 'small.txt'), seededText(1, 500));
    const key = join(work, 'key.txt');
    execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
    const recipient = /age1[0-9a-z]+/.exec(await readFile(key, 'utf8'))?.[0] as string;
    const backups: { archives: string[]; big: string }[] = [];
    for (const [i, size] of [2_600_000, 300_000, 1_500_000].entries()) {
      const bytes = seededBytes(200 + i, size);
      await writeFile(join(src, 'd', 'big.bin'), bytes);
      const keys = i === 0 ? ['--recipient', recipient] : ['--identity', key];
      const r = await xtar(['pack', src, '--out', join(work, 'set'), '--volume-size', '1MB', '--json', ...keys], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH + i * DAY) } });
      assert.equal(r.status, 0, r.stderr);
      backups.push({ archives: (JSON.parse(r.stdout) as PackJson).volumes.map((v) => v.archive), big: sha(bytes) });
    }
    assert.deepEqual(backups.map((b) => b.archives.length), [3, 1, 2]);
    const script = join(work, 'restore.sh');
    await writeFile(script, await scriptFromReadme(join(backups[0]?.archives[0] as string, '..')));
    const bin = join(work, 'bin');
    await mkdir(bin);
    for (const t of [...SCRIPT_TOOLS, 'age']) await symlink(which(t === 'sh' ? 'dash' : t) as string, join(bin, t));
    for (let upTo = 1; upTo <= backups.length; upTo++) {
      const dest = join(work, `out-${upTo}`);
      const r = await run(join(bin, 'sh'), [script, dest, ...backups.slice(0, upTo).flatMap((b) => b.archives)], { env: { PATH: bin, LC_ALL: 'C', HOME: work, XTAR_IDENTITY: key } });
      assert.equal(r.status, 0, `backups 1-${upTo}: ${r.stderr}`);
      assert.equal(sha(await readFile(join(dest, 'tree/d/big.bin'))), backups[upTo - 1]?.big, `backups 1-${upTo}: big.bin is the newest backup's`);
      assert.deepEqual(await readFile(join(dest, 'tree/d/small.txt')), seededText(1, 500));
      assert.deepEqual((await readdir(join(dest, 'tree/d'))).sort(), ['big.bin', 'small.txt'], 'no part, no note of a join, no encrypted blob left');
    }
  });
});
