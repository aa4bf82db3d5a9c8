/**
 * The counting of `npm run damage-compare`, apart from its running so a test can check it: what a
 * restore gave back against the tree it was made from, and which of xtar's files the damage left
 * whole (their blob lies on no damaged byte), read from the catalog's offsets.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** sha256 of every regular file below `root`, by relative path. */
export function hashes(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      if (st.isDirectory()) walk(abs, r);
      else if (st.isFile()) out.set(r, createHash('sha256').update(readFileSync(abs)).digest('hex'));
    }
  };
  if (existsSync(root)) walk(root, '');
  return out;
}

export interface Tally {
  /** Files restored byte for byte under their own name. */
  readonly identical: number;
  /** Files written under their own name with other bytes: the damage a user does not see. */
  readonly wrong: number;
  /** Files not restored at all. */
  readonly lost: number;
}

/** Each file of `original` restored whole, wrong or not at all in `restored` (both sha256 by path). */
export function tally(original: ReadonlyMap<string, string>, restored: ReadonlyMap<string, string>): Tally {
  let identical = 0;
  let wrong = 0;
  let lost = 0;
  for (const [path, sha] of original) {
    const got = restored.get(path);
    if (got === undefined) lost++;
    else if (got === sha) identical++;
    else wrong++;
  }
  return { identical, wrong, lost };
}

/** A byte range [start, end) of one file. */
export type Range = readonly [number, number];

/**
 * Where `count` damaged stretches of `size` bytes lie in a file of `fileSize` bytes, at the relative
 * `positions` (each in [0, 1)), each aligned down to `align` (the sector size; 1 for none) — the same
 * relative places in every archive. Sorted, overlapping ones merged.
 */
export function stretches(fileSize: number, positions: readonly number[], size: number, align = 1): Range[] {
  const ranges = positions.map((p): Range => {
    const at = Math.floor((p * Math.max(0, fileSize - size)) / align) * align;
    return [at, Math.min(fileSize, at + size)];
  });
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [a, b] of ranges) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

/**
 * The record paths of a one-volume xtar `catalog.jsonl` whose blob lies wholly outside `bad` (byte
 * ranges of the volume's `.xtar`): the files the issue says must come back. A line with no parts (an
 * empty file) always counts; a skipped file never does.
 */
export function blobsOnReadable(catalogText: string, bad: readonly Range[]): Set<string> {
  const out = new Set<string>();
  for (const line of catalogText.split('\n')) {
    if (line.trim() === '') continue;
    const rec = JSON.parse(line) as { path?: string; skipped?: string; parts?: { offset: number; length: number }[] };
    if (typeof rec.path !== 'string' || rec.skipped !== undefined) continue;
    const parts = rec.parts ?? [];
    if (parts.every((p) => bad.every(([a, b]) => p.offset + p.length <= a || b <= p.offset))) out.add(rec.path);
  }
  return out;
}
