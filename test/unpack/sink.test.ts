import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Destination } from '../../src/dest/destination.js';
import { pack } from '../../src/pack/pack.js';
import { ExtractPool } from '../../src/unpack/extract-pool.js';
import { ProblemLog } from '../../src/unpack/problem-log.js';
import { VerifySink, WriteSink } from '../../src/unpack/sink.js';
import { restore, unpack } from '../../src/unpack/unpack.js';
import { verify } from '../../src/unpack/verify.js';
import { removeTree, seededText, tempDir } from '../helpers/tree.js';

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

describe('sinks', () => {
  let work: string;
  let set: string;

  before(async () => {
    work = await tempDir();
    const src = join(work, 'src');
    await mkdir(join(src, 'a', 'b'), { recursive: true });
    for (let i = 0; i < 12; i++) await writeFile(join(src, i % 2 ? 'a' : join('a', 'b'), `f${i}.txt`), seededText(i, 100 + i * 30));
    set = join(work, 'set');
    await pack({ source: src, out: set, jobs: 1, now: new Date('2026-11-01T00:00:00Z') });
  });
  after(() => removeTree(work));

  it('VerifySink checks every file and writes nothing, wherever it is pointed', async () => {
    const dest = join(work, 'verify-dest');
    const r = await restore({ inputs: [set], jobs: 1 }, new VerifySink(dest));
    assert.equal(r.files, 12);
    assert.equal(r.structure, null, 'the structure record is read through, not applied');
    assert.deepEqual(r.problems, []);
    assert.equal(r.dest, dest);
    assert.equal(await exists(dest), false);
  });

  it('unpack with verifyOnly and verify() use it: nothing under --dest', async () => {
    const dest = join(work, 'verify-only');
    const r = await unpack({ inputs: [set], dest, verifyOnly: true, jobs: 1 });
    assert.equal(r.files, 12);
    assert.equal(await exists(dest), false);
    const v = await verify({ inputs: [set], jobs: 1 });
    assert.equal(v.files, 12);
    assert.deepEqual([v.damaged, v.unreadable], [[], false]);
    assert.deepEqual(await readdir(work).then((n) => n.sort()), ['set', 'src']);
  });

  it('VerifySink makes no folder, WriteSink makes one and refuses a symlink in the way', async () => {
    const log = new ProblemLog();
    const pool = new ExtractPool(null, 1);
    assert.equal(new VerifySink(join(work, 'x')).makeDirs(['root', 'a'], pool, log), undefined);
    const dest = join(work, 'write-dest');
    const w = new WriteSink(new Destination(dest));
    await w.makeDirs(['root', 'a'], pool, log);
    assert.equal((await stat(join(dest, 'root', 'a'))).isDirectory(), true);
    await symlink(work, join(dest, 'root', 'out'));
    await w.makeDirs(['root', 'out', 'c'], pool, log);
    assert.equal(await exists(join(work, 'c')), false);
    assert.deepEqual(log.problems().map((p) => [p.path, p.kind]), [['root/out/c', 'refused']]);
    await pool.close();
    await removeTree(dest);
  });

  it('WriteSink restores the files and applies the structure', async () => {
    const dest = join(work, 'restored');
    const r = await restore({ inputs: [set], jobs: 1 }, new WriteSink(new Destination(dest)));
    assert.equal(r.files, 12);
    assert.ok(r.structure !== null && r.structure.files === 12);
    assert.deepEqual(r.problems, []);
    await removeTree(dest);
  });
});
