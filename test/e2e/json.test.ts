/**
 * Every command's --json output validates against its schema in docs/json/ (docs/JSON.md): the real
 * pack, its dry run and a nothing-changed pack, unpack with and without problems, verify of a sound
 * and a damaged volume, repair, list (and --files, --obsolete), activity, expand-structure, index
 * rebuild, and a fatal error of each command. With --json the problems are in the object and stderr
 * holds at most one line; with --json --quiet nothing but a fatal sentence.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { xtar, type CliResult } from '../helpers/cli.js';
import { removeTree, seededBytes, seededText, tempDir } from '../helpers/tree.js';

const SCHEMAS = fileURLToPath(new URL('../../../docs/json/', import.meta.url));
// pack-sources refers to pack and error (by $id), so it is compiled after them.
const OUTPUTS = ['pack', 'unpack', 'verify', 'repair', 'rescue', 'list', 'list-obsolete', 'activity', 'expand-structure', 'index-rebuild', 'error', 'pack-sources'] as const;
type Output = (typeof OUTPUTS)[number];

const validators = new Map<Output, ValidateFunction>();

/** The run's JSON, checked against docs/json/<output>.schema.json; the parsed object. */
function valid(output: Output, r: CliResult): Record<string, unknown> {
  const value = JSON.parse(r.stdout) as Record<string, unknown>;
  const validate = validators.get(output)!;
  assert.ok(validate(value), `${output}: ${JSON.stringify(validate.errors, null, 2)}\n${r.stdout}`);
  if (output !== 'error') assert.equal(value.xtar, output);
  assert.equal(value.jsonVersion, 1);
  return value;
}

describe('--json output and its schemas (docs/json/)', () => {
  let work: string;
  let src: string;
  let set: string;
  let vol: string;

  before(async () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    for (const o of OUTPUTS) validators.set(o, ajv.compile(JSON.parse(await readFile(join(SCHEMAS, `${o}.schema.json`), 'utf8')) as object));
    work = await tempDir('xtar-json-');
    src = join(work, 'src');
    set = join(work, 'set');
    await mkdir(join(src, 'docs'), { recursive: true });
    for (let i = 0; i < 40; i++) await writeFile(join(src, 'docs', `n${i}.txt`), seededText(i, 3000));
    await writeFile(join(src, 'blob.bin'), seededBytes(99, 200_000));
  });
  after(() => removeTree(work));

  it('pack, its dry run and a nothing-changed pack: same names for the same facts', async () => {
    const p = await xtar(['pack', src, '--out', set, '--json', '--par2', '10']);
    assert.equal(p.status, 0, p.stderr);
    const packed = valid('pack', p);
    assert.equal(packed.dryRun, false);
    vol = (packed.volumes as { path: string }[])[0]!.path;

    await writeFile(join(src, 'docs', 'n0.txt'), 'changed');
    const d = await xtar(['pack', src, '--out', set, '--json', '--dry-run']);
    assert.equal(d.status, 0, d.stderr);
    const dry = valid('pack', d);
    assert.equal(dry.dryRun, true);
    assert.equal(dry.storedFiles, 1);
    for (const key of ['set', 'kind', 'base', 'reason', 'files', 'bytes', 'storedFiles', 'storedBytes', 'unchangedFiles', 'renamedFiles', 'deletedFiles', 'ignored', 'notes']) {
      assert.ok(key in packed && key in dry, `${key} in both a pack and a dry run`);
    }

    const inc = await xtar(['pack', src, '--out', set, '--json']);
    assert.equal(inc.status, 0, inc.stderr);
    assert.equal(valid('pack', inc).storedFiles, 1);
    const same = await xtar(['pack', src, '--out', set, '--json']);
    assert.equal(same.status, 0, same.stderr);
    assert.equal(valid('pack', same).nothingChanged, true);
  });

  it('pack of several sources: one pack-sources object, each source its pack object or its error; its dry run too', async () => {
    const other = join(work, 'other');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'x.txt'), seededText(5, 900));
    const several = join(work, 'several-set');
    const missing = join(work, 'missing');
    const p = await xtar(['pack', src, missing, other, '--out', several, '--json']);
    assert.equal(p.status, 1, p.stderr);
    const v = valid('pack-sources', p) as { status: number; sources: { source: string; pack: Record<string, unknown> | null; error: { code: string } | null }[] };
    assert.equal(v.status, 1);
    assert.deepEqual(v.sources.map((x) => [x.source, x.pack === null ? null : x.pack.kind, x.error?.code ?? null]), [[src, 'full', null], [missing, null, 'EINPUT'], [other, 'full', null]]);
    const d = await xtar(['pack', src, other, '--out', several, '--json', '--dry-run']);
    assert.equal(d.status, 0, d.stderr);
    const dry = valid('pack-sources', d) as { sources: { pack: { dryRun: boolean } }[] };
    assert.deepEqual(dry.sources.map((x) => x.pack.dryRun), [true, true]);
  });

  it('unpack, its dry run, and one with problems: the problems in the object, one line on stderr, none with -q', async () => {
    const dest = join(work, 'out');
    const u = await xtar(['unpack', set, '--dest', dest, '--json']);
    assert.equal(u.status, 0, u.stderr);
    assert.equal(valid('unpack', u).files, 41);
    const n = await xtar(['unpack', set, '--dest', dest, '--json', '--dry-run']);
    assert.equal(valid('unpack', n).dryRun, true);

    const k = await xtar(['unpack', set, '--dest', dest, '--json', '--keep-old-files']);
    assert.equal(k.status, 1, k.stderr);
    const problems = valid('unpack', k).problems as { kind: string }[];
    assert.equal(problems.length, 41);
    assert.equal(k.stderr, 'xtar: 41 problem(s), listed in the JSON on stdout\n');
    const q = await xtar(['unpack', set, '--dest', dest, '--json', '-q', '--keep-old-files']);
    assert.equal(q.status, 1);
    valid('unpack', q);
    assert.equal(q.stderr, '');
  });

  it('verify, verify of a damaged copy, and repair of it', async () => {
    const v = await xtar(['verify', set, '--json']);
    assert.equal(v.status, 0, v.stderr);
    valid('verify', v);

    const copy = join(work, 'copy');
    await cp(vol, copy, { recursive: true });
    const archive = join(copy, (await readdir(copy)).find((f) => f.endsWith('.xtar'))!);
    const buf = await readFile(archive);
    for (let i = 60_000; i < 64_000; i++) buf[i] = buf[i]! ^ 0x5a;
    await writeFile(archive, buf);
    const bad = await xtar(['verify', copy, '--json', '-q']);
    assert.equal(bad.status, 1, bad.stderr);
    assert.ok((valid('verify', bad).problems as unknown[]).length > 0);
    assert.equal(bad.stderr, '');

    const r = await xtar(['repair', copy, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(valid('repair', r).problems, []);

    const rescued = await xtar(['rescue', vol, '--to', join(work, 'rescued'), '--json']);
    assert.equal(rescued.status, 0, rescued.stderr);
    assert.equal(valid('rescue', rescued).badBytes, 0);
  });

  it('list, list --files, list --obsolete, activity, expand-structure and index rebuild', async () => {
    valid('list', await xtar(['list', set, '--json']));
    const files = valid('list', await xtar(['list', set, '--json', '--files', '*.txt']));
    assert.ok((files.backups as { fileList?: unknown[] }[]).every((b) => b.fileList !== undefined));
    valid('list-obsolete', await xtar(['list', set, '--json', '--obsolete']));
    valid('activity', await xtar(['activity', src, '--json']));
    valid('activity', await xtar(['activity', src, '--json', '--against', set]));
    const e = await xtar(['expand-structure', set, '--dest', join(work, 'out'), '--json']);
    assert.equal(e.status, 0, e.stderr);
    valid('expand-structure', e);
    const i = await xtar(['index', 'rebuild', set, '--json']);
    assert.equal(i.status, 0, i.stderr);
    valid('index-rebuild', i);
  });

  it('a fatal error of every command, and a usage error, is an error object on stdout and one sentence on stderr', async () => {
    const nowhere = join(work, 'nowhere');
    const runs: [string, string[]][] = [
      ['pack', ['pack', nowhere, '--out', set]],
      ['unpack', ['unpack', nowhere, '--dest', join(work, 'o')]],
      ['verify', ['verify', nowhere]],
      ['repair', ['repair', nowhere]],
      ['rescue', ['rescue', nowhere, '--to', join(work, 'o')]],
      ['list', ['list', nowhere]],
      ['list-obsolete', ['list', nowhere, '--obsolete']],
      ['activity', ['activity', src, '--radius', 'soon']],
      ['expand-structure', ['expand-structure', nowhere, '--dest', join(work, 'o')]],
      ['index-rebuild', ['index', 'rebuild', nowhere]],
      ['pack', ['pack', src]],
      ['xtar', ['no-such-command']],
    ];
    for (const [output, args] of runs) {
      const r = await xtar([...args, '--json']);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      const e = valid('error', r);
      assert.equal(e.xtar, output, args.join(' '));
      const error = e.error as { code: string; message: string; exitCode: number };
      assert.equal(error.exitCode, 2);
      assert.equal(r.stderr, `xtar: ${error.message}\n`, args.join(' '));
    }
    const usage = JSON.parse((await xtar(['pack', src, '--json'])).stdout) as { error: { code: string } };
    assert.equal(usage.error.code, 'EUSAGE');
    const input = JSON.parse((await xtar(['unpack', nowhere, '--dest', join(work, 'o'), '--json'])).stdout) as { error: { code: string; path?: string } };
    assert.equal(input.error.code, 'EINPUT');
  });
});
