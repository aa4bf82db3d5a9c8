/**
 * Issue 18's unattended runs, through the real CLI: several sources in one run (each its own backup,
 * each restorable alone, a missing one a problem of its own), `--chown` on what pack writes, and the
 * one line per run of `--log`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, xtar } from '../helpers/cli.js';
import { killMidPack } from '../helpers/kill.js';
import { isRoot, removeTree, seededText, tempDir } from '../helpers/tree.js';

const EPOCH = 1_790_000_000;
const at = (sec: number) => ({ env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH + sec) } });

/** Everything below `dir`, the folder itself included. */
async function allBelow(dir: string): Promise<string[]> {
  return [dir, ...(await readdir(dir, { recursive: true })).map((p) => join(dir, p))];
}

describe('pack A B C --out SET: several sources, --chown, --log', () => {
  let work: string;
  let docs: string;
  let mail: string;
  before(async () => {
    work = await tempDir('xtar-unattended-');
    docs = join(work, 'home', 'docs');
    mail = join(work, 'srv', 'mail');
    await mkdir(join(docs, 'letters'), { recursive: true });
    await mkdir(mail, { recursive: true });
    for (let i = 0; i < 5; i++) await writeFile(join(docs, 'letters', `l${i}.txt`), seededText(i, 2000));
    await writeFile(join(mail, 'inbox.mbox'), seededText(77, 9000));
  });
  after(() => removeTree(work));

  it('each source is its own backup, listed with its folder, restorable alone; a missing one fails only itself (exit 1)', async () => {
    const set = join(work, 'set');
    const missing = join(work, 'not-there');
    const r = await xtar(['pack', docs, missing, mail, '--out', set], at(0));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`xtar: ${missing}: The source ${missing} does not exist`));
    assert.match(r.stdout, new RegExp(`source ${docs}:\\nfull backup `));
    assert.match(r.stdout, new RegExp(`source ${mail}:\\nfull backup `));

    const l = await xtar(['list', set, '--json']);
    assert.equal(l.status, 0, l.stderr);
    const backups = (JSON.parse(l.stdout) as { backups: { id: string; source: string }[] }).backups;
    assert.deepEqual(backups.map((b) => b.source), [docs, mail]);
    assert.notEqual(backups[0]!.id, backups[1]!.id);
    const text = await xtar(['list', set]);
    assert.match(text.stdout, new RegExp(`of ${docs}\\n`));
    assert.match(text.stdout, new RegExp(`of ${mail}\\n`));

    // Each restores alone: only its own files come back.
    const dest = join(work, 'restored-mail');
    const u = await xtar(['unpack', set, '--dest', dest, '--source', mail]);
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(await readdir(dest), ['mail']);
    assert.deepEqual(await readFile(join(dest, 'mail', 'inbox.mbox')), seededText(77, 9000));
    const dest2 = join(work, 'restored-docs');
    assert.equal((await xtar(['unpack', set, '--dest', dest2, '--source', docs])).status, 0);
    assert.deepEqual((await readdir(join(dest2, 'docs', 'letters'))).sort(), ['l0.txt', 'l1.txt', 'l2.txt', 'l3.txt', 'l4.txt']);

    // Every source missing: the run failed (2).
    const none = await xtar(['pack', missing, join(work, 'gone'), '--out', set], at(10));
    assert.equal(none.status, 2, none.stderr);
  });

  it('--log appends one JSON line per run: start, end, counts, outcome and exit status', async () => {
    const set = join(work, 'log-set');
    const log = join(work, 'xtar-runs.log');
    const first = await xtar(['pack', docs, mail, '--out', set, '--log', log, '--quiet'], at(100));
    assert.equal(first.status, 0, first.stderr);
    const second = await xtar(['pack', docs, join(work, 'nope'), '--out', set, '--log', log, '--quiet'], at(200));
    assert.equal(second.status, 1, second.stderr);
    const lines = (await readFile(log, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 2);
    const [a, b] = lines.map((x) => JSON.parse(x) as Record<string, unknown>);
    assert.equal(a!.status, 0);
    assert.equal(a!.outcome, 'ok');
    assert.equal(a!.sources, 2);
    assert.equal(a!.failedSources, 0);
    assert.equal(a!.storedFiles, 6);
    assert.equal((a!.backups as string[]).length, 2);
    assert.equal((a!.volumes as string[]).length, 2);
    assert.equal(a!.mail, 'none');
    assert.ok(Date.parse(a!.start as string) <= Date.parse(a!.end as string));
    assert.equal(b!.status, 1);
    assert.equal(b!.outcome, 'problems');
    assert.equal(b!.failedSources, 1);
    assert.equal(b!.storedFiles, 0, 'docs unchanged: nothing stored');
    assert.match((b!.errors as string[])[0]!, /nope: The source .* does not exist/);

    // A run an error ends before any backup (usage errors aside) is logged too, with its error.
    await writeFile(join(set, 'xtar-set.json'), 'not json');
    const broken = await xtar(['pack', docs, '--out', set, '--log', log, '--quiet'], at(300));
    assert.equal(broken.status, 2, broken.stderr);
    const third = JSON.parse((await readFile(log, 'utf8')).trimEnd().split('\n')[2]!) as Record<string, unknown>;
    assert.equal(third.status, 2);
    assert.equal(third.outcome, 'failed');
    assert.deepEqual((third.errors as string[]).length, 1);
    assert.match((third.errors as string[])[0]!, new RegExp(`^${docs}: `));
  });

  it('--chown UID:GID gives the set folder, its files and the new volumes to that owner', { skip: !isRoot && 'needs root to chown' }, async () => {
    const set = join(work, 'chown-set');
    const r = await xtar(['pack', docs, mail, '--out', set, '--chown', '4321:8765', '--quiet'], at(400));
    assert.equal(r.status, 0, r.stderr);
    const everything = await allBelow(set);
    assert.ok(everything.length > 10);
    for (const p of everything) {
      const st = await stat(p);
      assert.deepEqual([st.uid, st.gid], [4321, 8765], p);
    }
    // A later run hands over its own volumes; UID alone keeps the group.
    await writeFile(join(docs, 'new.txt'), 'new');
    const r2 = await xtar(['pack', docs, '--out', set, '--chown', '999', '--quiet'], at(500));
    assert.equal(r2.status, 0, r2.stderr);
    const fresh = (await readdir(set)).filter((n) => n.includes('-vol')).sort().at(-1)!;
    for (const p of await allBelow(join(set, fresh))) assert.deepEqual([(await stat(p)).uid, (await stat(p)).gid], [999, 0], p);
    assert.equal((await stat(join(set, 'xtar-index.sqlite'))).uid, 999);
  });

  it('a run SIGINT ends is logged too: status 130, outcome interrupted, the error, the sources not reached', async () => {
    const big = join(work, 'big');
    await mkdir(big);
    // Compressible data at level 9 is slow enough that the signal lands mid-pack (as test/e2e/interrupt.test.ts).
    for (let i = 0; i < 60; i++) await writeFile(join(big, `f${i}.txt`), seededText(i, 1024 * 1024));
    const set = join(work, 'int-set');
    const log = join(work, 'int.log');
    const child = spawn(process.execPath, [CLI, 'pack', big, docs, '--out', set, '--jobs', '1', '--level', '9', '--log', log, '--quiet'], { stdio: 'ignore' });
    const r = await killMidPack(child, set, 'SIGINT', { afterMs: 50 });
    assert.equal(r.status, 130);
    const line = JSON.parse(await readFile(log, 'utf8')) as Record<string, unknown>;
    assert.equal(line.status, 130);
    assert.equal(line.outcome, 'interrupted');
    assert.match(line.error as string, /Interrupted by SIGINT/);
    assert.equal(line.sources, 2);
    assert.deepEqual(line.backups, []);
  });

  it('--chown takes numbers only', async () => {
    const r = await xtar(['pack', docs, '--out', join(work, 'x'), '--chown', 'alice']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--chown takes UID or UID:GID as numbers/);
  });
});
