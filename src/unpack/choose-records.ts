/**
 * Which copy of a volume's records to read: its own structure.jsonl / catalog.jsonl when whole, else
 * the copy inside its .xtar; and what one pass over the record chosen gathers meanwhile. Reading the
 * lines is read-records.ts's job; what is done with them, the stages'.
 */
import { basename } from 'node:path';
import { XtarError } from '../errors.js';
import { decodeCatalogHeader, decodeCatalogLine, decodeStructureEntry, decodeStructureHeader, decodeTrailer, RecordDigest, type CatalogLine, type StructureEntry } from '../format/records.js';
import { checkVolumeManifest } from '../set/manifest.js';
import { INFLATE_FAILED, readLineBatches } from '../util/lines.js';
import { firstMissing } from '../set/rescue-map.js';
import type { RestoreContext } from './context.js';
import type { VolumeSource } from '../set/locate.js';
import type { RandomReader } from './random-reader.js';
import { structureEntries, type RecordSource } from '../set/read-records.js';
import type { PathFilter } from './select.js';
import { topLevelRecords } from './walk-archive.js';

/** A problem a choice of records found, for the restore to list (kind 'header'). */
export interface RecordNote {
  path: string;
  reason: string;
}

/** What one pass over a record found. */
export type RecordState =
  /** Read whole, its entry count right, and its digest matches (revision 2.1 records). */
  | 'checked'
  /** Read whole, and carries no digest — nor was one expected (a record written before revision 2.1). */
  | 'legacy'
  /** Read whole, but its digest or count does not match, or it lacks the digest its volume.json expects. */
  | 'damaged'
  /** Does not read whole: unreadable, a line that does not decode, or no end line. */
  | 'broken';

/** How a record that was not used is named in a problem. */
function stateReason(state: RecordState): string {
  return state === 'damaged' ? 'its checksum does not match' : 'it does not read whole: cut short, or a line does not decode';
}

/**
 * Choose the structure record of a volume: its own file when it checks (or, from before revision
 * 2.1, reads whole), else the copy inside its .xtar. With `facts`, the pass that checks a record also
 * gathers them (started afresh for each record tried); `whole` says whether the record chosen was
 * read whole so, its facts complete; `checked` whether its digest matched. When a digest was seen
 * (or `expected`, by volume.json) and no copy checks, `src` is null: the facts of a damaged record
 * are never applied. `notes` name the records that were not used.
 */
export async function structureSource(v: VolumeSource, r: RandomReader, facts?: StructureFacts, expected?: string): Promise<StructureChoice | null> {
  const plain: RecordSource | null = v.structure === null ? null : { path: v.structure, label: v.structure };
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
  if (v.catalog !== null) return { path: v.catalog, label: v.catalog };
  return catalogCopy(v, r);
}

async function catalogCopy(v: VolumeSource, r: RandomReader): Promise<RecordSource | null> {
  const recs = await topLevelRecords(r);
  const c = recs.catalog;
  return c ? copyOf(v, r, c, 'catalog') : null;
}

/** A record's copy inside the archive (marked unreadable when it touches sectors the drive already failed: it is not read again). */
function copyOf(v: VolumeSource, r: RandomReader, c: { start: number; size: number }, which: string): RecordSource {
  const src: RecordSource = { path: v.archive, range: { start: c.start, end: c.start + c.size }, label: `${v.archive} (${which} copy)`, gzip: true };
  if (r.unreadableIn(c.start, c.size) !== null) src.unreadable = true;
  return src;
}

/** The digests a volume's volume.json gives its records (none when it is absent, damaged or older). */
export async function expectedDigests(v: VolumeSource): Promise<{ structure?: string; catalog?: string }> {
  if (v.dir === null) return {};
  const m = (await checkVolumeManifest(v.dir)).manifest;
  return { ...(m?.structureSha256 === undefined ? {} : { structure: m.structureSha256 }), ...(m?.catalogSha256 === undefined ? {} : { catalog: m.catalogSha256 }) };
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
  const plain: RecordSource | null = v.catalog === null ? null : { path: v.catalog, label: v.catalog };
  const hints = ': its lines were used only where the blob they point to checks out; the tar walk restored the rest';
  const c = await chooseCopy(plain, () => catalogCopy(v, r), decodeCatalogHeader, decodeCatalogLine, lines, expected, 'catalog.jsonl', hints);
  if (c.chosen === plain && plain !== null) return c.checked ? { ...plain, checked: true } : plain;
  if (c.chosen !== null) return { ...c.chosen, checked: c.checked, plainDamaged: plain !== null, notes: c.notes };
  return c.either === null ? null : { ...c.either, complete: false, notes: c.digestSeen ? c.notes : [] };
}

/**
 * The choice both records make: the plain file when it checks (or is whole and from before
 * digests), else the copy (`copyOf`) when it does; `notes` name each that failed (as `name`; `more`
 * is added to the copy's). With nothing chosen, `either` is what there is and `digestSeen` whether any copy (or
 * volume.json's `expected`) had a digest — then nothing of it may be believed.
 */
async function chooseCopy<T>(
  plain: RecordSource | null,
  copyOf: () => Promise<RecordSource | null>,
  decodeHeader: (line: string, where: string) => unknown,
  decodeEntry: (line: string, where: string) => T,
  gather: Gatherer<T> | undefined,
  expected: string | undefined,
  name: string,
  more: string,
): Promise<{ chosen: RecordSource | null; checked: boolean; notes: RecordNote[]; either: RecordSource | null; digestSeen: boolean }> {
  const notes: RecordNote[] = [];
  let digestSeen = expected !== undefined;
  if (plain) {
    const c = await checkRecord(plain, decodeHeader, decodeEntry, gather, expected);
    if (c.state === 'checked' || c.state === 'legacy') return { chosen: plain, checked: c.state === 'checked', notes, either: plain, digestSeen };
    digestSeen ||= c.digest;
    notes.push({ path: plain.path, reason: `${name} is damaged (${stateReason(c.state)})` });
  }
  const copy = await copyOf();
  if (copy) {
    const c = await checkRecord(copy, decodeHeader, decodeEntry, gather);
    digestSeen ||= c.digest;
    if (c.state === 'checked' || (c.state === 'legacy' && !digestSeen)) {
      for (const n of notes) n.reason += '; the copy inside the archive was used';
      return { chosen: copy, checked: c.state === 'checked', notes, either: copy, digestSeen };
    }
    if (digestSeen) notes.push({ path: copy.path, reason: `the copy of ${name} inside the archive is damaged (${stateReason(c.state)})${more}` });
  }
  return { chosen: null, checked: false, notes, either: plain ?? copy, digestSeen };
}

/** Collects what a pass over a record finds; cleared when a pass over another record begins. */
export interface Gatherer<T> {
  clear(): void;
  add(entry: T): void;
  /** add() from an entry's line undecoded: the pass is made without decoding, and again decoding only if the record does not check. */
  addLine?(line: string): void;
}

/**
 * One pass over a record: whether it reads whole, its count right and its digest matching the one
 * its trailer carries (`expected`, from volume.json, when the trailer carries none). Its entries
 * are gathered meanwhile, until a line does not decode. `digest`: whether a digest was found (or
 * the record is a gzip'd copy that does not inflate: gzip's own CRC-32 failed, nothing is believed).
 * Without `gather`, a record that checks is read once without decoding its entries.
 */
export async function checkRecord<T>(
  src: RecordSource,
  decodeHeader: (line: string, where: string) => unknown,
  decodeEntry: (line: string, where: string) => T,
  gather?: Gatherer<T>,
  expected?: string,
): Promise<{ state: RecordState; digest: boolean }> {
  // Nothing to gather: a record whose digest matches holds the lines pack wrote, which decode; they
  // are decoded once, by the pass that uses them. Any other outcome is decided as ever, decoding.
  // A gatherer that takes lines undecoded is given them in the same pass (kept if the record checks).
  if (gather === undefined || gather.addLine !== undefined) {
    const quick = await readRecord(src, decodeHeader, null, gather, expected);
    if (quick.state === 'checked') return quick;
  }
  return readRecord(src, decodeHeader, decodeEntry, gather, expected);
}

/** checkRecord's pass; `decodeEntry` null: the entry lines are only digested. */
async function readRecord<T>(
  src: RecordSource,
  decodeHeader: (line: string, where: string) => unknown,
  decodeEntry: ((line: string, where: string) => T) | null,
  gather: Gatherer<T> | undefined,
  expected: string | undefined,
): Promise<{ state: RecordState; digest: boolean }> {
  let n = 0;
  let broken = false;
  // A header of a newer version ends the run (upgrade xtar) — if the record checks: one flipped bit
  // can turn a version 1 into a 9, and that is damage, not a newer record.
  let newer: unknown = null;
  const digest = new RecordDigest();
  gather?.clear();
  try {
    // Known unreadable, or bytes of it missing from a rescued copy (its map): never checked as though whole.
    if (src.unreadable === true || (await firstMissing(src.path, src.range?.start, src.range?.end)) !== null) return { state: 'broken', digest: expected !== undefined };
    for await (const batch of readLineBatches(src.path, src.range, src.gzip)) {
      for (const line of batch) {
        if (n++ === 0) {
          try {
            decodeHeader(line, src.label);
          } catch (e) {
            if (e instanceof XtarError && e.code === 'EVERSION') newer = e;
            broken = true;
          }
          digest.line(line);
          continue;
        }
        const t = decodeTrailer(line);
        if (t !== null) {
          const sum = t.sha256 ?? expected;
          const good = t.sha256 !== undefined && t.entries === n - 2 && digest.hex() === t.sha256;
          if (newer !== null && (good || sum === undefined)) throw newer;
          if (broken) return { state: 'broken', digest: sum !== undefined };
          if (sum === undefined) return { state: 'legacy', digest: false };
          return { state: good ? 'checked' : 'damaged', digest: true };
        }
        digest.line(line);
        if (broken) continue;
        if (decodeEntry === null) {
          gather?.addLine?.(line);
          continue;
        }
        try {
          const entry = decodeEntry(line, src.label);
          gather?.add(entry);
        } catch {
          broken = true;
        }
      }
    }
  } catch (e) {
    if (e === newer) throw e;
    // A gzip'd copy that does not inflate failed gzip's own check: none of it is believed, digest or not.
    return { state: 'broken', digest: expected !== undefined || (e as NodeJS.ErrnoException).code === INFLATE_FAILED };
  }
  return { state: 'broken', digest: expected !== undefined };
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
    const m = v.dir === null ? null : await checkVolumeManifest(v.dir);
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
