/**
 * Reading the structure record and the catalog back, from a volume's own files or from their copies
 * inside the .xtar, line by line. A bad line is reported and passed over; a record that does not end
 * with its trailer is reported as cut short.
 */
import { FormatError } from '../errors.js';
import { decodeCatalogHeader, decodeCatalogLine, decodeStructureEntry, decodeStructureHeader, decodeTrailer, type CatalogLine, type StructureEntry, type StructureHeader } from '../format/records.js';
import { INFLATE_FAILED, readLineBatches, readLines } from '../util/lines.js';
import { firstMissing } from './rescue-map.js';
import { standInReader } from '../store/remote-files.js';
import type { VolumeSource } from './locate.js';

export interface RecordSource {
  path: string;
  /** A byte range of `path` (a copy inside an .xtar), or the whole file. */
  range?: { start: number; end: number };
  /** How to name it in messages. */
  label: string;
  /** gzip-compressed (the copies inside an .xtar, or a .gz file). */
  gzip?: boolean;
  /** Known to lie on sectors the drive could not read: not read again (as though it failed at once). */
  unreadable?: boolean;
  /**
   * Where the lines come from instead of a plain read of the whole file: a reader that narrows a
   * failing read down to the drive's sectors (unpack's `narrowedLines`), which names what it could not
   * read through `bad` and reads on past it.
   */
  lines?: (bad: BadLine) => AsyncIterable<string>;
  /**
   * The volume whose record this must be: one whose header names another backup (or, a catalog,
   * another volume) is not believed (set/choose-copy.ts), and a catalog's lines are not read (catalogLines).
   */
  owner?: RecordOwner;
}

/** The volume a record must belong to, as locate.ts read it from its archive's name (null fields: not known, not checked). */
export type RecordOwner = Pick<VolumeSource, 'backupId' | 'volume'>;

/**
 * Why a record whose header decoded to `header` is not `owner`'s — it names another backup, or (a
 * catalog) another volume: a record copied into the wrong folder — or undefined (it is, or that is
 * not known).
 */
export function otherOwner(header: unknown, owner: RecordOwner | undefined): string | undefined {
  if (owner === undefined || typeof header !== 'object' || header === null) return undefined;
  const h = header as { backup?: unknown; volume?: unknown };
  // (A header without a backup id, from before there were any, says nothing either way.)
  if (owner.backupId !== null && typeof h.backup === 'string' && h.backup !== '' && h.backup !== owner.backupId) return `it is backup ${h.backup}'s, not ${owner.backupId}'s`;
  if (owner.volume !== null && typeof h.volume === 'number' && h.volume !== owner.volume) return `it is volume ${h.volume}'s, not volume ${owner.volume}'s`;
  return undefined;
}

export type BadLine = (where: string, reason: string) => void;

/** The header of a structure record (first line), or a FormatError. */
export async function readStructureHeader(src: RecordSource): Promise<StructureHeader> {
  for await (const line of readLines(src.path, src.range, src.gzip)) return decodeStructureHeader(line, src.label);
  throw new FormatError(`${src.label} is empty.`);
}

/**
 * The lines of a record; one the drive cannot read to its end (EIO: a scratched disc), or a gzip'd
 * copy that does not inflate to its end, ends there, named through `bad` — what was read is used as
 * from a record cut short (the reader chose it, or takes it only as hints, by its checks:
 * choose-records.ts).
 */
async function* readableLines(src: RecordSource, bad: BadLine): AsyncGenerator<string> {
  for await (const batch of readableBatches(src, bad)) yield* batch;
}

/** readableLines a read at a time (util/lines.ts readLineBatches). */
async function* readableBatches(src: RecordSource, bad: BadLine): AsyncGenerator<string[]> {
  try {
    if (src.unreadable === true) throw Object.assign(new Error('known unreadable'), { code: 'EIO' });
    if (src.lines !== undefined) {
      for await (const line of src.lines(bad)) yield [line];
      return;
    }
    // A rescued copy: bytes its map marks missing are zeros, not the record. A plain record is read up
    // to them; a compressed one not at all (its stream past them would not decode).
    const missing = await firstMissing(src.path, src.range?.start, src.range?.end);
    if (missing !== null) {
      const start = src.range?.start ?? 0;
      if (src.gzip !== true && missing > start) yield* readLineBatches(src.path, { start, end: missing }, false);
      bad(src.label, `the rest of the record is missing from this rescued copy (its map marks byte ${missing} on unread)`);
      return;
    }
    // An archive of a set in object storage: a copy inside it is read from the object, not the stand-in's zeros.
    const via = await standInReader(src.path);
    try {
      yield* readLineBatches(src.path, src.range, src.gzip, via);
    } finally {
      await via?.close();
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A copy whose gzip'd bytes are damaged is a damaged record, as a plain one cut short is.
    if (code === INFLATE_FAILED) bad(src.label, `the rest of the record does not inflate: its compressed bytes are damaged (${inflateWhy(e)})`);
    else if (code === 'EIO') bad(src.label, 'the rest of the record cannot be read (the drive failed its sectors)');
    else throw e;
  }
}

/** What zlib said of a copy that does not inflate ("invalid distance too far back", "unexpected end of file"). */
export function inflateWhy(e: unknown): string {
  const cause = (e as { cause?: unknown }).cause;
  return (cause instanceof Error ? cause.message : String(e)).replace(/\.$/, '');
}

/**
 * The entries of a structure record. With `skipFile`, a regular file's line that it accepts (by its
 * line number, the header being line 1, and its path, read as written without decoding the line
 * when it holds no escape) is passed over: unpack's files whose metadata their writer already set,
 * from this same record.
 */
export async function* structureEntries(src: RecordSource, bad: BadLine, skipFile?: (line: number, path: string) => boolean): AsyncGenerator<StructureEntry> {
  let n = 0;
  let ended = false;
  // Line numbers are the record's own only when no line is left out (a narrowing reader leaves out those it cannot read).
  const skip = src.lines === undefined ? skipFile : undefined;
  for await (const line of readableLines(src, bad)) {
    n++;
    if (n === 1) {
      decodeStructureHeader(line, src.label);
      continue;
    }
    if (ended) continue;
    let plain: string | null = null;
    if (skip !== undefined) {
      plain = plainFilePath(line);
      if (plain !== null && skip(n, plain)) continue;
    }
    if (decodeTrailer(line) !== null) {
      ended = true;
      continue;
    }
    const where = `${src.label} line ${n}`;
    let e: StructureEntry;
    try {
      e = decodeStructureEntry(line, where);
    } catch (err) {
      bad(where, reasonAt(err, where));
      continue;
    }
    // (A path with an escape is known only decoded.)
    if (skip !== undefined && plain === null && e.type === 'file' && skip(n, e.path)) continue;
    yield e;
  }
  if (n === 0) throw new FormatError(`${src.label} is empty.`);
  if (!ended) bad(src.label, 'the record is cut short (no end line); what it held was used');
}

/** FILE_PREFIX: how encodeStructureEntry begins every line; a regular file's path is followed by FILE_TYPE. */
const FILE_PREFIX = '{"path":"';
const FILE_TYPE = '","type":"file",';

/** The path of a regular file's structure line as written, when it holds no escape (else null: decode it). */
function plainFilePath(line: string): string | null {
  if (!line.startsWith(FILE_PREFIX)) return null;
  const end = line.indexOf('"', FILE_PREFIX.length);
  if (end < 0 || !line.startsWith(FILE_TYPE, end)) return null;
  const path = line.slice(FILE_PREFIX.length, end);
  return path.includes('\\') ? null : path;
}

export async function* catalogLines(src: RecordSource, bad: BadLine): AsyncGenerator<CatalogLine> {
  for await (const batch of catalogBatches(src)) {
    for (const c of batch) {
      if (c instanceof BadCatalogLine) bad(c.where, c.reason);
      else yield c;
    }
  }
}

/** A catalog line that did not decode (or a stretch that could not be read), in its place among the lines. */
export class BadCatalogLine {
  constructor(
    readonly where: string,
    readonly reason: string,
  ) {}
}

/**
 * catalogLines a read at a time: each batch holds the lines of one read, decoded, with the bad
 * ones (and what could not be read) in their places as BadCatalogLine — the caller names them in
 * order as it goes through the batch.
 */
export async function* catalogBatches(src: RecordSource): AsyncGenerator<(CatalogLine | BadCatalogLine)[]> {
  let n = 0;
  // A reader that reads on past unreadable sectors may have lost the header line itself: then the first line is a file's.
  let lostBefore = false;
  let out: (CatalogLine | BadCatalogLine)[] = [];
  const noted: BadLine = (where, reason) => {
    if (n === 0) lostBefore = true;
    out.push(new BadCatalogLine(where, reason));
  };
  for await (const lines of readableBatches(src, noted)) {
    for (const line of lines) {
      n++;
      if (n === 1) {
        try {
          const why = otherOwner(decodeCatalogHeader(line, src.label), src.owner);
          if (why === undefined) continue;
          // Another volume's catalog (copied into the wrong folder): none of its lines is this volume's.
          out.push(new BadCatalogLine(src.label, `it is not this volume's record (${why})`));
          yield out;
          return;
        } catch (e) {
          if (!lostBefore) throw e;
        }
      }
      if (decodeTrailer(line) !== null) {
        yield out;
        return;
      }
      const where = `${src.label} line ${n}`;
      try {
        out.push(decodeCatalogLine(line, where));
      } catch (e) {
        out.push(new BadCatalogLine(where, reasonAt(e, where)));
      }
    }
    yield out;
    out = [];
  }
  if (out.length > 0) yield out;
}

/** A bad line's reason without the place the problem already names (the decoders begin with it). */
function reasonAt(e: unknown, where: string): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.startsWith(`${where}: `) ? message.slice(where.length + 2) : message;
}
