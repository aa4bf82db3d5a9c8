/**
 * Which copy of a volume's records to read: its own structure.jsonl / catalog.jsonl when whole, else
 * the copy inside its .xtar; and what one pass over the record chosen gathers meanwhile. Reading the
 * lines is read-records.ts's job; what is done with them, the stages'.
 */
import { decodeCatalogHeader, decodeCatalogLine, decodeStructureEntry, decodeStructureHeader, decodeTrailer, type CatalogLine, type StructureEntry } from '../format/records.js';
import { readLines } from '../util/lines.js';
import type { RestoreContext } from './context.js';
import type { VolumeSource } from '../set/locate.js';
import type { RandomReader } from './random-reader.js';
import { structureEntries, type RecordSource } from '../set/read-records.js';
import type { PathFilter } from './select.js';
import { topLevelRecords } from './walk-archive.js';

/**
 * Choose the structure record: the volume's own file when it reads whole, else the copy inside its
 * .xtar. With `facts`, the pass that checks a record is whole also gathers them (started afresh
 * for each record tried); `whole` says whether the record chosen was checked so, its facts complete.
 */
export async function structureSource(v: VolumeSource, r: RandomReader, facts?: StructureFacts): Promise<{ src: RecordSource; whole: boolean } | null> {
  const plain: RecordSource | null = v.structure === null ? null : { path: v.structure, label: v.structure };
  if (plain && (await recordIsWhole(plain, decodeStructureHeader, decodeStructureEntry, facts))) return { src: plain, whole: true };
  const recs = await topLevelRecords(r);
  const s = recs.structure;
  const copy: RecordSource | null = s ? { path: v.archive, range: { start: s.start, end: s.start + s.size }, label: `${v.archive} (structure copy)`, gzip: true } : null;
  if (copy && (await recordIsWhole(copy, decodeStructureHeader, decodeStructureEntry, facts))) return { src: copy, whole: true };
  const either = plain ?? copy;
  return either === null ? null : { src: either, whole: false };
}

/**
 * What unpack needs from the structure record before restoring: the sparse files, the bytes of the
 * files (for progress: the whole backup, as a lone volume finishes early), and, with paths given, the
 * folders above the selected entries (kept for their modes and times).
 */
export class StructureFacts implements Gatherer<StructureEntry> {
  sparse = new Set<string>();
  totalBytes = 0;
  keepDirs = new Set<string>();

  constructor(private readonly filter: PathFilter) {}

  clear(): void {
    this.sparse.clear();
    this.totalBytes = 0;
    this.keepDirs.clear();
  }

  add(e: StructureEntry): void {
    if (!this.filter.selects(e.path)) return;
    if (e.sparse) this.sparse.add(e.path);
    if (e.type === 'file') this.totalBytes += e.size ?? 0;
    if (!this.filter.all) for (let i = e.path.indexOf('/'); i > 0; i = e.path.indexOf('/', i + 1)) this.keepDirs.add(e.path.slice(0, i));
  }
}

/** The catalog to read for the whole backup up to this volume: its catalog.jsonl, else the copy inside its .xtar. */
export async function catalogSource(v: VolumeSource, r: RandomReader): Promise<RecordSource | null> {
  if (v.catalog !== null) return { path: v.catalog, label: v.catalog };
  return catalogCopy(v, r);
}

async function catalogCopy(v: VolumeSource, r: RandomReader): Promise<RecordSource | null> {
  const recs = await topLevelRecords(r);
  const c = recs.catalog;
  return c ? { path: v.archive, range: { start: c.start, end: c.start + c.size }, label: `${v.archive} (catalog copy)`, gzip: true } : null;
}

/** ownCatalog for each volume, decided once per run: deciding reads the whole record. */
export class OwnCatalogs {
  private readonly chosen = new Map<VolumeSource, Promise<OwnCatalog | null>>();

  /**
   * With `lines`, when the choice is made by this call, the lines of each record tried are gathered
   * meanwhile; `gathered` says whether they are those of the record chosen, read whole.
   */
  async of(v: VolumeSource, r: RandomReader, lines?: Gatherer<CatalogLine>): Promise<{ cat: OwnCatalog | null; gathered: boolean }> {
    const known = this.chosen.get(v);
    if (known !== undefined) return { cat: await known, gathered: false };
    const choosing = ownCatalog(v, r, lines);
    this.chosen.set(v, choosing);
    const cat = await choosing;
    return { cat, gathered: lines !== undefined && cat !== null && cat.complete !== false };
  }
}

export type OwnCatalog = RecordSource & { complete?: boolean };

/**
 * The catalog lines of a volume's own files: its catalog.jsonl when that reads cleanly to its end
 * line, else the copy inside its .xtar. `complete` is false when the record was cut short.
 */
export async function ownCatalog(v: VolumeSource, r: RandomReader, lines?: Gatherer<CatalogLine>): Promise<OwnCatalog | null> {
  if (v.catalog !== null && (await recordIsWhole({ path: v.catalog, label: v.catalog }, decodeCatalogHeader, decodeCatalogLine, lines))) return { path: v.catalog, label: v.catalog };
  const copy = await catalogCopy(v, r);
  if (copy && (await recordIsWhole(copy, decodeCatalogHeader, decodeCatalogLine, lines))) return copy;
  if (v.catalog !== null) return { path: v.catalog, label: v.catalog, complete: false };
  return copy ? { ...copy, complete: false } : null;
}

/** Collects what a pass over a record finds; cleared when a pass over another record begins. */
export interface Gatherer<T> {
  clear(): void;
  add(entry: T): void;
}

/** Whether a record reads cleanly from its header to its end line (one pass; its entries can be gathered meanwhile). */
export async function recordIsWhole<T>(src: RecordSource, decodeHeader: (line: string, where: string) => unknown, decodeEntry: (line: string, where: string) => T, gather?: Gatherer<T>): Promise<boolean> {
  let n = 0;
  gather?.clear();
  try {
    for await (const line of readLines(src.path, src.range, src.gzip)) {
      if (n++ === 0) decodeHeader(line, src.label);
      else if (decodeTrailer(line) !== null) return true;
      else {
        const entry = decodeEntry(line, src.label);
        gather?.add(entry);
      }
    }
  } catch {
    return false;
  }
  return false;
}

/**
 * The structure record to apply — the first volume's that has one — and its facts (ctx.facts,
 * ctx.totalBytes), gathered while checking it reads whole, or by reading it once more when it does not.
 */
export async function chooseStructure(ctx: RestoreContext): Promise<void> {
  const { facts } = ctx;
  let src: RecordSource | null = null;
  let factsWhole = false;
  for (const [i, v] of ctx.volumes.entries()) {
    if (src !== null) break;
    const found = await structureSource(v, ctx.readers[i] as RandomReader, facts);
    src = found?.src ?? null;
    factsWhole = found?.whole ?? false;
  }
  // A structure record that does not read whole was not gathered from: read what it holds.
  if (src && !factsWhole) {
    facts.clear();
    for await (const e of structureEntries(src, () => undefined)) facts.add(e);
  }
  ctx.structureSrc = src;
  ctx.totalBytes = facts.totalBytes;
}
