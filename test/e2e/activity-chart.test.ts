/**
 * The activity page's chart is what a person reads first: measured in headless Chromium after
 * layout, every cluster's bar is at least 8 px wide, no two overlap, each is labelled with its files
 * and when it began, its colour is its table row's, and the screenshot shows each bar that wide.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xtar } from '../helpers/cli.js';
import { removeTree, tempDir } from '../helpers/tree.js';
import { decodePng, findChromium, headless } from '../activity/png.js';

const H = 3600;
const BASE = 1_700_000_000;

interface Measured {
  cluster: string;
  x: number;
  y: number;
  w: number;
  h: number;
  fill: string;
  files: string;
  when: string;
  folders: string[];
  label: { x: number; w: number };
  row: string | null;
  legend: boolean;
}

/** Runs after layout inside the page; leaves its measurements in <pre id="measured">. */
const MEASURE = `<script>addEventListener('load', () => {
  const legend = document.getElementById('legend');
  const out = [...document.querySelectorAll('#chart g.cluster')].map((g) => {
    const rect = g.querySelector('.bar') || g.querySelector('rect:last-of-type'); // any page: measure what is drawn
    const bar = rect.getBoundingClientRect();
    const lab = g.querySelector('.label-files');
    const row = document.querySelector('tr[data-cluster="' + g.dataset.cluster + '"]');
    const lr = lab ? lab.getBoundingClientRect() : { x: 0, width: 0 };
    return { cluster: g.dataset.cluster, x: bar.x, y: bar.y, w: bar.width, h: bar.height, fill: getComputedStyle(rect).fill,
      files: lab ? lab.textContent : '', when: g.querySelector('.label-when')?.textContent ?? '', folders: [...g.querySelectorAll('.label-folder')].map((t) => t.textContent),
      label: { x: lr.x, w: lr.width }, row: row ? getComputedStyle(row).borderLeftColor : null, legend: !!legend && legend.getBoundingClientRect().height > 0 };
  });
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(out);
  document.body.append(pre);
});</script>`;

function rgb(css: string): [number, number, number] {
  const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(css);
  assert.ok(m, `a colour: ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

describe('xtar activity --html: the chart', () => {
  let work: string;
  let dir: string;

  before(async () => {
    work = await tempDir();
    dir = join(work, 'disk');
    // One cluster a year back, then six within a day, 2 h apart (radius 1 h): on a linear axis the
    // six would share a few pixels.
    const at: [string, number, number][] = [['archive/old.txt', 1, BASE - 365 * 24 * H]];
    for (let k = 0; k < 6; k++) at.push([`work/day${k}/f`, 1 + k * 7, BASE + k * 2 * H]);
    for (const [rel, count, mtime] of at) {
      for (let i = 0; i < count; i++) {
        const p = join(dir, `${rel}${i}.txt`);
        await mkdir(join(p, '..'), { recursive: true });
        await writeFile(p, 'x');
        await utimes(p, mtime + i, mtime + i);
      }
    }
  });
  after(async () => {
    await removeTree(work);
  });

  it('gives every cluster a labelled bar at least 8 px wide, none overlapping, coloured as its row', async (t) => {
    const chromium = findChromium();
    if (chromium === undefined) {
      t.skip('no Chromium here (.ci/run installs it)');
      return;
    }
    const env = { ...process.env, TZ: 'Europe/Berlin' };
    const html = join(work, 'activity.html');
    const r = await xtar(['activity', dir, '--html', html, '--quiet'], { env });
    assert.equal(r.status, 0, r.stderr);
    const clusters = (JSON.parse((await xtar(['activity', dir, '--json'], { env })).stdout) as { clusters: { files: number }[] }).clusters;
    assert.equal(clusters.length, 7);
    const page = await readFile(html, 'utf8');
    assert.doesNotMatch(page, /https?:\/\/(?!www\.w3\.org)/, 'self-contained: no network');
    const probe = join(work, 'probe.html');
    await writeFile(probe, page.replace('</body>', `${MEASURE}</body>`));
    const dom = spawnSync(chromium, [...headless(join(work, 'profile1'), '--virtual-time-budget=5000', '--dump-dom'), `file://${probe}`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(dom.status, 0, dom.stderr);
    const json = /<pre id="measured">([^<]*)<\/pre>/.exec(dom.stdout)?.[1];
    assert.ok(json, 'the page was measured');
    const bars = (JSON.parse(json.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')) as Measured[]).sort((a, b) => a.x - b.x);
    assert.equal(bars.length, clusters.length, 'a bar for every cluster');
    for (const [k, b] of bars.entries()) {
      assert.ok(b.w >= 8, `cluster #${b.cluster} is ${b.w} px wide`);
      assert.ok(b.h >= 4, `cluster #${b.cluster} is ${b.h} px tall`);
      const next = bars[k + 1];
      if (next) {
        assert.ok(b.x + b.w <= next.x, `bars #${b.cluster} and #${next.cluster} do not overlap`);
        assert.ok(b.label.x + b.label.w <= next.label.x, `the labels of #${b.cluster} and #${next.cluster} do not overlap`);
      }
      const files = clusters[Number(b.cluster) - 1]?.files;
      assert.equal(b.files, `${files} ${files === 1 ? 'file' : 'files'}`);
      assert.match(b.when, new RegExp(`^#${b.cluster} \\d{4}-\\d\\d-\\d\\d$`));
      assert.ok(b.folders.length > 0 && b.folders.every((f) => /\/ \(\d+\)$/.test(f)), `#${b.cluster} names its busiest folders: ${b.folders.join(', ')}`);
      assert.equal(b.row, b.fill, `#${b.cluster}'s bar has its table row's colour`);
    }
    assert.ok(bars[0]?.legend, 'a legend is shown');
    assert.deepEqual(bars.map((b) => b.cluster), ['7', '6', '5', '4', '3', '2', '1'], 'oldest left, #1 the newest');
    // And the picture: each bar's colour is painted at least 8 px wide across its middle.
    const shot = join(work, 'shot.png');
    const s = spawnSync(chromium, [...headless(join(work, 'profile2'), `--screenshot=${shot}`), `file://${html}`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(s.status, 0, s.stderr);
    if (process.env.XTAR_KEEP_SHOT) await writeFile(process.env.XTAR_KEEP_SHOT, await readFile(shot));
    const png = decodePng(await readFile(shot));
    for (const b of bars) {
      const [r0, g0, b0] = rgb(b.fill);
      const y = Math.round(b.y + b.h / 2);
      let painted = 0;
      for (let x = Math.floor(b.x) - 2; x <= Math.ceil(b.x + b.w) + 2; x++) {
        const i = (y * png.width + x) * png.channels;
        if (Math.abs((png.pixels[i] as number) - r0) + Math.abs((png.pixels[i + 1] as number) - g0) + Math.abs((png.pixels[i + 2] as number) - b0) < 30) painted++;
      }
      assert.ok(painted >= 8, `cluster #${b.cluster}: ${painted} px of its colour across the screenshot`);
    }
  });
});
