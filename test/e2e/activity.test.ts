/**
 * xtar activity on files whose mtimes are set here: clusters split exactly at the radius, newest
 * first, counts and bytes right, --since filters, --against lists new/modified/deleted, pack
 * --since-cluster packs only the newest clusters, and the HTML chart renders in headless Chromium.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xtar } from '../helpers/cli.js';
import { removeTree, tempDir } from '../helpers/tree.js';
import { decodePng, findChromium, headless } from '../activity/png.js';

const H = 3600;
const BASE = 1_700_000_000;

interface J {
  clusters: { start: string; end: string; files: number; bytes: number; paths: string[]; dirs: { dir: string; files: number }[]; changes?: { path: string; change: string }[] }[];
  deleted?: string[];
}

describe('xtar activity', () => {
  let work: string;
  let dir: string;

  async function file(rel: string, bytes: number, mtime: number): Promise<void> {
    const p = join(dir, rel);
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, Buffer.alloc(bytes, 0x61));
    await utimes(p, mtime, mtime);
  }

  before(async () => {
    work = await tempDir();
    dir = join(work, 'disk');
    await file('old/a.txt', 100, BASE);
    await file('old/b.txt', 200, BASE + H - 1); // radius − 1 s after a: same cluster
    await file('mid/c.txt', 300, BASE + H - 1 + H + 1); // radius + 1 s after b: a new cluster
    await file('mid/d.txt', 400, BASE + 2 * H + H); // exactly the radius after c: same cluster
    await file('new/e.txt', 500, BASE + 10 * 24 * H);
  });
  after(async () => {
    await removeTree(work);
  });

  it('clusters split exactly at the radius, newest first, with counts, bytes and folders', async () => {
    const r = await xtar(['activity', dir, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as J;
    assert.deepEqual(j.clusters.map((c) => c.paths.sort()), [['new/e.txt'], ['mid/c.txt', 'mid/d.txt'], ['old/a.txt', 'old/b.txt']]);
    assert.deepEqual(j.clusters.map((c) => [c.files, c.bytes]), [[1, 500], [2, 700], [2, 300]]);
    assert.equal(j.clusters[2]?.start, new Date(BASE * 1000).toISOString());
    assert.equal(j.clusters[2]?.end, new Date((BASE + H - 1) * 1000).toISOString());
    assert.deepEqual(j.clusters[1]?.dirs, [{ dir: 'mid', files: 2 }]);
    const text = await xtar(['activity', dir, '--radius', '1h']);
    assert.match(text.stdout, /█/);
    assert.match(text.stdout, /2 files/);
  });

  it('--since filters by a date or a duration', async () => {
    const r = await xtar(['activity', dir, '--json', '--since', new Date((BASE + 2 * H) * 1000).toISOString()]);
    const j = JSON.parse(r.stdout) as J;
    assert.deepEqual(j.clusters.map((c) => c.files), [1, 2]);
    const none = JSON.parse((await xtar(['activity', dir, '--json', '--since', '1h'])).stdout) as J;
    assert.deepEqual(none.clusters, []);
  });

  it('--against a set lists new, modified and deleted files', async () => {
    const set = join(work, 'set');
    assert.equal((await xtar(['pack', dir, '--out', set, '--quiet'])).status, 0);
    await file('old/a.txt', 150, BASE + 20 * 24 * H); // modified
    await rm(join(dir, 'old/b.txt')); // deleted
    await file('new/f.txt', 10, BASE + 20 * 24 * H + 60); // new
    const r = await xtar(['activity', dir, '--against', set, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as J;
    assert.equal(j.clusters.length, 1);
    assert.deepEqual(j.clusters[0]?.changes?.sort((a, b) => a.path.localeCompare(b.path)), [
      { path: 'new/f.txt', change: 'new' },
      { path: 'old/a.txt', change: 'modified' },
    ]);
    assert.deepEqual(j.deleted, ['old/b.txt']);
  });

  it('pack --since-cluster 1 packs only the newest cluster', async () => {
    const set = join(work, 'set-recent');
    const p = await xtar(['pack', dir, '--out', set, '--since-cluster', '1', '--json']);
    assert.equal(p.status, 0, p.stderr);
    assert.equal((JSON.parse(p.stdout) as { files: number }).files, 2);
    const out = join(work, 'recent');
    assert.equal((await xtar(['unpack', set, '--dest', out])).status, 0);
    const listed = execFileSync('find', [out, '-type', 'f'], { encoding: 'utf8' }).trim().split('\n').map((l) => l.slice(out.length + 1)).sort();
    assert.deepEqual(listed, ['disk/new/f.txt', 'disk/old/a.txt']);
  });

  it('the HTML page renders in headless Chromium with the chart visible', async (t) => {
    const chromium = findChromium();
    if (chromium === undefined) {
      t.skip('no Chromium here (.ci/run installs it)');
      return;
    }
    const html = join(work, 'activity.html');
    assert.equal((await xtar(['activity', dir, '--html', html, '--quiet'])).status, 0);
    const page = await readFile(html, 'utf8');
    assert.doesNotMatch(page, /https?:\/\//, 'self-contained: no network');
    const shot = join(work, 'shot.png');
    const r = spawnSync(chromium, [...headless(join(work, 'profile'), `--screenshot=${shot}`), `file://${html}`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const png = decodePng(await readFile(shot));
    assert.equal(png.width, 1024);
    // Count coloured pixels (the cluster bars) in the chart's area.
    let coloured = 0;
    for (let y = 100; y < 500; y++) {
      for (let x = 24; x < 1000; x++) {
        const i = (y * png.width + x) * png.channels;
        const [r0, g0, b0] = [png.pixels[i] as number, png.pixels[i + 1] as number, png.pixels[i + 2] as number];
        if (Math.max(r0, g0, b0) - Math.min(r0, g0, b0) > 60) coloured++;
      }
    }
    assert.ok(coloured > 500, `the chart shows its bars (${coloured} coloured pixels)`);
  });
});
