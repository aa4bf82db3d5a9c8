/**
 * Which copy of a volume's records to read: its own structure.jsonl / catalog.jsonl when whole, else
 * the copy inside its .xtar (found with the restore's failing-sector reader); and what one pass over
 * the record chosen gathers meanwhile. The choosing itself is src/set/choose-copy.ts's, shared with
 * `index rebuild`; reading the lines is read-records.ts's job; what is done with them, the stages'.
 */
import { basename } from 'node:path';
import { decodeCatalogHeader, decodeCatalogLine, decodeStructureEntry, decodeStructureHeader, type CatalogLine, type StructureEntry } from '../format/records.js';
import { checkVolumeManifest } from '../set/manifest.js';
import { chooseCopy, expectedDigests, type Gatherer, type RecordNote } from '../set/choose-copy.js';
import type { RestoreContext } from './context.js';
import type { VolumeSource } from '../set/locate.js';
import type { RandomReader } from './random-reader.js';
import { structureEntries, type RecordSource } from '../set/read-records.js';
import type { PathFilter } from './select.js';
import { topLevelRecords } from './walk-archive.js';

/**
 * Choose the structure record of a volume: its own file when it checks (or, from before revision
 * 2.1, reads whole), else the copy inside its .xtar. With `facts`, the pass that checks a record also
 * gathers them (started afresh for each record tried); `whole` says whether the record chosen was
 * read whole so, its facts complete; `checked` whether its digest matched. When a digest was seen
 * (or `expected`, by volume.json) and no copy checks, `src` is null: the facts of a damaged record
 * are never applied. `notes` name the records that were not used.
 */
export async function structureSource(v: VolumeSource, r: RandomReader, facts?: StructureFacts, expected?: string): Promise<StructureChoice | null> {
  const plain: RecordSource | null = v.structure === null ? null : { path: v.structure, label: v.structure, owner: v };
  const structureCopy = async (): Promise<RecordSource | null> => {
    const s = (await topLevelRecords(r)).structure;
    return s ? copyOf(v, r, s, 'structure') : null;
  };
  const c = await chooseCopy(plain, structureCopy, decodeStructureHeader, decodeStructureEntry, facts, expected, 'structure.jsonl', '');
  if (c.chosen !== null) return { src: c.chosen, whole: true, checked: c.checked, notes: c.notes };
  if (c.either === null) return null;
  // Nothing checks: a record with a digest is not believed; one from before digests is read for what it holds, as ever.
  return c.digestSeen ? { src: null, whole: false, checked: false, notes: c.notes } : { src: c.either, whole: false, checked: false, notes: [] };
}

export interface StructureChoice {
  src: RecordSource | null;
  whole: boolean;
  checked: boolean;
  notes: RecordNote[];
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

  /**
   * add() from an entry line undecoded, in a pass over a record whose digest is yet to be checked (the
   * facts are kept only if it checks: then the line is as encodeStructureEntry wrote it, path first,
   * size and sparse after it). A line of another shape is parsed. The facts steer no check: sparse
   * files' holes, the progress total, the folders kept by --paths.
   */
  addLine(line: string): void {
    if (line.startsWith(PATH_PREFIX)) {
      const end = line.indexOf('"', PATH_PREFIX.length);
      const path = end < 0 ? '' : line.slice(PATH_PREFIX.length, end);
      if (path !== '' && !path.includes('\\')) {
        const file = line.startsWith(FILE_TYPE, end);
        const at = file ? line.indexOf(SIZE_KEY, end) : -1;
        const size = at < 0 ? 0 : Number.parseInt(line.slice(at + SIZE_KEY.length, at + SIZE_KEY.length + 20), 10);
        this.add({ path, type: file ? 'file' : 'dir', size: Number.isSafeInteger(size) ? size : 0, sparse: line.includes(SPARSE_KEY, end) } as StructureEntry);
        return;
      }
    }
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (typeof o.path !== 'string') return;
      this.add({ path: o.path, type: o.type === 'file' ? 'file' : 'dir', size: typeof o.size === 'number' ? o.size : 0, sparse: o.sparse === true } as StructureEntry);
    } catch {
      // (Not a line pack wrote: the record does not check, and the facts are gathered again, decoding.)
    }
  }
}

/** How encodeStructureEntry writes a line's path, a regular file's type, its size and its sparse mark. */
const PATH_PREFIX = '{"path":"';
const FILE_TYPE = '","type":"file",';
const SIZE_KEY = ',"size":';
const SPARSE_KEY = ',"sparse":true';

/** The catalog to read for the whole backup up to this volume: its catalog.jsonl, else the copy inside its .xtar. */
export async function catalogSource(v: VolumeSource, r: RandomReader): Promise<RecordSource | null> {
  // (Read as it is, without its digest; but another volume's, by its header, gives no line: read-records.ts.)
  if (v.catalog !== null) return { path: v.catalog, label: v.catalog, owner: v };
  return catalogCopy(v, r);
}

async function catalogCopy(v: VolumeSource, r: RandomReader): Promise<RecordSource | null> {
  const recs = await topLevelRecords(r);
  const c = recs.catalog;
  return c ? copyOf(v, r, c, 'catalog') : null;
}

/** A record's copy inside the archive (marked unreadable when it touches sectors the drive already failed: it is not read again). */
function copyOf(v: VolumeSource, r: RandomReader, c: { start: number; size: number }, which: string): RecordSource {
  const src: RecordSource = { path: v.archive, range: { start: c.start, end: c.start + c.size }, label: `${v.archive} (${which} copy)`, gzip: true, owner: v };
  if (r.unreadableIn(c.start, c.size) !== null) src.unreadable = true;
  return src;
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
    const choosing = expectedDigests(v).then((d) => ownCatalog(v, r, lines, d.catalog));
    this.chosen.set(v, choosing);
    const cat = await choosing;
    return { cat, gathered: lines !== undefined && cat !== null && cat.complete !== false };
  }
}

export type OwnCatalog = RecordSource & {
  /** false: the record was cut short or does not check; its lines are only hints. */
  complete?: boolean;
  /** Its digest matched: every line is as pack wrote it. */
  checked?: boolean;
  /** The volume's catalog.jsonl did not check, and this is the copy inside the archive. */
  plainDamaged?: boolean;
  /** The records that were not used, for the restore to list. */
  notes?: RecordNote[];
};

/**
 * The catalog lines of a volume's own files: its catalog.jsonl when it checks (or, from before
 * revision 2.1, reads cleanly to its end line), else the copy inside its .xtar. `complete` is false
 * when neither does: the record is cut short or damaged, and its lines serve only as hints.
 */
export async function ownCatalog(v: VolumeSource, r: RandomReader, lines?: Gatherer<CatalogLine>, expected?: string): Promise<OwnCatalog | null> {
  const plain: RecordSource | null = v.catalog === null ? null : { path: v.catalog, label: v.catalog, owner: v };
  const hints = ': its lines were used only where the blob they point to checks out; the tar walk restored the rest';
  const c = await chooseCopy(plain, () => catalogCopy(v, r), decodeCatalogHeader, decodeCatalogLine, lines, expected, 'catalog.jsonl', hints);
  if (c.chosen === plain && plain !== null) return c.checked ? { ...plain, checked: true } : plain;
  if (c.chosen !== null) return { ...c.chosen, checked: c.checked, plainDamaged: plain !== null, notes: c.notes };
  return c.either === null ? null : { ...c.either, complete: false, notes: c.digestSeen ? c.notes : [] };
}


/**
 * The structure record to apply — the first volume's whose record checks (or, before revision 2.1,
 * that has one) — and its facts (ctx.facts, ctx.totalBytes), gathered while checking it, or by
 * reading it once more when an old record does not read whole. A volume.json that fails its own
 * checksum, and each record not used, is listed (kind 'header'); verifying, every volume's
 * structure record is checked. When records with digests exist and none checks, there is none to
 * apply (ctx.structureDamaged).
 */
export async function chooseStructure(ctx: RestoreContext): Promise<void> {
  const { facts, log } = ctx;
  const verifying = ctx.sink.dest === null;
  const expected: (string | undefined)[] = [];
  for (const v of ctx.volumes) {
    const m = v.dir === null ? null : await checkVolumeManifest(v.dir, v);
    // A decoder's message starts with the path, already named; an unreadable file's reason does not.
    const why = m?.damaged?.startsWith(`${m.path}: `) ? m.damaged.slice(m.path.length + 2) : m?.damaged;
    if (m?.damaged) log.report(m.path, `${basename(m.path)} cannot be used (${(why ?? '').replace(/\.$/, '')}); it was ignored`, 'header');
    expected.push(m?.manifest?.structureSha256);
  }
  let src: RecordSource | null = null;
  let factsWhole = false;
  let fallback: RecordSource | null = null;
  let damaged = false;
  for (const [i, v] of ctx.volumes.entries()) {
    const r = ctx.readers[i] as RandomReader;
    if (src !== null) {
      // Verifying: the other volumes' copies too (facts are not gathered again).
      if (!verifying) break;
      for (const n of (await structureSource(v, r, undefined, expected[i]))?.notes ?? []) log.report(n.path, n.reason, 'header');
      continue;
    }
    const found = await structureSource(v, r, facts, expected[i]);
    for (const n of found?.notes ?? []) log.report(n.path, n.reason, 'header');
    if (found === null) continue;
    if (found.whole) {
      src = found.src;
      factsWhole = true;
    } else if (found.src === null) damaged = true;
    else fallback ??= found.src;
  }
  // A record from before digests that does not read whole was not gathered from: read what it holds.
  if (src === null && !damaged && fallback !== null) {
    src = fallback;
    facts.clear();
    for await (const e of structureEntries(src, () => undefined)) facts.add(e);
  } else if (src === null || !factsWhole) facts.clear();
  ctx.structureSrc = src;
  ctx.structureDamaged = src === null && damaged;
  ctx.totalBytes = facts.totalBytes;
}
