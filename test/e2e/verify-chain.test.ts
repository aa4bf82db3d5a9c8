/**
 * `verify SET` answers whether the set's newest backup can be restored in full: a volume of the full
 * backup an incremental builds on that is not in the set makes it exit 1, naming the backup, the
 * volume and the backup it belongs to.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xtar } from '../helpers/cli.js';
import { verify } from '../../src/unpack/verify.js';
import { removeTree, seededBytes, tempDir } from '../helpers/tree.js';

async function pack(src: string, set: string, day: number, extra: string[] = []): Promise<{ backup: string; kind: string; volumes: { path: string }[] }> {
  const r = await xtar(['pack', src, '--out', set, '--json', ...extra], { env: { ...process.env, SOURCE_DATE_EPOCH: String(1_780_000_000 + day * 86_400) } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { backup: string; kind: string; volumes: { path: string }[] };
}

describe('verify SET checks the newest backup’s chain', () => {
  let work: string;
  let src: string;
  let set: string;
  let full: string;
  let incr: string;

  before(async () => {
    work = await tempDir();
    src = join(work, 'src');
    set = join(work, 'set');
    await mkdir(src);
    // Incompressible files over three volumes of the full backup.
    for (let i = 0; i < 30; i++) await writeFile(join(src, `f${String(i).padStart(2, '0')}.bin`), seededBytes(i, 100_000));
    const f = await pack(src, set, 0, ['--volume-size', '1200KB']);
    assert.ok(f.volumes.length >= 2, `the full backup spans volumes (${f.volumes.length})`);
    full = f.backup;
    await writeFile(join(src, 'f00.bin'), 'changed\n');
    const i = await pack(src, set, 1);
    assert.equal(i.kind, 'incremental');
    incr = i.backup;
  });
  after(async () => {
    await removeTree(work);
  });

  it('every volume in place: exit 0', async () => {
    const r = await xtar(['verify', set]);
    assert.equal(r.status, 0, r.stderr);
  });

  it('a volume of the full backup the newest builds on is not in the set: exit 1, naming it', async () => {
    const name = (await readdir(set)).find((n) => n === `${full}-vol002`);
    assert.ok(name);
    const away = join(work, name);
    await rename(join(set, name), away);
    try {
      const r = await xtar(['verify', set]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`backup ${incr} needs volume 2 of backup ${full}, which is not in the set`));
      const j = await xtar(['verify', set, '--json']);
      assert.equal(j.status, 1);
      const gaps = (JSON.parse(j.stdout) as { chainGaps: { backup: string; needs: { backup: string; volume: number } }[] }).chainGaps;
      assert.deepEqual(gaps.map((g) => [g.backup, g.needs.backup, g.needs.volume]), [[incr, full, 2]]);
      // The library's verify answers it too (a program needs no CLI for it).
      const lib = await verify({ inputs: [set] });
      assert.deepEqual(lib.chainGaps.map((g) => [g.backup, g.needs.backup, g.needs.volume]), [[incr, full, 2]]);
    } finally {
      await rename(away, join(set, name));
    }
  });
});
