/**
 * The by-hand contract: the script in a volume's README.txt, run with nothing but sh, tar, find and
 * unzip, restores every file's bytes — through every name collision the format invites — and
 * `xtar expand-structure` then restores everything else.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, xtar } from '../helpers/cli.js';
import { byHandDiffs, diffSnapshots, makeNastyTree, removeTree, snapshot, tempDir } from '../helpers/tree.js';
import { scriptFromReadme } from '../helpers/readme-script.js';

describe('restore by hand with the README.txt procedure', () => {
  let work: string;
  let src: string;
  let volume: string;
  let archive: string;

  before(async () => {
    work = await tempDir();
    src = await makeNastyTree(join(work, 'in'));
    const r = await xtar(['pack', src, '--out', join(work, 'set'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const v = (JSON.parse(r.stdout) as { volumes: { path: string; archive: string }[] }).volumes[0];
    volume = v?.path as string;
    archive = v?.archive as string;
  });
  after(async () => {
    await removeTree(work);
  });

  it('tar + unzip restore every regular file byte for byte, then expand-structure restores the rest', async () => {
    const script = join(work, 'restore.sh');
    await writeFile(script, await scriptFromReadme(volume));
    const dest = join(work, 'by-hand');
    const r = await run('sh', [script, dest, archive]);
    assert.equal(r.status, 0, `restore script failed:\n${r.stderr}`);

    const original = await snapshot(src);
    const byHand = await snapshot(join(dest, 'nasty'));
    // Every regular file (first name of each hard-linked group) is there with the right bytes, and
    // nothing is left over: no .xtar files, no blobs, no work folder.
    assert.deepEqual(byHandDiffs(original, byHand), { wrong: [], leftovers: [] });
    // Every folder, empty ones included.
    for (const [p, info] of original) if (info.type === 'dir') assert.equal(byHand.get(p)?.type, 'dir', `folder ${p}`);
    assert.deepEqual((await readdir(dest)).sort(), ['nasty', 'nasty.xtar-catalog.jsonl.gz', 'nasty.xtar-structure.jsonl.gz']);

    const ex = await xtar(['expand-structure', join(volume, 'structure.jsonl'), '--dest', dest]);
    assert.equal(ex.status, 0, ex.stderr);
    assert.deepEqual(diffSnapshots(original, await snapshot(join(dest, 'nasty'))), []);
  });

  it('expand-structure also works from the copy the outer tar carries, and from the volume folder', async () => {
    const script = join(work, 'restore2.sh');
    await writeFile(script, await scriptFromReadme(volume));
    const dest = join(work, 'by-hand-2');
    assert.equal((await run('sh', [script, dest, archive])).status, 0);
    const ex = await xtar(['expand-structure', join(dest, 'nasty.xtar-structure.jsonl.gz'), '--dest', dest]);
    assert.equal(ex.status, 0, ex.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'nasty'))), []);
    const again = await xtar(['expand-structure', volume, '--dest', dest]);
    assert.equal(again.status, 0, again.stderr);
  });

  it('plain tar lists the outer archive and a nested one', async () => {
    const r = await run('tar', ['-tvf', archive]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /nasty\.xtar-structure\.jsonl/);
    assert.match(r.stdout, /nasty\/\.xtar/);
    assert.match(r.stdout, /nasty\.xtar-catalog\.jsonl/);
  });
});
