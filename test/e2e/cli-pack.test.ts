/**
 * The edges a person meets on `xtar pack` and the command line itself (issue 15): --jobs beyond
 * what helps, the renamed and deleted counts of incrementals, the summary's sizes, --iso's images,
 * -o without a folder, `xtar` alone, `xtar help COMMAND`, `pack -C`, `pack -v`, and a source that
 * does not exist. Each runs the real CLI.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFile, cp, readdir, rename, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { xtar } from '../helpers/cli.js';
import { removeTree, tempDir } from '../helpers/tree.js';
import { escapeRegExp } from '../helpers/regexp.js';
import { humanBytes } from '../../src/util/human.js';

const SAMPLE = new URL('../../../fixtures/sample', import.meta.url).pathname;
const DAY = 86_400;
const EPOCH = 1_790_000_000;
const on = (day: number) => ({ env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH + day * DAY) } });

interface PackJson {
  backup: string;
  renamedFiles: number;
  deletedFiles: number;
  volumes: { path: string; bytes: number; iso?: string }[];
}

async function packJson(src: string, set: string, day: number, extra: string[] = []): Promise<PackJson> {
  const r = await xtar(['pack', src, '--out', set, '--json', ...extra], on(day));
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as PackJson;
}

/** Every file below `dir` (recursively), as paths relative to it, sorted. */
async function filesBelow(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

describe('xtar pack and the command line: the edges a person meets', () => {
  let work: string;
  let src: string;
  before(async () => {
    work = await tempDir();
    src = join(work, 'sample');
    await cp(SAMPLE, src, { recursive: true });
  });
  after(async () => removeTree(work));

  it('--jobs beyond what helps is capped, said once on stderr, for pack, verify and unpack', async () => {
    const set = join(work, 'jobs-set');
    const note = /^xtar: note: --jobs 999 is more than helps here; using (\d+)\.$/m;
    const p = await xtar(['pack', src, '--out', set, '--jobs', '999', '--quiet']);
    assert.equal(p.status, 0, p.stderr);
    const m = note.exec(p.stderr);
    assert.ok(m, p.stderr);
    const used = Number(m[1]);
    assert.ok(used >= 1 && used <= availableParallelism(), `using ${used}`);
    assert.equal(p.stderr.match(/--jobs/g)?.length, 1, 'said once');
    const v = await xtar(['verify', set, '--jobs', '999', '--quiet']);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stderr, note);
    const u = await xtar(['unpack', set, '--dest', join(work, 'jobs-out'), '--jobs', '999', '--quiet']);
    assert.equal(u.status, 0, u.stderr);
    assert.match(u.stderr, note);
    // A count that helps is taken as given, without a word.
    const one = await xtar(['pack', src, '--out', join(work, 'jobs-one'), '--jobs', '1', '--quiet']);
    assert.equal(one.status, 0, one.stderr);
    assert.equal(one.stderr, '');
  });

  it('counts a rename once, in the incremental that saw it, and never as a deletion', async () => {
    const tree = join(work, 'ren');
    await cp(SAMPLE, tree, { recursive: true });
    const set = join(work, 'ren-set');
    await packJson(tree, set, 0);
    await rename(join(tree, 'docs/GPL-3.txt'), join(tree, 'docs/renamed.txt'));
    await rm(join(tree, 'docs/notes.txt'));
    // --dry-run: the old name is not also listed as deleted.
    const dry = await xtar(['pack', tree, '--out', set, '--dry-run'], on(1));
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /^renamed {3}ren\/docs\/renamed\.txt \(was ren\/docs\/GPL-3\.txt\)$/m);
    assert.deepEqual(dry.stdout.split('\n').filter((l) => l.startsWith('deleted')), ['deleted   ren/docs/notes.txt']);
    assert.match(dry.stdout, /, 1 renamed, 0 with new metadata only, 1 deleted$/m);
    const inc1 = await xtar(['pack', tree, '--out', set], on(1));
    assert.equal(inc1.status, 0, inc1.stderr);
    assert.match(inc1.stdout, /\(1 renamed\), 1 deleted$/m);
    // Later incrementals refer to the renamed file's blob, still stored under its old name: no rename.
    await appendFile(join(tree, 'README.md'), 'one more line\n');
    const inc2 = await xtar(['pack', tree, '--out', set], on(2));
    assert.equal(inc2.status, 0, inc2.stderr);
    assert.doesNotMatch(inc2.stdout, /renamed/);
    assert.match(inc2.stdout, /1 file\(s\) stored, 5 unchanged, 0 deleted$/m);
    await appendFile(join(tree, 'README.md'), 'and another\n');
    const inc3 = await packJson(tree, set, 3);
    assert.deepEqual([inc3.renamedFiles, inc3.deletedFiles], [0, 0]);
  });

  it("names the archive's size, the volume folders' size and what the records take", async () => {
    const set = join(work, 'sizes-set');
    const r = await xtar(['pack', src, '--out', set], on(0));
    assert.equal(r.status, 0, r.stderr);
    const m = /^packed 7 files, 5 folders into 1 volume\(s\): archive (.+) \(.+\), folders (.+) \(records (.+)\)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    const vol = (await readdir(set)).find((n) => n.endsWith('-vol001')) as string;
    const dir = join(set, vol);
    let folder = 0;
    for (const f of await filesBelow(dir)) folder += (await stat(join(dir, f))).size;
    const records = (await stat(join(dir, 'structure.jsonl'))).size + (await stat(join(dir, 'catalog.jsonl'))).size;
    assert.deepEqual(m.slice(1), [humanBytes((await stat(join(dir, `${vol}.xtar`))).size), humanBytes(folder), humanBytes(records)]);
  });

  it('--iso: the summary and --json name each image', { skip: commandMissing('xorriso') }, async () => {
    const set = join(work, 'iso-set');
    const r = await xtar(['pack', src, '--out', set, '--iso'], on(0));
    assert.equal(r.status, 0, r.stderr);
    const iso = (await readdir(set)).filter((n) => n.endsWith('.iso'));
    assert.equal(iso.length, 1);
    assert.match(r.stdout, new RegExp(`^  ${escapeRegExp(join(set, iso[0] as string))}$`, 'm'));
    const j = await packJson(src, join(work, 'iso-set-json'), 0, ['--iso']);
    assert.equal(j.volumes[0]?.iso, `${j.volumes[0]?.path}.iso`);
    await stat(j.volumes[0]?.iso as string);
  });

  it('-o without a folder is a usage error, and packs nothing into the working folder', async () => {
    const cwd = join(work, 'cwd');
    await cp(SAMPLE, join(cwd, 'sample'), { recursive: true });
    const before = await filesBelow(cwd);
    for (const args of [['pack', 'sample', '-o'], ['pack', 'sample', '--out', '']]) {
      const r = await xtar(args, { cwd });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^xtar: --out needs a folder/);
    }
    assert.deepEqual(await filesBelow(cwd), before);
  });

  it('`xtar` alone names every command; `xtar help pack` is `xtar pack --help`', async () => {
    const bare = await xtar([]);
    assert.equal(bare.status, 2);
    for (const c of ['pack', 'unpack', 'expand-structure', 'verify', 'repair', 'activity', 'list', 'index']) assert.match(bare.stderr, new RegExp(`[ ,]${c}[ ,]`));
    const help = await xtar(['help', 'pack']);
    const option = await xtar(['pack', '--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.equal(help.stdout, option.stdout);
    assert.match(help.stdout, /--verbose/);
    const top = await xtar(['help']);
    assert.equal(top.status, 0, top.stderr);
    assert.equal(top.stdout, (await xtar(['--help'])).stdout);
  });

  it('pack -C is refused with what to write instead, creating nothing', async () => {
    const set = join(work, 'c-set');
    const r = await xtar(['pack', src, '-C', set]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^xtar: pack has no -C: name the folder to back up by its path and the set with --out \(-o\)/);
    await assert.rejects(stat(set), { code: 'ENOENT' });
  });

  it("pack -v names each stored file on stdout, before the summary; without it, none", async () => {
    const r = await xtar(['pack', '-v', src, '-o', join(work, 'v-set')], on(0));
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const first = lines.findIndex((l) => l.startsWith('full backup'));
    const stored = lines.slice(0, first).sort();
    assert.deepEqual(stored, (await filesBelow(SAMPLE)).map((f) => `sample/${f}`));
    const quiet = await xtar(['pack', src, '-o', join(work, 'v-set2')], on(0));
    assert.ok(quiet.stdout.startsWith('full backup'), quiet.stdout);
    const both = await xtar(['pack', '-v', '--json', src, '-o', join(work, 'v-set3')]);
    assert.equal(both.status, 2);
    await assert.rejects(stat(join(work, 'v-set3')), { code: 'ENOENT' });
  });

  it('a source that does not exist ends the run before the set folder is made', async () => {
    const set = join(work, 'none-set');
    const r = await xtar(['pack', join(work, 'no-such-folder'), '--out', set]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^xtar: The source .*no-such-folder does not exist; nothing was written\.$/m);
    await assert.rejects(stat(set), { code: 'ENOENT' });
  });
});

function commandMissing(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
}
