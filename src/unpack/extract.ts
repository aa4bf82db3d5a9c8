/**
 * Turns one zip blob from an archive into a file under --dest: checks the zip's inner name against
 * the tar entry, inflates (in memory for small blobs, streamed for large ones), verifies size and
 * CRC, and only then gives the file its real name (written under a temporary one until then). A
 * damaged blob never becomes a file that looks good, nor does one cut short by a failed write.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { DamagedBlobError, FormatError, InterruptedError, UnsafePathError, XtarError } from '../errors.js';
import { blobNameMatches } from '../format/names.js';
import { checkSmallBlob } from '../format/blob-check.js';
import { memberAsBlob, parseLocalHeader, parseTrailer, trailerLength, type ParsedLocalHeader } from '../format/zip.js';
import { HOLE_BLOCK, isZero, type Destination, type PendingFile } from '../dest/destination.js';
import type { FileMeta } from '../dest/file-meta.js';
import type { RandomReader } from './random-reader.js';

/** Blobs up to this size are read and checked in memory before anything is written. */
const IN_MEMORY_MAX = 16 * 1024 * 1024;
const CHUNK = 1024 * 1024;

export interface ExtractedFile {
  name: string;
  size: number;
  /** Its owner, mode and times were set as it was written (ExtractOptions.meta). */
  metaSet?: boolean;
}

/** Writes a file's bytes, leaving holes for all-zero blocks when the file was sparse. */
class FileWriter {
  pos = 0;
  constructor(
    private readonly p: PendingFile,
    private readonly sparse: boolean,
  ) {}

  async write(buf: Buffer): Promise<void> {
    if (!this.sparse) {
      await this.writeAt(buf, this.pos);
      this.pos += buf.length;
      return;
    }
    for (let i = 0; i < buf.length; ) {
      const blockEnd = Math.min(buf.length, i + HOLE_BLOCK - (this.pos % HOLE_BLOCK));
      const piece = buf.subarray(i, blockEnd);
      if (!isZero(piece)) await this.writeAt(piece, this.pos);
      this.pos += piece.length;
      i = blockEnd;
    }
  }

  private async writeAt(buf: Buffer, at: number): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.p.fh.write(buf, done, buf.length - done, at + done);
      done += bytesWritten;
    }
  }

  async finish(): Promise<void> {
    // Holes at the end leave the file short: truncate up to its real size.
    if (this.sparse) await this.p.fh.truncate(this.pos);
  }
}

/** Where a blob's bytes come from: a range of one archive, or parts on several. */
export interface ByteSource {
  read(pos: number, length: number): Promise<Buffer>;
}

/** Bytes held in memory, as a ByteSource (a blob decrypted, or a bundle's member made a blob again). */
export function memorySource(bytes: Buffer): ByteSource {
  return { read: async (pos, length) => bytes.subarray(pos, pos + length) };
}

/** The bytes [start, start+size) of an archive file. */
export function sliceOf(r: RandomReader, start: number): ByteSource {
  return { read: (pos, length) => readReadable(r, start + pos, length) };
}

/** r.read, failing as damage when the bytes touch a sector the drive could not read: they are never presented as good. */
async function readReadable(r: RandomReader, pos: number, length: number): Promise<Buffer> {
  const b = await r.read(pos, length);
  const bad = r.unreadableIn(pos, length);
  if (bad !== null) throw new DamagedBlobError(`unreadable sectors at bytes ${bad.offset}–${bad.offset + bad.length - 1} of ${basename(r.path)}`);
  return b;
}

/** The concatenation of several byte ranges (the parts of a split blob, on several volumes). */
export function concatOf(parts: readonly { r: RandomReader; start: number; size: number }[]): ByteSource {
  return {
    async read(pos, length) {
      const out: Buffer[] = [];
      let at = 0;
      for (const p of parts) {
        const from = Math.max(pos, at);
        const to = Math.min(pos + length, at + p.size);
        if (from < to) out.push(Buffer.from(await readReadable(p.r, p.start + (from - at), to - from)));
        at += p.size;
        if (at >= pos + length) break;
      }
      return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
    },
  };
}

export interface ExtractOptions {
  /** Where to write; null only checks the blob (verify). */
  dest: Destination | null;
  /** Components of the folder the file goes in. */
  dir: readonly string[];
  /** The entry name the blob was found under (for the name check and messages). */
  entry: string;
  isSparse?: (path: string) => boolean;
  nameMatches?: (entry: string, inner: string) => boolean;
  /** The catalog's sha256 of the original bytes, checked after inflating. */
  sha256?: string;
  /** Write a damaged file as NAME.damaged instead of leaving it out. */
  keepDamaged?: boolean;
  /** Write the file under this name instead of the zip's (a file an earlier backup stored under another path). */
  saveAs?: string;
  /** The structure record's owner, mode and times for the file: a small blob's writer sets them by descriptor. */
  meta?: FileMeta;
}

/** A blob read whole (it and what it inflates to are small): left to do are the checks of its bytes and the write (finishSmallBlob). */
export interface SmallBlob {
  /** The zip blob. A view into the source's memory, valid only until the source is read again: copy it to keep it. */
  blob: Buffer;
  /** Where the file goes under --dest: its folder's components, then its name. */
  components: string[];
  /** Its path in messages. */
  shown: string;
  sha256: string | undefined;
  /** Leave all-zero blocks as holes (the file was sparse). */
  holes: boolean;
  /** Whether to keep a file already at its path (Destination.keepIf). */
  keep: number;
  /** The modification time the zip gives it (seconds, to 2 s). */
  mtimeSec: number;
  /** Owner, mode and times to set as it is written (null: left to the structure's pass). */
  meta: FileMeta | null;
}

/** A blob to stream (large, or kept when damaged): its local header is read and its name checked. */
export interface LargeBlob {
  src: ByteSource;
  size: number;
  header: ParsedLocalHeader;
  name: string;
  shown: string;
}

/**
 * Check a blob and (unless dest is null) write the file it holds: name check, inflate, size, CRC-32
 * and, when given, the catalog's sha256. A damaged blob never becomes a file under its real name.
 */
export async function extractBlob(src: ByteSource, size: number, o: ExtractOptions): Promise<ExtractedFile> {
  const b = await readBlob(src, size, o);
  return 'blob' in b ? finishSmallBlob(b, o.dest) : streamBlob(b, o);
}

/**
 * The first half of extractBlob: read a blob's local header and check its inner name against the
 * tar entry; a small blob (unless damaged ones are kept) is then read whole and cut-short checked.
 */
export async function readBlob(src: ByteSource, size: number, o: ExtractOptions): Promise<SmallBlob | LargeBlob> {
  const { dir, entry } = o;
  const nameMatches = o.nameMatches ?? blobNameMatches;
  // What a read returns may be a view into the reader's window, valid until its next read: each one
  // below is parsed or decoded (into fresh memory) before anything else is read, so none is copied.
  const first = await src.read(0, Math.min(size, 30 + 65535 * 2));
  const header = parseLocalHeader(first);
  checkName(entry, header.info.name, dir, nameMatches);
  const name = o.saveAs ?? header.info.name;
  const shown = [...dir, name].join('/');
  // A bundle's member (docs/FORMAT.md, "Bundles"): its range is its local header and data exactly,
  // which no whole blob's is (a blob's central directory follows its data). It is made a blob again.
  if (!header.zip64 && header.headerLength + header.info.compressedSize === size) {
    const member = first.length === size ? first : await src.read(0, size);
    if (member.length !== size) throw new FormatError('the blob is cut short', { code: 'ETRUNC', path: shown });
    if (header.info.size > IN_MEMORY_MAX) throw new DamagedBlobError(`a bundled file of ${header.info.size} bytes: more than a bundle holds`, shown);
    const blob = memberAsBlob(member, header) as Buffer;
    // With --keep-damaged it goes the way a whole blob does then: streamed into a temporary file, and
    // what inflates of a damaged one kept as NAME.damaged (its bytes are the blob's own copy, in memory).
    if (o.keepDamaged) return { src: memorySource(blob), size: blob.length, header: parseLocalHeader(blob), name, shown };
    const keep = o.dest === null ? Infinity : o.dest.keepIf(header.info.mtimeSec);
    return { blob, components: [...dir, name], shown, sha256: o.sha256, holes: (o.isSparse ?? (() => false))(shown), keep, mtimeSec: header.info.mtimeSec, meta: o.meta ?? null };
  }
  // In memory only when both the blob and what it inflates to are small (a blob of zeros can be tiny).
  if (size <= IN_MEMORY_MAX && header.info.size <= IN_MEMORY_MAX && !o.keepDamaged) {
    // (A blob shorter than the most a local header can take was read whole already: not read again.)
    const blob = first.length === size ? first : await src.read(0, size);
    if (blob.length !== size) throw new FormatError('the blob is cut short', { code: 'ETRUNC', path: shown });
    const keep = o.dest === null ? Infinity : o.dest.keepIf(header.info.mtimeSec);
    return { blob, components: [...dir, name], shown, sha256: o.sha256, holes: (o.isSparse ?? (() => false))(shown), keep, mtimeSec: header.info.mtimeSec, meta: o.meta ?? null };
  }
  return { src, size, header, name, shown };
}

/** Check a small blob and (unless dest is null) write it, on this thread: verified in memory, then written (writeVerifiedAt). */
export function finishSmallBlob(b: SmallBlob, dest: Destination | null): ExtractedFile {
  const data = checkSmallBlob(b.blob, b.shown, b.sha256);
  const metaSet = dest?.writeVerifiedFile(b.components, data, b.holes, b.keep, b.meta) ?? false;
  return { name: b.components[b.components.length - 1] as string, size: data.length, metaSet };
}

/** Stream a large blob through zlib into a temporary file, given its real name only once every check passed. */
export async function streamBlob(b: LargeBlob, o: ExtractOptions): Promise<ExtractedFile> {
  const { src, header: h, name, shown } = b;
  const { dir } = o;
  const dataStart = h.headerLength;
  const tl = trailerLength(h);
  if (h.headerLength + h.info.compressedSize + tl !== b.size) throw new DamagedBlobError('the zip does not fill its tar entry exactly', shown);
  const dest = o.dest;
  const p = dest === null ? null : await dest.createFile([...dir, name], dest.keepIf(h.info.mtimeSec));
  try {
    const w = p === null ? null : new FileWriter(p, (o.isSparse ?? (() => false))(shown));
    let crc = 0;
    let written = 0;
    const hash = createHash('sha256');
    async function* compressed(): AsyncGenerator<Buffer> {
      for (let pos = 0; pos < h.info.compressedSize; ) {
        dest?.stopIfInterrupted();
        const c = await src.read(dataStart + pos, Math.min(CHUNK, h.info.compressedSize - pos));
        if (c.length === 0) throw new FormatError('the blob is cut short', { code: 'ETRUNC' });
        pos += c.length;
        yield Buffer.from(c);
      }
    }
    const input = Readable.from(compressed());
    const plain = h.info.method === 8 ? input.pipe(zlib.createInflateRaw({ chunkSize: CHUNK })) : input;
    // pipe() passes no error on: a read that fails (or an interruption) must end the loop below, not go unhandled.
    if (plain !== input) input.once('error', (e) => plain.destroy(e));
    try {
      for await (const c of plain as AsyncIterable<Buffer>) {
        if (written + c.length > h.info.size) throw new DamagedBlobError('the blob inflates to more bytes than its zip header says', shown);
        crc = zlib.crc32(c, crc);
        hash.update(c);
        written += c.length;
        await w?.write(c);
      }
      if (written !== h.info.size) throw new DamagedBlobError(`the blob inflates to ${written} bytes, not ${h.info.size}`, shown);
      if (crc !== h.info.crc32) throw new DamagedBlobError('the CRC-32 of the restored bytes does not match', shown);
      if (o.sha256 !== undefined && hash.digest('hex') !== o.sha256) throw new DamagedBlobError("the restored bytes do not match the catalog's sha256", shown);
      parseTrailer(Buffer.from(await src.read(dataStart + h.info.compressedSize, tl)), h);
    } catch (e) {
      // A write that failed (ENOSPC, ...) is the destination's fault, not the archive's.
      const syscall = (e as NodeJS.ErrnoException).syscall;
      if (syscall === 'write' || syscall === 'ftruncate' || e instanceof InterruptedError) throw e;
      const err = e instanceof XtarError ? e : new DamagedBlobError(`the compressed data is damaged (${(e as Error).message})`, shown);
      if (o.keepDamaged && p !== null && w !== null) {
        await w.finish();
        await p.commitAs(`${name}.damaged`);
        throw new DamagedBlobError(`${err.message}; what could be read is in ${name}.damaged`, shown);
      }
      throw err;
    }
    await w?.finish();
    await p?.commit();
    return { name, size: written };
  } catch (e) {
    await p?.discard();
    throw e;
  }
}

function checkName(entry: string, inner: string, dir: readonly string[], nameMatches: (entry: string, inner: string) => boolean): void {
  if (!nameMatches(entry, inner)) {
    throw new UnsafePathError(
      `Refused ${[...dir, entry].join('/')}: the zip inside holds ${JSON.stringify(inner)}, not the name its tar entry gives.`,
      [...dir, entry].join('/'),
    );
  }
}
