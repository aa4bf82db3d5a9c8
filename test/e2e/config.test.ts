/**
 * `pack --config FILE` through the real CLI: the documented example loads, a config's sources, set
 * and options make the backup, flags override the file (sources too), an unknown key is refused with
 * its name and line, and --print-config shows the effective configuration with the password masked.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { xtar } from '../helpers/cli.js';
import { removeTree, seededText, tempDir } from '../helpers/tree.js';

const EXAMPLE = fileURLToPath(new URL('../../../docs/config.example.yaml', import.meta.url));

describe('pack --config FILE', () => {
  let work: string;
  let a: string;
  let b: string;
  before(async () => {
    work = await tempDir('xtar-config-');
    a = join(work, 'a');
    b = join(work, 'b');
    await mkdir(a);
    await mkdir(b);
    await writeFile(join(a, 'one.txt'), seededText(1, 5000));
    await writeFile(join(b, 'two.txt'), seededText(2, 5000));
  });
  after(() => removeTree(work));

  it('the documented example (docs/config.example.yaml) loads: every key is one pack knows', async () => {
    const r = await xtar(['pack', '--config', EXAMPLE, '--print-config']);
    assert.equal(r.status, 0, r.stderr);
    const shown = parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(shown.sources, ['/home/ann/documents', '/srv/www']);
    assert.equal(shown.out, '/media/backup');
    assert.equal(shown.mode, 'cyclic');
    assert.equal(shown.split, 7);
    assert.equal(shown['volume-size'], 'dvd');
    assert.deepEqual(shown.exclude, ['*.tmp', 'node_modules', '.cache']);
    assert.equal((shown.mail as { to: string[] }).to.length, 2);
    // Every key of the example is also a flag of `xtar pack --help`, so the example keeps up with pack.
    const help = (await xtar(['pack', '--help'])).stdout;
    const example = parse(await readFile(EXAMPLE, 'utf8')) as Record<string, unknown>;
    for (const key of Object.keys(example).filter((k) => k !== 'sources' && k !== 'commands' && k !== 'mail')) assert.match(help, new RegExp(`--${key}\\b`), key);
  });

  it("a config's sources, set and options make the backups; flags override it, sources named replace sources:", async () => {
    const set = join(work, 'set');
    const cfg = join(work, 'c.yaml');
    await writeFile(cfg, `sources:\n  - ${a}\n  - ${b}\nout: ${set}\nlevel: 0\nexclude: ['*.skip']\n`);
    await writeFile(join(a, 'x.skip'), 'left out');
    const r = await xtar(['pack', '--config', cfg, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    const l = JSON.parse((await xtar(['list', set, '--json', '--files'])).stdout) as { backups: { source: string; fileList: { path: string }[] }[] };
    assert.deepEqual(l.backups.map((x) => x.source), [a, b]);
    assert.deepEqual(l.backups[0]!.fileList.map((f) => f.path), ['a/one.txt'], 'exclude from the config');

    // Flags over the file: --level 9 beats level: 0, a source named beats sources:, --out beats out:.
    const p = await xtar(['pack', '--config', cfg, '--print-config', '--level', '9', b, '-o', join(work, 'other')]);
    assert.equal(p.status, 0, p.stderr);
    const shown = parse(p.stdout) as Record<string, unknown>;
    assert.equal(shown.level, 9);
    assert.deepEqual(shown.sources, [b]);
    assert.equal(shown.out, join(work, 'other'));
    assert.deepEqual(shown.exclude, ['*.skip'], 'what no flag gave still comes from the file');
    // A flag given with its default value still wins over the file.
    const d = parse((await xtar(['pack', '--config', cfg, '--print-config', '-l', '6'])).stdout) as Record<string, unknown>;
    assert.equal(d.level, 6);
  });

  it("the keys are pack's own options, as --help lists them: every one, and nothing else", async () => {
    const cfg = join(work, 'keys.yaml');
    await writeFile(cfg, 'no-such-option: 1\n');
    const r = await xtar(['pack', '--config', cfg]);
    assert.equal(r.status, 2);
    const keys = /the keys are: (.*)\)/.exec(r.stderr)![1]!.split(', ').sort();
    const help = (await xtar(['pack', '--help'])).stdout;
    const options = help.slice(0, help.indexOf('Examples:'));
    const flags = [...options.matchAll(/^\s+(?:-\w, )?--([a-z][a-z0-9-]*)/gm)].map((m) => m[1]!);
    // --from-command takes its command after `--`: in the file it is the `commands:` list.
    const expected = flags.filter((f) => !['help', 'version', 'config', 'print-config', 'from-command'].includes(f));
    assert.deepEqual(keys, [...expected, 'commands', 'mail', 'sources'].sort());
  });

  it('an unknown key is an error naming the key and its line (exit 2), as is a value of the wrong type', async () => {
    const cfg = join(work, 'bad.yaml');
    await writeFile(cfg, `out: ${join(work, 's2')}\nsources: [${a}]\n# a comment\nexclude-from-typo: x\n`);
    const r = await xtar(['pack', '--config', cfg]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`xtar: ${cfg}:4: unknown key "exclude-from-typo"`));
    await writeFile(cfg, `out: ${join(work, 's2')}\npar2: lots\n`);
    const t = await xtar(['pack', '--config', cfg, a]);
    assert.equal(t.status, 2);
    assert.match(t.stderr, new RegExp(`${cfg}:2: par2 is a number, not "lots"`));
    const missing = await xtar(['pack', '--config', join(work, 'none.yaml')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /none\.yaml: no such file/);
  });

  it('--print-config never shows the password: one in the file is masked, one in the environment is not read', async () => {
    const cfg = join(work, 'mail.yaml');
    await writeFile(cfg, `out: /set\nmail:\n  host: smtp.example.org\n  from: b@example.org\n  to: [a@example.org]\n  user: b\n  password: s3cr3t-in-file\n`);
    const r = await xtar(['pack', '--config', cfg, '--print-config']);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /s3cr3t/);
    assert.equal((parse(r.stdout) as { mail: { password: string } }).mail.password, '********');
    await writeFile(cfg, `out: /set\nmail:\n  host: smtp.example.org\n  from: b@example.org\n  to: [a@example.org]\n  user: b\n  passwordEnv: XTAR_TEST_PW\n`);
    const e = await xtar(['pack', '--config', cfg, '--print-config'], { env: { ...process.env, XTAR_TEST_PW: 'env-s3cr3t' } });
    assert.doesNotMatch(e.stdout, /env-s3cr3t/);
    assert.match(e.stdout, /passwordEnv: XTAR_TEST_PW/);
  });

  it('without sources or --out, anywhere, pack says what it needs', async () => {
    const r = await xtar(['pack', '--out', join(work, 's3')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Name the folder\(s\) to back up/);
    const o = await xtar(['pack', a]);
    assert.equal(o.status, 2);
    assert.match(o.stderr, /--out needs a folder/);
  });
});
