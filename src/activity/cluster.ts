/**
 * Activity: a disk's files grouped by when they changed. Files sorted by mtime form a cluster while
 * the gap to the next file is at most the radius. Two passes over the tree keep memory to a bucket
 * per radius of time that holds a change (not a number per file) plus what is shown: the first pass
 * finds the cluster boundaries, the second gathers counts, bytes, busiest folders (a count per folder
 * of a cluster) and the files to show. Rendering is in render.ts.
 */
import { walkFilesSync } from '../scan/quick-walk.js';
import type { SelectionOptions } from '../scan/select.js';

export interface ClusterOptions {
  /** Gap (ms) that ends a cluster: a gap of more than this splits. */
  radiusMs: number;
  /** Only files changed at or after this time (ms since 1970). */
  sinceMs?: number;
  exclude?: readonly string[];
  /** Files listed per cluster (Infinity for all). */
  showFiles: number;
  /** Busiest folders listed per cluster. */
  showDirs?: number;
}

export interface ActivityFile {
  path: string;
  mtimeMs: number;
  size: number;
  /** new / modified / deleted, when compared against a backup. */
  change?: 'new' | 'modified';
}

export interface Cluster {
  start: number;
  end: number;
  files: number;
  bytes: number;
  dirs: { dir: string; files: number }[];
  paths: ActivityFile[];
}

/**
 * The clusters' boundaries, gathered one time at a time in memory bounded by the span of the times
 * over the radius, not by their number: the times are put in buckets one radius wide, each keeping
 * only its oldest and newest. Two times in one bucket are less than a radius apart (one cluster); a
 * bucket joins the next non-empty one when it is the very next and the gap between its newest and
 * that one's oldest is at most the radius — two buckets further apart are more than a radius apart.
 */
export class ClusterBuckets {
  private readonly buckets = new Map<number, [number, number]>();

  constructor(private readonly radiusMs: number) {}

  private keyOf(t: number): number {
    return this.radiusMs > 0 ? Math.floor(t / this.radiusMs) : t;
  }

  add(t: number): void {
    const k = this.keyOf(t);
    const b = this.buckets.get(k);
    if (b === undefined) this.buckets.set(k, [t, t]);
    else if (t < b[0]) b[0] = t;
    else if (t > b[1]) b[1] = t;
  }

  /** Sorted boundaries: [start, end] pairs, oldest first. */
  bounds(): [number, number][] {
    const keys = Float64Array.from(this.buckets.keys()).sort();
    const out: [number, number][] = [];
    for (const k of keys) {
      const [lo, hi] = this.buckets.get(k) as [number, number];
      const last = out[out.length - 1];
      if (last !== undefined && lo - last[1] <= this.radiusMs) last[1] = hi;
      else out.push([lo, hi]);
    }
    return out;
  }
}

/** Sorted boundaries of the clusters of these times: [start, end] pairs, oldest first. */
export function clusterBounds(times: Float64Array, radiusMs: number): [number, number][] {
  const b = new ClusterBuckets(radiusMs);
  for (const t of times) b.add(t);
  return b.bounds();
}

/** Index of the cluster holding time t (bounds sorted oldest first), by binary search. */
export function clusterOf(bounds: readonly [number, number][], t: number): number {
  let lo = 0;
  let hi = bounds.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((bounds[mid] as [number, number])[0] <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export type FileSource = (visit: (f: ActivityFile) => void) => Promise<void>;

/** The regular files of a tree as ActivityFiles (paths relative to the tree), by the quick walk. */
export function treeFiles(dir: string, select: SelectionOptions | readonly string[] = []): FileSource {
  return async (visit) => walkFilesSync(dir, select, visit);
}

/** Newest first; files changed at the same time by name (byte order, as the archive sorts). */
export function newestFirst(a: ActivityFile, b: ActivityFile): number {
  return b.mtimeMs - a.mtimeMs || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/** Keep the `limit` newest files seen so far (all of them when the limit is Infinity), sorted newest first. */
function keepNewest(kept: ActivityFile[], f: ActivityFile, limit: number): void {
  if (limit === Infinity) {
    kept.push(f);
    return;
  }
  if (limit <= 0) return;
  if (kept.length >= limit) {
    if (newestFirst(f, kept[kept.length - 1] as ActivityFile) >= 0) return;
    kept.pop();
  }
  let i = kept.length;
  while (i > 0 && newestFirst(f, kept[i - 1] as ActivityFile) < 0) i--;
  kept.splice(i, 0, f);
}

/** Cluster the files a source yields (it is run twice). Newest cluster first. */
export async function clusterFiles(source: FileSource, o: ClusterOptions): Promise<Cluster[]> {
  const since = o.sinceMs ?? -Infinity;
  // Pass 1: the times alone.
  const buckets = new ClusterBuckets(o.radiusMs);
  await source((f) => {
    if (f.mtimeMs >= since) buckets.add(f.mtimeMs);
  });
  const bounds = buckets.bounds();
  // Pass 2: what each cluster holds.
  const acc = bounds.map(() => ({ files: 0, bytes: 0, dirs: new Map<string, number>(), paths: [] as ActivityFile[] }));
  await source((f) => {
    if (f.mtimeMs < since) return;
    const c = acc[clusterOf(bounds, f.mtimeMs)];
    if (!c) return;
    c.files++;
    c.bytes += f.size;
    const slash = f.path.lastIndexOf('/');
    const dir = slash < 0 ? '.' : f.path.slice(0, slash);
    c.dirs.set(dir, (c.dirs.get(dir) ?? 0) + 1);
    keepNewest(c.paths, f, o.showFiles);
  });
  const clusters: Cluster[] = bounds.map(([start, end], i) => {
    const c = acc[i] as (typeof acc)[number];
    return {
      start,
      end,
      files: c.files,
      bytes: c.bytes,
      dirs: [...c.dirs.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, o.showDirs ?? 5).map(([dir, files]) => ({ dir, files })),
      paths: c.paths.sort(newestFirst),
    };
  });
  return clusters.reverse();
}

/**
 * The start of the oldest of the newest `k` activity clusters of a tree, in ns since 1970 (what
 * `pack --since-cluster K` packs from), or undefined when the tree has no file.
 */
export async function newestClustersStartNs(dir: string, k: number, radiusMs: number, select: SelectionOptions | readonly string[]): Promise<bigint | undefined> {
  const clusters = await clusterFiles(treeFiles(dir, select), { radiusMs, showFiles: 0 });
  const oldest = clusters[Math.min(k, clusters.length) - 1];
  return oldest === undefined ? undefined : BigInt(Math.floor(oldest.start)) * 1_000_000n;
}

/** `1h`, `90m`, `2d`, `30s`, `1w` → milliseconds. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m) return null;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
  return Number(m[1]) * (unit[m[2] as string] as number);
}
