/**
 * The selection through the real CLI: `pack --dry-run` lists each excluded path with the rule that
 * excluded it and its source (text and --json, the JSON checked against docs/json/pack.schema.json),
 * `pack` stores exactly what the dry run said, `activity` (plain and --against) leaves out the same
 * files, and bad selection flags are usage errors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { xtar } from '../helpers/cli.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const SCHEMA = fileURLToPath(new URL('../../../docs/json/pack.schema.json', import.meta.url));
const SIGNATURE = 'Signature: 8a477f597d28d172789f06886806bc55';

async function put(path: string, text = 'x'): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
}

async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)));
  }
  return out.sort();
}

describe('selection through the CLI', () => {
  let work: string;
  let src: string;
  let list: string;
  const flags = (): string[] => ['--exclude', '*.log', '--exclude', '!keep.log', '--exclude-regex', '^b/gen-', '--exclude-from', list, '--exclude-caches', '--max-age', '1h'];

  before(async () => {
    work = await tempDir('xtar-select-e2e-');
    src = join(work, 'src');
    list = join(work, 'exclude.list');
    for (const p of ['a/x.log', 'a/keep.log', 'a/y.tmp', 'a/keep.tmp', 'a/z.txt', 'b/gen-1.c', 'b/main.c', 'cache/blob', 'flagged/inner/f', 'node_modules/m/index.js', 'top.txt']) await put(join(src, p));
    await writeFile(join(src, '.xtarignore'), '# temporaries\n*.tmp\n');
    await writeFile(join(src, 'a', '.xtarignore'), '!keep.tmp\n');
    await writeFile(join(src, 'cache', 'CACHEDIR.TAG'), `${SIGNATURE}\n`);
    await writeFile(join(src, 'flagged', '.bkexclude'), '');
    await writeFile(list, 'node_modules/\n');
    // Everything was written long ago, but for one file still being written (its mtime ahead of any clock).
    const old = Date.parse('2024-01-01T00:00:00Z') / 1000;
    for (const f of await filesBelow(src)) await utimes(join(src, f), old, old);
    const future = Date.now() / 1000 + 86_400;
    await put(join(src, 'a', 'growing.dat'));
    await utimes(join(src, 'a', 'growing.dat'), future, future);
  });
  after(() => removeTree(work));

  const EXCLUDED = (): [string, string, string][] => [
    ['src/a/growing.dat', 'max-age', '--max-age 1h'],
    ['src/a/x.log', 'exclude', "--exclude '*.log'"],
    ['src/a/y.tmp', 'ignore-file', "src/.xtarignore: line 2 '*.tmp'"],
    ['src/b/gen-1.c', 'exclude-regex', "--exclude-regex '^b/gen-'"],
    ['src/cache', 'caches', 'CACHEDIR.TAG'],
    ['src/flagged', 'flag', '.bkexclude flag'],
    ['src/node_modules', 'exclude-from', `--exclude-from ${list}: line 1 'node_modules/'`],
  ];
  const KEPT = ['.xtarignore', 'a/.xtarignore', 'a/keep.log', 'a/keep.tmp', 'a/z.txt', 'b/main.c', 'top.txt'];

  it('pack --dry-run lists what would be stored and each excluded path with its rule and source, once per folder', async () => {
    const r = await xtar(['pack', src, '--out', join(work, 'set'), '--dry-run', ...flags()]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const excluded = lines.filter((l) => l.startsWith('excluded  '));
    assert.deepEqual(excluded, EXCLUDED().map(([p, , rule]) => `excluded  ${p} (${rule})`));
    const stored = lines.filter((l) => l.startsWith('new ')).map((l) => l.replace(/^new +src\//, ''));
    assert.deepEqual(stored.sort(), KEPT);
  });

  it('pack --dry-run --json: the same in `excluded` ({path, kind, rule}), valid against the schema', async () => {
    const r = await xtar(['pack', src, '--out', join(work, 'set'), '--dry-run', '--json', ...flags()]);
    assert.equal(r.status, 0, r.stderr);
    const value = JSON.parse(r.stdout) as { excluded: { path: string; kind: string; rule: string }[]; items: { path: string }[] };
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(JSON.parse(await readFile(SCHEMA, 'utf8')) as object);
    assert.ok(validate(value), JSON.stringify(validate.errors));
    assert.deepEqual(value.excluded.map((x) => [x.path, x.kind, x.rule]), EXCLUDED());
    assert.deepEqual(value.items.map((i) => i.path.replace(/^src\//, '')).sort(), KEPT);
  });

  it('pack stores exactly what the dry run said', async () => {
    const set = join(work, 'set');
    const p = await xtar(['pack', src, '--out', set, '--json', ...flags()]);
    assert.equal(p.status, 0, p.stderr);
    const dest = join(work, 'dest');
    const u = await xtar(['unpack', set, '--dest', dest]);
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(await filesBelow(join(dest, 'src')), KEPT);
  });

  it('activity leaves out the same files, plain and --against the backup', async () => {
    const r = await xtar(['activity', src, '--json', '--all', ...flags()]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { clusters: { paths: string[] }[] };
    assert.deepEqual(j.clusters.flatMap((c) => c.paths).sort(), KEPT);
    const then = Date.parse('2025-01-01T00:00:00Z') / 1000;
    for (const f of ['b/new.log', 'b/new.c']) {
      await put(join(src, f));
      await utimes(join(src, f), then, then);
    }
    const a = await xtar(['activity', src, '--json', '--all', '--against', join(work, 'set'), ...flags()]);
    assert.equal(a.status, 0, a.stderr);
    const k = JSON.parse(a.stdout) as { clusters: { paths: string[] }[]; deleted: string[] };
    assert.deepEqual(k.clusters.flatMap((c) => c.paths), ['b/new.c']);
    assert.deepEqual(k.deleted, []);
  });

  it('--help documents every selection flag; a bad duration, regex or list is a usage or input error (exit 2)', async () => {
    const h = await xtar(['pack', '--help']);
    for (const f of ['--exclude ', '--exclude-regex', '--exclude-from', '--exclude-flag', '--exclude-caches', '--max-age', '--one-file-system', 'gitignore', '.xtarignore']) assert.ok(h.stdout.includes(f), f);
    const ha = await xtar(['activity', '--help']);
    assert.ok(ha.stdout.includes('--exclude-caches'));
    for (const bad of [['--max-age', 'soon'], ['--exclude-regex', '('], ['--exclude-from', join(work, 'none')], ['--exclude-flag', 'a/b']]) {
      const r = await xtar(['pack', src, '--out', join(work, 'set2'), '--dry-run', ...bad]);
      assert.equal(r.status, 2, `${bad.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(bad[0] as string));
    }
  });
});
