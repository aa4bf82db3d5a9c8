/**
 * Showing activity: a timeline on the terminal (a bar per cluster, scaled to its files), the JSON of
 * --json, and a self-contained HTML page with an SVG chart (time across, files up, each cluster a
 * highlighted band) that needs no network.
 */
import type { ActivityFile, Cluster } from './cluster.js';
import { humanBytes } from '../util/human.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function short(ms: number): string {
  return iso(ms).slice(0, 16).replace('T', ' ');
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

export function clustersText(clusters: readonly Cluster[], width = 30): string {
  if (clusters.length === 0) return 'no files\n';
  const most = Math.max(...clusters.map((c) => c.files));
  const lines: string[] = [];
  for (const c of clusters) {
    const bar = '█'.repeat(Math.max(1, Math.round((width * c.files) / most)));
    const span = short(c.start) === short(c.end) ? short(c.start) : `${short(c.start)} – ${short(c.end).slice(c.start - c.end < 86_400_000 && short(c.start).slice(0, 10) === short(c.end).slice(0, 10) ? 11 : 0)}`;
    const where = c.dirs.map((d) => `${d.dir}/ (${d.files})`).join(', ');
    lines.push(`${span.padEnd(36)} ${bar.padEnd(width)} ${String(c.files).padStart(7)} files ${human(c.bytes).padStart(10)}  ${where}`);
    for (const p of c.paths) lines.push(`    ${p.change ? `${p.change.padEnd(9)}` : ''}${short(p.mtimeMs)}  ${p.path}`);
    if (c.paths.length < c.files) lines.push(`    … and ${c.files - c.paths.length} more`);
  }
  return `${lines.join('\n')}\n`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** A self-contained page: summary, an SVG chart of files over time with each cluster highlighted, and the clusters. */
export function clustersHtml(clusters: readonly Cluster[], title: string): string {
  const W = 960;
  const H = 360;
  const pad = { l: 60, r: 50, t: 20, b: 50 };
  const t0 = Math.min(...clusters.map((c) => c.start), Date.now());
  const t1 = Math.max(...clusters.map((c) => c.end), t0 + 1);
  const most = Math.max(1, ...clusters.map((c) => c.files));
  const x = (t: number): number => pad.l + ((t - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const y = (n: number): number => H - pad.b - (n / most) * (H - pad.t - pad.b);
  const colors = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b83280'];
  const bands = clusters
    .map((c, i) => {
      const x0 = x(c.start);
      const w = Math.max(4, x(c.end) - x0);
      const color = colors[i % colors.length] as string;
      return `<g class="cluster"><rect x="${x0.toFixed(1)}" y="${pad.t}" width="${w.toFixed(1)}" height="${H - pad.t - pad.b}" fill="${color}" opacity="0.12"/><rect x="${x0.toFixed(1)}" y="${y(c.files).toFixed(1)}" width="${w.toFixed(1)}" height="${(H - pad.b - y(c.files)).toFixed(1)}" fill="${color}"><title>${esc(`${short(c.start)} – ${short(c.end)}: ${c.files} files, ${human(c.bytes)}`)}</title></rect></g>`;
    })
    .join('\n');
  const ticks = Array.from({ length: 6 }, (_, i) => t0 + ((t1 - t0) * i) / 5)
    .map((t) => `<text x="${x(t).toFixed(1)}" y="${H - pad.b + 18}" text-anchor="middle" font-size="11">${esc(short(t).slice(0, 10))}</text>`)
    .join('');
  const yTicks = [0, Math.round(most / 2), most].map((n) => `<text x="${pad.l - 8}" y="${y(n) + 4}" text-anchor="end" font-size="11">${n}</text>`).join('');
  const rows = clusters
    .map((c) => `<tr><td>${esc(short(c.start))}</td><td>${esc(short(c.end))}</td><td>${c.files}</td><td>${esc(human(c.bytes))}</td><td>${esc(c.dirs.map((d) => `${d.dir}/ (${d.files})`).join(', '))}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#1a202c}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #e2e8f0;text-align:left}td:nth-child(-n+4){white-space:nowrap}svg{background:#fff;border:1px solid #e2e8f0}</style>
</head><body>
<h1>${esc(title)}</h1>
<p>${clusters.reduce((n, c) => n + c.files, 0)} files in ${clusters.length} clusters.</p>
<svg id="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="files changed over time">
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#4a5568"/>
<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#4a5568"/>
${bands}
${ticks}${yTicks}
<text x="${W / 2}" y="${H - 10}" text-anchor="middle" font-size="12">time of last change</text>
<text x="14" y="${H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${H / 2})">files</text>
</svg>
<table><thead><tr><th>start</th><th>end</th><th>files</th><th>bytes</th><th>busiest folders</th></tr></thead><tbody>
${rows}
</tbody></table>
</body></html>
`;
}
