/**
 * Reads an .xtar's nested tars in place: a directory's `NAME/.xtar` entry is walked as a byte range of
 * the same file (no copy), so a volume is read in one forward pass with memory bounded by depth. It
 * only finds entries; writing files is src/unpack/extract.ts's job.
 */
import { FormatError } from '../errors.js';
import { AGE_SUFFIX } from '../format/encryption.js';
import { CATALOG_SUFFIX, classifyEntryName, isSafeComponent, STRUCTURE_SUFFIX, type EntryKind } from '../format/names.js';
import { applyPax, BLOCK_SIZE, decodeHeaderBlock, isHeaderBlock, paddingLength, parsePaxRecords, type DecodedHeader } from '../format/tar.js';
import { bundleMembers } from '../format/zip.js';
import type { RandomReader } from './random-reader.js';

/** Deeper than any real tree can be (PATH_MAX 4096 allows at most 2048 levels of one-letter names). */
export const MAX_DEPTH = 2048;

export interface ArchiveVisitor {
  /** A directory's nested tar begins; `path` are its components from the root name down. */
  dir(path: string[]): Promise<void>;
  /** A file blob inside directory `dir`: its tar entry name and the blob's byte range in the file. */
  blob(dir: string[], entry: string, start: number, size: number): Promise<void>;
  /** A file stored in a bundle (`.xtar-bundle-N`, docs/FORMAT.md "Bundles"): its member's byte range (local header and data) in this file. */
  member(dir: string[], bundle: string, start: number, size: number): Promise<void>;
  /** Part `index` of a blob split across volumes (`BASE.001`, …): its byte range in this file. */
  part(dir: string[], base: string, index: number, start: number, size: number): Promise<void>;
  /** A top-level copy of a record (`ROOT.xtar-structure.jsonl`, `ROOT.xtar-catalog.jsonl`). */
  record(kind: 'structure' | 'catalog', root: string, start: number, size: number): Promise<void>;
  /**
   * An entry refused (not of the format, unsafe) or unreadable (damaged header, truncated);
   * `unreadable`: the archive's very first header, so nothing of it could be read.
   */
  problem(path: string, reason: string, kind: 'refused' | 'damaged' | 'unreadable'): void;
}

interface Entry {
  header: DecodedHeader;
  dataStart: number;
  /** End of the data actually present (less than dataStart + size when the tar is cut short). */
  dataEnd: number;
  truncated: boolean;
  next: number;
}

/** Read the entry at `pos` (following a pax header if there is one); null at the end of the tar. */
async function readEntry(r: RandomReader, pos: number, end: number): Promise<Entry | null> {
  if (pos + BLOCK_SIZE > end) throw new FormatError('the tar ends without its end-of-archive blocks', { code: 'ETRUNC' });
  let h = decodeHeaderBlock(await readable(r, pos, BLOCK_SIZE));
  if (h === null) return null;
  pos += BLOCK_SIZE;
  if (h.typeflag === 'x') {
    if (pos + h.size > end) throw new FormatError('a pax header runs past the end of its tar', { code: 'ETRUNC' });
    const pax = parsePaxRecords(Buffer.from(await readable(r, pos, h.size)));
    pos += h.size + paddingLength(h.size);
    if (pos + BLOCK_SIZE > end) throw new FormatError('a pax header is not followed by an entry', { code: 'ETRUNC' });
    const next = decodeHeaderBlock(await readable(r, pos, BLOCK_SIZE));
    if (next === null) throw new FormatError('a pax header is followed by the end of the tar', { code: 'ETAR' });
    h = applyPax(next, pax);
    pos += BLOCK_SIZE;
  }
  const dataStart = pos;
  const dataEnd = dataStart + h.size;
  if (dataEnd > end) return { header: h, dataStart, dataEnd: end, truncated: true, next: end };
  return { header: h, dataStart, dataEnd, truncated: false, next: dataEnd + paddingLength(h.size) };
}

/** r.read, failing (as a damaged header) when the bytes touch a sector the drive could not read. */
async function readable(r: RandomReader, pos: number, length: number): Promise<Buffer> {
  const b = await r.read(pos, length);
  const bad = r.unreadableIn(pos, length);
  if (bad !== null) throw new FormatError(`unreadable sectors at bytes ${bad.offset}–${bad.offset + bad.length - 1}`, { code: 'EUNREADABLE' });
  return b;
}

/** The offset of the next 512-byte block in [from, end) that is a valid tar header, or null. */
export async function nextHeader(r: RandomReader, from: number, end: number): Promise<number | null> {
  for (let pos = from; pos + BLOCK_SIZE <= end; pos += BLOCK_SIZE) {
    if (isHeaderBlock(Buffer.from(await r.read(pos, BLOCK_SIZE)))) return pos;
  }
  return null;
}

export function isRegular(h: DecodedHeader): boolean {
  return h.typeflag === '0' || h.typeflag === '\0' || h.typeflag === '';
}

/** A top-level entry that is a copy of a record (a safe name, something before the suffix): which record, and of what; else null. */
export function recordCopyOf(name: string): { kind: 'structure' | 'catalog'; of: string } | null {
  // (An encrypted set's copies are the same names with .age: docs/FORMAT.md, "Encrypted sets".)
  for (const [suffix, kind] of [[STRUCTURE_SUFFIX + AGE_SUFFIX, 'structure'], [CATALOG_SUFFIX + AGE_SUFFIX, 'catalog'], [STRUCTURE_SUFFIX, 'structure'], [CATALOG_SUFFIX, 'catalog']] as const) {
    if (name.endsWith(suffix) && isSafeComponent(name) && name.length > suffix.length) return { kind, of: name.slice(0, -suffix.length) };
  }
  return null;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Walk one nested tar occupying [start, end) of the file. */
async function walkLevel(r: RandomReader, start: number, end: number, dir: string[], v: ArchiveVisitor, cutShort: boolean): Promise<void> {
  let pos = start;
  const where = dir.join('/');
  for (;;) {
    let e: Entry | null;
    try {
      e = await readEntry(r, pos, end);
    } catch (err) {
      // A folder already reported as cut short simply ends where the archive does.
      if (cutShort && pos + BLOCK_SIZE > end) return;
      // Resynchronise on the next valid header (checksum-verified, 512-byte aligned) in this range.
      const next = await nextHeader(r, pos + BLOCK_SIZE, end);
      v.problem(where, `the archive of this folder is damaged at byte ${pos}: ${describe(err)}${next === null ? '' : `; read on from the next valid header, at byte ${next}`}`, 'damaged');
      if (next === null) return;
      pos = next;
      continue;
    }
    if (e === null) return;
    pos = e.next;
    const name = e.header.name;
    const shown = `${where}/${name}`;
    if (!isRegular(e.header)) {
      v.problem(shown, `refused an entry of tar type ${JSON.stringify(e.header.typeflag)}: xtar archives hold only regular entries`, 'refused');
      continue;
    }
    const kind = classifyEntryName(name);
    if (kind === null) {
      v.problem(shown, 'refused an entry whose name is not NAME.zip, NAME/.xtar or a bundle', 'refused');
      continue;
    }
    await visitEntry(r, e, kind, dir, v);
  }
}

async function visitEntry(r: RandomReader, e: Entry, kind: EntryKind, dir: string[], v: ArchiveVisitor): Promise<void> {
  const where = dir.join('/');
  if (kind.kind === 'part') {
    if (e.truncated) v.problem(`${where}/${kind.base.slice(0, -4)}`.replace(/^\//, ''), 'the archive is cut short inside this split file', 'damaged');
    else await v.part(dir, kind.base, kind.index, e.dataStart, e.header.size);
    return;
  }
  if (kind.kind === 'bundle') {
    const at = `${where}/${kind.name}`.replace(/^\//, '');
    if (e.truncated) {
      v.problem(at, 'the archive is cut short inside this bundle: the files in it are restored only by the catalog', 'damaged');
      return;
    }
    let bytes: Buffer;
    try {
      bytes = Buffer.from(await readable(r, e.dataStart, e.header.size));
    } catch (err) {
      v.problem(at, `this bundle cannot be read (${describe(err)}): the files in it are restored only by the catalog`, 'damaged');
      return;
    }
    // Each member by its own local header: a damaged stretch costs only the members it touches.
    for (const m of bundleMembers(bytes)) {
      if (m.ok) await v.member(dir, kind.name, e.dataStart + m.offset, m.length);
      else v.problem(at, `this bundle is damaged at bytes ${e.dataStart + m.offset}–${e.dataStart + m.offset + m.length - 1}: the files there are lost (the others are read on)`, 'damaged');
    }
    return;
  }
  if (kind.kind === 'blob') {
    if (e.truncated) v.problem(`${where}/${kind.name.slice(0, -4)}`.replace(/^\//, ''), 'the archive is cut short inside this file', 'damaged');
    else await v.blob(dir, kind.name, e.dataStart, e.header.size);
    return;
  }
  const sub = [...dir, kind.name];
  if (sub.length > MAX_DEPTH) {
    v.problem(sub.join('/'), `refused: folders nested deeper than ${MAX_DEPTH} levels`, 'refused');
    return;
  }
  if (e.truncated) v.problem(sub.join('/'), 'the archive is cut short inside this folder; what it holds up to the cut is restored', 'damaged');
  await v.dir(sub);
  await walkLevel(r, e.dataStart, e.dataEnd, sub, v, e.truncated);
}

/** Walk a whole .xtar: its top level holds the root (`ROOT/.xtar` or `ROOT.zip`) and the record copies. */
export async function walkArchive(r: RandomReader, v: ArchiveVisitor): Promise<void> {
  let pos = 0;
  for (;;) {
    let e: Entry | null;
    try {
      e = await readEntry(r, pos, r.size);
    } catch (err) {
      v.problem(r.path, `the archive is damaged at byte ${pos}: ${describe(err)}`, pos === 0 ? 'unreadable' : 'damaged');
      return;
    }
    if (e === null) return;
    pos = e.next;
    const name = e.header.name;
    if (!isRegular(e.header)) {
      v.problem(name, `refused an entry of tar type ${JSON.stringify(e.header.typeflag)}`, 'refused');
      continue;
    }
    const record = recordCopyOf(name);
    if (record !== null) {
      await v.record(record.kind, record.of, e.dataStart, e.header.size);
      continue;
    }
    const kind = classifyEntryName(name);
    if (kind === null) v.problem(name, 'refused a top-level entry that is not the backed-up folder or file', 'refused');
    else await visitEntry(r, e, kind, [], v);
  }
}

export interface RecordRange {
  start: number;
  size: number;
}

/** The byte ranges of the record copies at the top level of an .xtar (reads only top-level headers). */
export async function topLevelRecords(r: RandomReader): Promise<{ structure?: RecordRange; catalog?: RecordRange }> {
  const found: { structure?: RecordRange; catalog?: RecordRange } = {};
  let pos = 0;
  for (;;) {
    let e: Entry | null;
    try {
      e = await readEntry(r, pos, r.size);
    } catch {
      return found;
    }
    if (e === null) return found;
    pos = e.next;
    const name = e.header.name;
    const copy = recordCopyOf(name);
    if (copy?.kind === 'structure') found.structure ??= { start: e.dataStart, size: e.header.size };
    if (copy?.kind === 'catalog') found.catalog ??= { start: e.dataStart, size: e.header.size };
  }
}
