/**
 * The edges a person meets restoring (issue 15): a path that matches nothing is named and fails the
 * run (as GNU tar); one volume of several names each missing volume once, with its count; -v lists
 * each file restored; a set holding two folders' backups is not silently restored as one of them;
 * `list` shows each backup's source and each volume's archive, folder and record sizes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xtar } from '../helpers/cli.js';
import { removeTree, seededBytes, tempDir } from '../helpers/tree.js';
import { escapeRegExp } from '../helpers/regexp.js';

const EPOCH = 1_780_000_000;
const DAY = 86_400;

/** `files` incompressible files of 6-8 KB, over four folders. */
async function makeTree(dir: string, files: number, seed: number): Promise<string[]> {
  const made: string[] = [];
  for (let i = 0; i < files; i++) {
    const sub = `d${i % 4}`;
    await mkdir(join(dir, sub), { recursive: true });
    const name = `${sub}/f${String(i).padStart(3, '0')}.bin`;
    await writeFile(join(dir, name), seededBytes(seed * 1000 + i, 6000 + ((i * 37) % 2000)));
    made.push(name);
  }
  return made;
}

async function pack(src: string, set: string, day: number, extra: string[] = []): Promise<string> {
  const r = await xtar(['pack', src, '--out', set, '--quiet', ...extra], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH + day * DAY) } });
  assert.equal(r.status, 0, r.stderr);
  return (await readdir(set)).filter((n) => n.endsWith('-vol001')).sort().at(-1)?.slice(0, -'-vol001'.length) as string;
}

describe('unpack and list: the edges a person meets', () => {
  let work: string;
  let set: string;
  let id: string;
  let files: string[];
  before(async () => {
    work = await tempDir();
    files = (await makeTree(join(work, 'tree'), 120, 1)).map((f) => `tree/${f}`);
    set = join(work, 'set');
    id = await pack(join(work, 'tree'), set, 0, ['--volume-size', '310K']);
  });
  after(async () => {
    await removeTree(work);
  });

  it('names each path or glob that matches nothing, restores what matched, and exits 2 (GNU tar)', async () => {
    const none = await xtar(['unpack', set, '-C', join(work, 'nf1'), 'no/such/path']);
    assert.equal(none.status, 2, none.stderr);
    assert.match(none.stderr, new RegExp(`^xtar: no/such/path: not found in backup ${id}$`, 'm'));
    const some = await xtar(['unpack', set, '-C', join(work, 'nf2'), 'tree/d1', 'nosuch*.txt']);
    assert.equal(some.status, 2, some.stderr);
    assert.match(some.stderr, new RegExp(`^xtar: nosuch\\*\\.txt: not found in backup ${id}$`, 'm'));
    assert.doesNotMatch(some.stderr, /tree\/d1: not found/);
    assert.equal((await readdir(join(work, 'nf2', 'tree', 'd1'))).length, 30);
    // Two patterns of which one lies below the other: both matched.
    const nested = await xtar(['unpack', set, '-C', join(work, 'nf3'), 'tree/d2', 'tree/d2/f002.bin']);
    assert.equal(nested.status, 0, nested.stderr);
  });

  it('one volume of four: one line per missing volume with its count, consistent with the plan; -v lists the files', async () => {
    const vols = (await readdir(set)).filter((n) => n.startsWith(`${id}-vol`)).sort();
    assert.equal(vols.length, 4, 'the tree fills four volumes');
    const r = await xtar(['unpack', join(set, vols[2] as string), '-C', join(work, 'one')]);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.ok(lines.length <= 5, r.stderr);
    for (const n of [1, 2, 4]) assert.match(r.stderr, new RegExp(`^xtar: volume ${n} of 4 of backup ${id} was not given: \\d+ file\\(s\\) on it not restored$`, 'm'));
    assert.doesNotMatch(r.stderr, /volume 3 of 4/);
    const counted = [...r.stderr.matchAll(/not given: (\d+) file\(s\)/g)].reduce((n, m) => n + Number(m[1]), 0);
    const restored = Number(/restored (\d+) files/.exec(r.stdout)?.[1]);
    assert.equal(counted + restored, files.length, r.stdout + r.stderr);
    assert.match(r.stdout, /it needs 4 volume\(s\)/);
    assert.match(r.stdout, new RegExp(`not given \\(insert these discs for the rest\\): ${id}-vol001, ${id}-vol002, ${id}-vol004\\n`));
    const v = await xtar(['unpack', join(set, vols[2] as string), '-C', join(work, 'one-v'), '-v']);
    assert.equal(v.status, 1);
    assert.equal([...v.stderr.matchAll(/: on (a )?volume .*which was not given$/gm)].length, counted, v.stderr);
    // verify of the same volume groups them alike.
    const ver = await xtar(['verify', join(set, vols[2] as string)]);
    assert.ok(ver.stderr.trim().split('\n').length <= 5, ver.stderr);
    for (const n of [1, 2, 4]) assert.match(ver.stderr, new RegExp(`^xtar: volume ${n} of 4 of backup ${id} was not given: \\d+ file\\(s\\) on it not restored$`, 'm'));
  });

  it('-v prints each file restored on stdout; without it, no file is named', async () => {
    const v = await xtar(['unpack', set, '-C', join(work, 'verbose'), '-v']);
    assert.equal(v.status, 0, v.stderr);
    const listed = v.stdout.split('\n').filter((l) => l.startsWith('tree/'));
    assert.deepEqual([...listed].sort(), [...files].sort());
    const q = await xtar(['unpack', set, '-C', join(work, 'plain')]);
    assert.equal(q.status, 0, q.stderr);
    assert.doesNotMatch(q.stdout, /^tree\//m);
  });

  it('list shows each volume\'s archive, folder and record sizes', async () => {
    const r = await xtar(['list', set]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ {2}volume 1: archive [\d.]+ \S*B, folder [\d.]+ \S*B \(records [\d.]+ \S*B\), \d+ files /m);
    assert.match(r.stdout, new RegExp(`^${id} .* of ${escapeRegExp(join(work, 'tree'))}$`, 'm'));
  });

  describe('a set holding the backups of two folders', () => {
    let two: string;
    let idA: string;
    let idB: string;
    before(async () => {
      await makeTree(join(work, 'a', 'photos'), 3, 2);
      await makeTree(join(work, 'b', 'mail'), 3, 3);
      two = join(work, 'two');
      idA = await pack(join(work, 'a', 'photos'), two, 1);
      idB = await pack(join(work, 'b', 'mail'), two, 2);
    });

    it('list shows the source of each backup', async () => {
      const r = await xtar(['list', two]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^${idA} .* of ${join(work, 'a', 'photos')}$`, 'm'));
      assert.match(r.stdout, new RegExp(`^${idB} .* of ${join(work, 'b', 'mail')}$`, 'm'));
    });

    it('unpack SET refuses, naming both folders and how to choose; --source and --backup choose', async () => {
      const r = await xtar(['unpack', two, '-C', join(work, 'both')]);
      assert.equal(r.status, 2);
      assert.ok(r.stderr.includes(`${join(work, 'a', 'photos')} (newest ${idA})`), r.stderr);
      assert.ok(r.stderr.includes(`${join(work, 'b', 'mail')} (newest ${idB})`), r.stderr);
      assert.match(r.stderr, /choose one with --source PATH or --backup ID/);
      await assert.rejects(stat(join(work, 'both', 'mail')));
      const s = await xtar(['unpack', two, '-C', join(work, 'src-a'), '--source', join(work, 'a', 'photos')]);
      assert.equal(s.status, 0, s.stderr);
      assert.equal((await readdir(join(work, 'src-a'))).join(), 'photos');
      const b = await xtar(['unpack', two, '-C', join(work, 'bk-b'), '--backup', idB]);
      assert.equal(b.status, 0, b.stderr);
      assert.equal((await readdir(join(work, 'bk-b'))).join(), 'mail');
    });
  });
});
