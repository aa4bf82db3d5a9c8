/**
 * `xtar prune SET --keep K` on a set on disc: with --dry-run it names the volumes no kept backup
 * needs and deletes nothing; without, it deletes exactly those (each named), the index forgets
 * them (a second prune finds nothing), and the kept backups still verify and restore.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xtar, type CliResult } from '../helpers/cli.js';
import { removeTree, tempDir } from '../helpers/tree.js';

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stderr}${r.stdout}`);
  return r;
}

describe('xtar prune', () => {
  let work: string;
  let set: string;
  const volumes = async (): Promise<string[]> => (await readdir(set)).filter((n) => n.includes('-vol')).sort();

  before(async () => {
    work = await tempDir('xtar-prune-');
    set = join(work, 'set');
    const src = join(work, 'docs');
    await mkdir(src);
    await writeFile(join(src, 'a.txt'), 'one\n');
    // Three full backups, a second apart (one backup id per second).
    for (const [i, text] of ['one\n', 'two\n', 'three\n'].entries()) {
      await writeFile(join(src, 'a.txt'), text);
      ok(await xtar(['pack', src, '--out', set, '--mode', 'full', '-q']), `pack ${i}`);
      if (i < 2) await new Promise((r) => setTimeout(r, 1100));
    }
  });
  after(async () => {
    await removeTree(work);
  });

  it('--dry-run names what would go and deletes nothing; then prune deletes exactly that and the rest restores', async () => {
    const all = await volumes();
    assert.equal(all.length, 3);
    const dry = ok(await xtar(['prune', set, '--keep', '2', '--dry-run']), 'dry run');
    assert.match(dry.stdout, new RegExp(`would delete ${join(set, all[0]!)} `));
    assert.match(dry.stdout, /would delete 1 volume\(s\).*nothing was deleted/);
    assert.deepEqual(await volumes(), all);
    const p = ok(await xtar(['prune', set, '--keep', '2', '--json']), 'prune');
    const j = JSON.parse(p.stdout) as { deleted: { name: string }[]; dryRun: boolean };
    assert.equal(j.dryRun, false);
    assert.deepEqual(j.deleted.map((v) => v.name), [all[0]]);
    assert.match(p.stderr, new RegExp(`deleting ${join(set, all[0]!)} `), 'each volume named as it goes');
    assert.deepEqual(await volumes(), all.slice(1));
    assert.match(ok(await xtar(['prune', set, '--keep', '2']), 'again').stdout, /nothing to delete/);
    ok(await xtar(['verify', set]), 'verify');
    ok(await xtar(['unpack', set, '--dest', join(work, 'out')]), 'unpack');
    assert.equal(await readFile(join(work, 'out', 'docs', 'a.txt'), 'utf8'), 'three\n');
    const one = ok(await xtar(['prune', set]), 'keep 1');
    assert.match(one.stdout, /deleted 1 volume/);
    assert.deepEqual(await volumes(), all.slice(2));
  });
});
