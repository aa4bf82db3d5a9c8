/**
 * Stage 3, join split files found by walking the tars (no catalog covered them): restored when parts
 * 1..n are all here and add up to the whole zip, else listed with the volumes to insert. Split files
 * a catalog lists are restore-by-catalog.ts's.
 */
import { partBaseMatches } from '../format/names.js';
import { parseLocalHeader, trailerLength } from '../format/zip.js';
import type { RestoreContext } from './context.js';
import { concatOf } from './extract.js';
import type { RandomReader } from './random-reader.js';
import { restoreBlob, stripZip } from './restore-blob.js';

export interface SplitPart {
  r: RandomReader;
  start: number;
  size: number;
  /** The volume it was found on (null: a bare .xtar whose name carries no number). */
  volume: number | null;
}

export interface SplitFile {
  dir: string[];
  base: string;
  /** By part number (from 1). */
  parts: Map<number, SplitPart>;
}

export async function joinSplits(ctx: RestoreContext): Promise<void> {
  for (const s of ctx.splits.values()) {
    const indexes = [...s.parts.keys()].sort((a, b) => a - b);
    const parts = indexes.map((i) => s.parts.get(i) as SplitPart);
    const total = parts.reduce((n, p) => n + p.size, 0);
    const whole = indexes[0] === 1 ? await zipLength(parts[0] as SplitPart) : null;
    const why = splitVerdict(indexes, parts, total, whole, ctx.expected);
    if (why === null) await restoreBlob(ctx, concatOf(parts), total, s.dir, s.base, { nameOk: partBaseMatches });
    else ctx.incompleteSplits.set(stripZip([...s.dir, s.base].join('/')), why);
  }
}

/** The length of the whole zip, from the local header at the start of its first part (null: unreadable). */
async function zipLength(first: SplitPart): Promise<number | null> {
  try {
    const h = parseLocalHeader(Buffer.from(await first.r.read(first.start, Math.min(first.size, 30 + 65535 * 2))));
    return h.headerLength + h.info.compressedSize + trailerLength(h);
  } catch {
    return null;
  }
}

/**
 * Whether a split file's parts can be joined: null when parts 1..n are all here (`indexes`, sorted,
 * with their `parts`) and add up (`total`) to the whole zip (`whole`, null: unknown); else why not,
 * naming the volumes to insert. Parts lie one per volume on consecutive volumes, so the volume of
 * part j follows from any part's; `expected` (the backup's volume count, when known) bounds the guess.
 */
export function splitVerdict(indexes: readonly number[], parts: readonly { volume: number | null }[], total: number, whole: number | null, expected: number | null): string | null {
  const contiguous = indexes.every((n, k) => n === k + 1);
  if (contiguous && whole !== null && whole === total) return null;
  const known = indexes.map((n, k) => ({ n, v: parts[k]?.volume ?? null })).find((x) => x.v !== null);
  const need: number[] = [];
  const maxIndex = indexes[indexes.length - 1] as number;
  const have = new Set(indexes);
  if (known) for (let j = 1; j <= maxIndex; j++) if (!have.has(j)) need.push((known.v as number) - known.n + j);
  const after = whole !== null && total >= whole ? null : known ? (known.v as number) - known.n + maxIndex + 1 : null;
  const guess = [...need.map((n) => `volume ${n}`), ...(after !== null && (expected === null || after <= expected) ? [`volume ${after}${expected === null ? ' and maybe later ones' : after < expected ? ` (and maybe up to ${expected})` : ''}`] : [])];
  return `split across volumes and incomplete here${guess.length ? `: insert ${guess.join(', ')}` : ''}`;
}
