/**
 * `xtar pack … --from-command NAME -- CMD ARGS…` and the config's `commands:` through the real CLI:
 * the output stored as NAME of the source `command:NAME` beside a folder, `list` naming it, `unpack
 * --source command:NAME` restoring it alone; a failing command beside a good one (exit 1, its status
 * and stderr on stderr and in --json); the same output again makes no backup; the config's commands
 * and the command line's precedence; a dry run that does not run the command; usage mistakes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { xtar } from '../helpers/cli.js';
import { removeTree, tempDir } from '../helpers/tree.js';

describe('pack --from-command', () => {
  let work: string;
  let docs: string;
  before(async () => {
    work = await tempDir('xtar-from-command-');
    docs = join(work, 'docs');
    await mkdir(docs);
    await writeFile(join(docs, 'a.txt'), 'a file\n');
  });
  after(() => removeTree(work));

  it('stores the output as NAME beside a folder; list names command:NAME; unpack --source restores it alone; the same output again stores nothing', async () => {
    const set = join(work, 'set');
    const args = ['pack', docs, '--out', set, '--from-command', 'out.txt', '--', 'sh', '-c', 'printf "one\\ntwo\\n"'];
    const r = await xtar(args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^source command:out\.txt:$/m);
    const list = await xtar(['list', set]);
    assert.match(list.stdout, /of command:out\.txt$/m);
    const refused = await xtar(['unpack', set, '--dest', join(work, 'nope')]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /command:out\.txt/);
    const dest = join(work, 'r');
    const u = await xtar(['unpack', set, '--dest', dest, '--source', 'command:out.txt']);
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(await readdir(dest), ['out.txt']);
    assert.equal(await readFile(join(dest, 'out.txt'), 'utf8'), 'one\ntwo\n');

    const again = await xtar(args);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /source command:out\.txt:\nnothing changed since backup \S+: no backup made/);
    assert.deepEqual((await readdir(set)).filter((n) => n.startsWith('.xtar-tmp')), []);
  });

  it('a failing command beside a good one fails alone: exit 1, its status and stderr named, an ECOMMAND error in --json', async () => {
    const set = join(work, 'set2');
    const cfg = join(work, 'two.yaml');
    await writeFile(cfg, `out: ${set}\ncommands:\n  - {name: good.txt, command: [sh, -c, 'printf good']}\n  - {name: bad.txt, command: "echo 'no such table' >&2; exit 3"}\n`);
    const r = await xtar(['pack', '--config', cfg, '--json']);
    assert.equal(r.status, 1, r.stderr);
    const j = JSON.parse(r.stdout) as { xtar: string; status: number; sources: { source: string; pack: { root: string } | null; error: { code: string; message: string } | null }[] };
    assert.equal(j.xtar, 'pack-sources');
    assert.deepEqual(j.sources.map((s) => s.source), ['command:good.txt', 'command:bad.txt']);
    assert.equal(j.sources[0]!.pack!.root, 'good.txt');
    assert.equal(j.sources[1]!.error!.code, 'ECOMMAND');
    assert.match(j.sources[1]!.error!.message, /exited with status 3/);
    assert.match(j.sources[1]!.error!.message, /no such table/);
    const t = await xtar(['pack', '--config', cfg]);
    assert.equal(t.status, 1);
    assert.match(t.stderr, /xtar: command:bad\.txt: the command sh -c .* for bad\.txt exited with status 3; nothing was stored as bad\.txt; its stderr ended:\n  no such table/);
  });

  it('--print-config shows the commands; a source named on the command line replaces sources: and commands:', async () => {
    const set = join(work, 'set3');
    const cfg = join(work, 'c.yaml');
    await writeFile(cfg, `out: ${set}\nsources: [${docs}]\ncommands:\n  - {name: from-file.txt, command: [sh, -c, 'printf file']}\n`);
    const shown = parse((await xtar(['pack', '--config', cfg, '--print-config'])).stdout) as { sources: string[]; commands: { name: string; command: string[] }[] };
    assert.deepEqual(shown.commands, [{ name: 'from-file.txt', command: ['sh', '-c', 'printf file'] }]);
    const flag = parse((await xtar(['pack', '--config', cfg, '--print-config', '--from-command', 'x.txt', '--', 'echo', 'hi'])).stdout) as typeof shown;
    assert.deepEqual(flag.sources, []);
    assert.deepEqual(flag.commands, [{ name: 'x.txt', command: ['echo', 'hi'] }]);
    const r = await xtar(['pack', '--config', cfg, '--json', '--from-command', 'x.txt', '--', 'echo', 'hi']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { root: string }).root, 'x.txt');
  });

  it('a dry run names the command and does not run it', async () => {
    const marker = join(work, 'ran');
    const r = await xtar(['pack', docs, '--out', join(work, 'set4'), '--dry-run', '--from-command', 'm', '--', 'touch', marker]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /would run touch \S+ran and store its output as m/);
    assert.equal(existsSync(marker), false);
    const j = await xtar(['pack', '--out', join(work, 'set4'), '--dry-run', '--json', '--from-command', 'm', '--', 'touch', marker]);
    assert.equal(j.status, 0, j.stderr);
    const o = JSON.parse(j.stdout) as { dryRun: boolean; kind: string; files: number; notes: string[] };
    assert.deepEqual([o.dryRun, o.kind, o.files], [true, 'full', 1]);
    assert.match(o.notes.join('\n'), /not run in a dry run/);
    assert.equal(existsSync(marker), false);
  });

  it('--from-command without a command after `--`, or with a name that is not one file name, is a usage error', async () => {
    const set = join(work, 'set5');
    const none = await xtar(['pack', '--out', set, '--from-command', 'db.sql']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /--from-command db\.sql needs the command after `--`/);
    const slash = await xtar(['pack', '--out', set, '--from-command', '../db.sql', '--', 'true']);
    assert.equal(slash.status, 2);
    assert.match(slash.stderr, /cannot be the name of a command's output/);
    assert.equal(existsSync(set), false);
  });
});
