/**
 * Showing activity: a timeline on the terminal (a bar per cluster, scaled to its files), the JSON of
 * --json, and a self-contained HTML page (no network, no script) whose chart is read first: one bar
 * per cluster on an ordinal time axis (oldest left; the gaps between clusters are drawn alike and
 * labelled with their length, so a minute-long cluster is as wide as a week-long one), each bar
 * labelled with its files, bytes, when and its busiest folders, in the colour of its row in the table.
 * Times follow src/util/time.ts: local with the offset, or UTC marked; JSON stays ISO 8601 UTC.
 */
import type { ActivityFile, Cluster } from './cluster.js';
import { humanBytes } from '../util/human.js';
import { formatClock, formatDate, formatTime, type TimeZoneChoice } from '../util/time.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

const human = humanBytes;

export function clustersJson(clusters: readonly Cluster[], deleted?: readonly ActivityFile[]): unknown {
  return {
    clusters: clusters.map((c) => ({
      start: iso(c.start),
      end: iso(c.end),
      files: c.files,
      bytes: c.bytes,
      paths: c.paths.map((p) => p.path),
      dirs: c.dirs,
      ...(c.paths.some((p) => p.change) ? { changes: c.paths.map((p) => ({ path: p.path, change: p.change })) } : {}),
    })),
    ...(deleted ? { deleted: deleted.map((d) => d.path) } : {}),
  };
}

/** `2026-11-23 08:23 +01:00 – 09:40 +01:00`, the end's date only when it differs. */
export function span(c: Cluster, zone: TimeZoneChoice = {}): string {
  const a = formatTime(c.start, zone);
  const b = formatTime(c.end, zone);
  if (a === b) return a;
  return `${a} – ${formatDate(c.start, zone) === formatDate(c.end, zone) ? formatClock(c.end, zone) : b}`;
}

export function clustersText(clusters: readonly Cluster[], zone: TimeZoneChoice = {}, width = 30): string {
  if (clusters.length === 0) return 'no files\n';
  const most = Math.max(...clusters.map((c) => c.files));
  const spanWidth = Math.max(...clusters.map((c) => span(c, zone).length));
  const lines: string[] = [];
  for (const c of clusters) {
    const bar = '█'.repeat(Math.max(1, Math.round((width * c.files) / most)));
    const where = c.dirs.map((d) => `${d.dir}/ (${d.files})`).join(', ');
    lines.push(`${span(c, zone).padEnd(spanWidth)} ${bar.padEnd(width)} ${String(c.files).padStart(7)} ${c.files === 1 ? 'file ' : 'files'} ${human(c.bytes).padStart(10)}  ${where}`);
    for (const p of c.paths) lines.push(`    ${p.change ? `${p.change.padEnd(9)}` : ''}${formatTime(p.mtimeMs, zone)}  ${p.path}`);
    if (c.paths.length < c.files) lines.push(`    … and ${c.files - c.paths.length} more`);
  }
  return `${lines.join('\n')}\n`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The colour of the cluster at index i (newest first): the same in the chart, the legend and the table. */
export const CLUSTER_COLOURS = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b83280', '#2c7a7b', '#975a16', '#c53030'] as const;
export function clusterColour(i: number): string {
  return CLUSTER_COLOURS[i % CLUSTER_COLOURS.length] as string;
}

/** A gap's length in one short unit that fits between two bars: `+45m`, `+3h`, `+12d`, `+5mo`, `+2y`. */
export function gapLabel(ms: number): string {
  const min = ms / 60_000;
  if (min < 59.5) return `+${Math.max(1, Math.round(min))}m`;
  const h = min / 60;
  if (h < 47.5) return `+${Math.round(h)}h`;
  const d = h / 24;
  if (d < 59.5) return `+${Math.round(d)}d`;
  if (d < 350) return `+${Math.round(d / 30.44)}mo`;
  return `+${Math.max(1, Math.round(d / 365.25))}y`;
}

/** The end of a path that fits `chars` characters (the end names the folder). */
function tail(s: string, chars: number): string {
  return s.length <= chars ? s : `…${s.slice(s.length - chars + 1)}`;
}

/** Clusters drawn at most; the table lists them all. */
export const CHART_CLUSTERS = 60;
const SLOT = 104;
const BAR = 64;

/** A self-contained page: the chart (what a person reads first), its legend, and the table of clusters. */
export function clustersHtml(clusters: readonly Cluster[], title: string, zone: TimeZoneChoice = {}): string {
  const shown = clusters.slice(0, CHART_CLUSTERS).map((c, i) => ({ c, i })).reverse(); // oldest left
  const pad = { l: 56, r: 24, t: 44, b: 80 };
  const plotH = 240;
  const W = Math.max(640, pad.l + shown.length * SLOT + pad.r);
  const H = pad.t + plotH + pad.b;
  const axisY = pad.t + plotH;
  const most = Math.max(1, ...shown.map(({ c }) => c.files));
  const barH = (n: number): number => Math.max(4, (n / most) * plotH);
  const slotX = (k: number): number => pad.l + k * SLOT;
  const bars = shown
    .map(({ c, i }, k) => {
      const x = slotX(k) + (SLOT - BAR) / 2;
      const mid = slotX(k) + SLOT / 2;
      const h = barH(c.files);
      const colour = clusterColour(i);
      const folderLines = c.dirs
        .slice(0, 2)
        .map((d, j) => `<text class="label-folder" x="${mid}" y="${axisY + 50 + j * 13}" text-anchor="middle" font-size="10" fill="#4a5568">${esc(tail(`${d.dir}/ (${d.files})`, 17))}</text>`)
        .join('');
      const tip = `#${i + 1}  ${span(c, zone)}: ${c.files} files, ${human(c.bytes)}; busiest: ${c.dirs.map((d) => `${d.dir}/ (${d.files})`).join(', ')}`;
      return `<g class="cluster" data-cluster="${i + 1}" data-files="${c.files}" data-start="${iso(c.start)}"><title>${esc(tip)}</title>
<rect class="bar" x="${x}" y="${(axisY - h).toFixed(1)}" width="${BAR}" height="${h.toFixed(1)}" fill="${colour}" rx="2"/>
<text class="label-files" x="${mid}" y="${(axisY - h - 18).toFixed(1)}" text-anchor="middle" font-size="12" font-weight="600" fill="#1a202c">${c.files} ${c.files === 1 ? 'file' : 'files'}</text>
<text class="label-bytes" x="${mid}" y="${(axisY - h - 5).toFixed(1)}" text-anchor="middle" font-size="10" fill="#4a5568">${esc(human(c.bytes))}</text>
<text class="label-when" x="${mid}" y="${axisY + 16}" text-anchor="middle" font-size="11" fill="#1a202c"><tspan font-weight="600" fill="${colour}">#${i + 1}</tspan> ${esc(formatDate(c.start, zone))}</text>
<text class="label-clock" x="${mid}" y="${axisY + 30}" text-anchor="middle" font-size="10" fill="#1a202c">${esc(formatClock(c.start, zone))}</text>
${folderLines}</g>`;
    })
    .join('\n');
  // Between neighbours: a break in the axis and the real length of the gap.
  const gaps = shown
    .slice(1)
    .map(({ c }, k) => {
      const prev = (shown[k] as { c: Cluster }).c;
      const gx = slotX(k + 1);
      return `<g class="gap"><path d="M${gx - 5} ${axisY + 5} l6 -10 M${gx - 1} ${axisY + 5} l6 -10" stroke="#718096" stroke-width="1.5"/><text x="${gx}" y="${axisY - 8}" text-anchor="middle" font-size="10" fill="#718096">${esc(gapLabel(c.start - prev.end))}</text></g>`;
    })
    .join('\n');
  const yTicks = [0, Math.round(most / 2), most]
    .filter((n, j, all) => all.indexOf(n) === j)
    .map((n) => {
      const y = axisY - (n === 0 ? 0 : barH(n));
      return `<line x1="${pad.l}" x2="${W - pad.r}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#edf2f7"/><text x="${pad.l - 8}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#4a5568">${n}</text>`;
    })
    .join('');
  const zoneNote = zone.timeZone === undefined ? 'local time, offset from UTC shown' : `time zone ${zone.timeZone}`;
  const rows = clusters
    .map((c, i) => {
      const colour = clusterColour(i);
      return `<tr data-cluster="${i + 1}" style="border-left:6px solid ${colour}"><td><span class="sw" style="background:${colour}"></span>#${i + 1}</td><td>${esc(formatTime(c.start, zone))}</td><td>${esc(formatTime(c.end, zone))}</td><td>${c.files}</td><td>${esc(human(c.bytes))}</td><td>${esc(c.dirs.map((d) => `${d.dir}/ (${d.files})`).join(', '))}</td></tr>`;
    })
    .join('\n');
  const total = clusters.reduce((n, c) => n + c.files, 0);
  const cut = clusters.length > CHART_CLUSTERS ? ` The chart shows the newest ${CHART_CLUSTERS} of the ${clusters.length} clusters; the table lists them all.` : '';
  const chart =
    clusters.length === 0
      ? '<p>No files changed in the period asked for.</p>'
      : `<div class="legend" id="legend">
<span><span class="sw" style="background:${clusterColour(0)}"></span><span class="sw" style="background:${clusterColour(1)}"></span><span class="sw" style="background:${clusterColour(2)}"></span> one bar per cluster, its colour and number (#1 is the newest) as in the table below</span>
<span><b>bar height</b>: files changed in the cluster (count and size above it)</span>
<span><b>under each bar</b>: when the cluster began (${esc(zoneNote)}) and its busiest folders</span>
<span><svg width="16" height="12" aria-hidden="true"><path d="M3 11 l6 -10 M7 11 l6 -10" stroke="#718096" stroke-width="1.5"/></svg> clusters in time order, oldest left; the gaps between them are not to scale and say how long they were</span>
</div>
<div class="chart-wrap"><svg id="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="files changed per cluster, in time order">
${yTicks}
<line x1="${pad.l}" y1="${axisY}" x2="${W - pad.r}" y2="${axisY}" stroke="#4a5568"/>
<line x1="${pad.l}" y1="${pad.t - 10}" x2="${pad.l}" y2="${axisY}" stroke="#4a5568"/>
${bars}
${gaps}
<text x="14" y="${pad.t + plotH / 2}" text-anchor="middle" font-size="12" fill="#4a5568" transform="rotate(-90 14 ${pad.t + plotH / 2})">files</text>
</svg></div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#1a202c}table{border-collapse:collapse;margin-top:16px}td,th{padding:4px 10px;border-bottom:1px solid #e2e8f0;text-align:left}td:nth-child(-n+5){white-space:nowrap}.chart-wrap{overflow-x:auto}svg#chart{background:#fff;border:1px solid #e2e8f0}.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}.legend{display:flex;flex-wrap:wrap;gap:6px 24px;margin:8px 0 12px;font-size:13px;color:#2d3748}</style>
</head><body>
<h1>${esc(title)}</h1>
<p>${total} files in ${clusters.length} clusters.${cut}</p>
${chart}
<table><thead><tr><th>cluster</th><th>start</th><th>end</th><th>files</th><th>bytes</th><th>busiest folders</th></tr></thead><tbody>
${rows}
</tbody></table>
</body></html>
`;
}
