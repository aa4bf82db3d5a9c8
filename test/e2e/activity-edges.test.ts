/**
 * The edges a person meets with `xtar activity` and with times: the newest files of a cluster are
 * listed, paths from several folders say which folder, a missing folder or chart folder is one
 * sentence (exit 2), and every command shows local time with its offset (UTC, marked, under --utc)
 * and reads a time without a zone as local — `--since`, `list`'s time column, `unpack --at`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xtar } from '../helpers/cli.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const H = 3600;
const BASE = 1_700_000_000; // 2023-11-14 22:13:20 UTC, 23:13:20 in Berlin
const BERLIN = { ...process.env, TZ: 'Europe/Berlin' };

interface J {
  clusters: { files: number; paths: string[]; dirs: { dir: string; files: number }[] }[];
}

describe('xtar activity: the edges a person meets', () => {
  let work: string;

  async function file(path: string, mtime: number): Promise<void> {
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, 'x');
    await utimes(path, mtime, mtime);
  }

  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('lists the newest files of a cluster first, ties by name, not the first by name', async () => {
    const dir = join(work, 'newest');
    // Names in the opposite order of their times; b and c changed in the same second.
    const times: [string, number][] = [['a', 0], ['b', 600], ['c', 600], ['d', 300], ['e', 60], ['f', 900], ['g', 120], ['h', 30]];
    for (const [name, dt] of times) await file(join(dir, name), BASE + dt);
    const r = await xtar(['activity', dir], { env: BERLIN });
    assert.equal(r.status, 0, r.stderr);
    const listed = r.stdout.split('\n').filter((l) => l.startsWith('    2023')).map((l) => l.slice(l.lastIndexOf(' ') + 1));
    assert.deepEqual(listed, ['f', 'b', 'c', 'd', 'g']);
    assert.match(r.stdout, /… and 3 more/);
    const j = JSON.parse((await xtar(['activity', dir, '--json'])).stdout) as J;
    assert.deepEqual(j.clusters[0]?.paths, ['f', 'b', 'c', 'd', 'g', 'e', 'h', 'a']);
  });

  it('paths from several folders begin with their folder, busiest folders too, and changes made together form one cluster', async () => {
    const one = join(work, 'multi', 'one');
    const two = join(work, 'multi', 'two');
    await file(join(one, 'sub', 'x.txt'), BASE);
    await file(join(two, 'y.txt'), BASE + 60);
    const j = JSON.parse((await xtar(['activity', one, two, '--json'])).stdout) as J;
    assert.equal(j.clusters.length, 1);
    assert.deepEqual(j.clusters[0]?.paths, ['two/y.txt', 'one/sub/x.txt']);
    assert.deepEqual(j.clusters[0]?.dirs, [{ dir: 'one/sub', files: 1 }, { dir: 'two', files: 1 }]);
    const text = (await xtar(['activity', one, two])).stdout;
    assert.match(text, /one\/sub\/ \(1\), two\/ \(1\)/);
    assert.match(text, / one\/sub\/x\.txt\n/);
    // Two folders of one name: each is named as given.
    const a = join(work, 'same', 'a', 'docs');
    const b = join(work, 'same', 'b', 'docs');
    await file(join(a, 'p.txt'), BASE);
    await file(join(b, 'q.txt'), BASE);
    const both = JSON.parse((await xtar(['activity', a, b, '--json'])).stdout) as J;
    assert.deepEqual(both.clusters[0]?.paths.sort(), [`${a}/p.txt`, `${b}/q.txt`]);
  });

  it('a folder that is not there is one sentence and exit 2, not "no files"', async () => {
    const missing = join(work, 'no', 'such', 'folder');
    for (const extra of [[], ['--json']]) {
      const r = await xtar(['activity', missing, ...extra]);
      assert.equal(r.status, 2, r.stdout);
      assert.equal(r.stderr, `xtar: ${missing} does not exist.\n`);
      // With --json a fatal error is also the error object on stdout (docs/JSON.md).
      if (extra.length === 0) assert.equal(r.stdout, '');
      else assert.deepEqual(JSON.parse(r.stdout), { xtar: 'activity', jsonVersion: 1, error: { code: 'EINPUT', message: `${missing} does not exist.`, exitCode: 2, path: missing } });
    }
  });

  it('a chart into a folder that is not there is one sentence naming the folder, exit 2', async () => {
    const dir = join(work, 'chart-src');
    await file(join(dir, 'f'), BASE);
    const r = await xtar(['activity', dir, '--html', join(work, 'nowhere', 'chart.html')]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `xtar: cannot write the chart to ${join(work, 'nowhere', 'chart.html')}: the folder ${join(work, 'nowhere')} does not exist.\n`);
    assert.doesNotMatch(r.stderr, /ENOENT/);
  });

  it('shows local time with its offset, UTC marked under --utc, and reads --since as local', async () => {
    const dir = join(work, 'times');
    await file(join(dir, 'before-midnight-utc'), BASE); // 2023-11-14 23:13:20 +01:00
    await file(join(dir, 'after-midnight-berlin'), BASE + 2 * H); // 2023-11-15 01:13:20 +01:00
    const local = await xtar(['activity', dir], { env: BERLIN });
    assert.match(local.stdout, /^2023-11-15 01:13 \+01:00 /m);
    assert.match(local.stdout, /^ {4}2023-11-14 23:13 \+01:00 {2}before-midnight-utc$/m);
    const utc = await xtar(['activity', dir, '--utc'], { env: BERLIN });
    assert.match(utc.stdout, /^2023-11-15 00:13 UTC /m);
    assert.match(utc.stdout, /^ {4}2023-11-14 22:13 UTC {2}before-midnight-utc$/m);
    // 2023-11-15 begins at 23:00 UTC on the 14th in Berlin: the 22:13 UTC file is before it.
    const since = JSON.parse((await xtar(['activity', dir, '--json', '--since', '2023-11-15'], { env: BERLIN })).stdout) as J;
    assert.deepEqual(since.clusters.flatMap((c) => c.paths), ['after-midnight-berlin']);
    const sinceUtc = JSON.parse((await xtar(['activity', dir, '--json', '--utc', '--since', '2023-11-14 23:00'], { env: BERLIN })).stdout) as J;
    assert.deepEqual(sinceUtc.clusters.flatMap((c) => c.paths), ['after-midnight-berlin']);
    const zoned = JSON.parse((await xtar(['activity', dir, '--json', '--since', '2023-11-14 23:00 +01:00'], { env: BERLIN })).stdout) as J;
    assert.deepEqual(zoned.clusters.flatMap((c) => c.paths), ['after-midnight-berlin', 'before-midnight-utc']);
  });

  it("list's times are local with the offset; unpack --at reads what list prints, a time without a zone as local, or as UTC under --utc", async () => {
    const samoa = { ...process.env, TZ: 'Pacific/Pago_Pago' }; // -11:00, no summer time: a zone-less time read as UTC is 11 h earlier
    const dir = join(work, 'at-src');
    await file(join(dir, 'f.txt'), BASE);
    const set = join(work, 'at-set');
    assert.equal((await xtar(['pack', dir, '--out', set, '--quiet'])).status, 0);
    const list = await xtar(['list', set], { env: samoa });
    assert.equal(list.status, 0, list.stderr);
    const shown = / (\d{4}-\d\d-\d\d \d\d:\d\d) -11:00 /.exec(list.stdout)?.[1];
    assert.ok(shown, `list shows local time with its offset: ${list.stdout}`);
    assert.match((await xtar(['list', set, '--utc'], { env: samoa })).stdout, / \d{4}-\d\d-\d\d \d\d:\d\d UTC /);
    for (const at of [`${shown} -11:00`, shown]) {
      const r = await xtar(['unpack', set, '--dest', join(work, `at-out-${at.length}`), '--at', at, '--quiet'], { env: samoa });
      assert.equal(r.status, 0, `--at ${at}: ${r.stderr}`);
    }
    const early = await xtar(['unpack', set, '--dest', join(work, 'at-out-utc'), '--at', shown, '--utc', '--quiet'], { env: samoa });
    assert.equal(early.status, 2, 'the same wall time read as UTC is 11 h before the backup');
    const bad = await xtar(['unpack', set, '--dest', join(work, 'at-bad'), '--at', 'yesterday']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--at "yesterday" is not a date/);
  });
});
