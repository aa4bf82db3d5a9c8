/**
 * The single-entry zip codec: one file's bytes, deflated or stored, with its name, mtime and mode, as
 * a complete zip of its own (docs/FORMAT.md, "Zip blobs"). Strict on reading — only the layout xtar
 * writes, no data descriptors, encryption, comments or foreign extra fields; it is not a general zip
 * reader and knows nothing of tar or of files on disk.
 */
import { constants as bufferConstants } from 'node:buffer';
import zlib from 'node:zlib';
import { DamagedBlobError, FormatError } from '../errors.js';

// ---- numbers of the format -----------------------------------------------------------------------

/** Original sizes from here up use zip64, so deflate's worst-case growth never overflows 32 bits. */
export const ZIP64_THRESHOLD = 0xff000000;

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const EOCD_SIG = 0x06054b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;

const LOCAL_FIXED = 30;
const CENTRAL_FIXED = 46;
const EOCD_LENGTH = 22;
const ZIP64_EOCD_LENGTH = 56;
const ZIP64_LOCATOR_LENGTH = 20;
/** "Size of zip64 end of central directory record": the record minus its first 12 bytes. */
const ZIP64_EOCD_SIZE_FIELD = ZIP64_EOCD_LENGTH - 12;
const ZIP64_EXTRA_ID = 0x0001;
const ZIP64_EXTRA_DATA = 16; // uncompressed size (u64) + compressed size (u64)
const ZIP64_EXTRA_LENGTH = 4 + ZIP64_EXTRA_DATA;

const FLAG_UTF8 = 0x0800;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
const VERSION_NEEDED = 20;
const VERSION_NEEDED_ZIP64 = 45;
const HOST_UNIX = 3;
const MADE_BY_UNIX = (HOST_UNIX << 8) | 30; // 0x031E
const MADE_BY_UNIX_ZIP64 = (HOST_UNIX << 8) | VERSION_NEEDED_ZIP64; // 0x032D
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const PERMISSION_BITS = 0o7777;
/** Internal attributes bit 0, "apparently text", which Info-ZIP sets; the only bit allowed. */
const INTERNAL_TEXT = 0x0001;
/** The mode decodeZipBlob reports when the central directory was not written by a Unix host. */
export const DEFAULT_MODE = 0o644;

/** Bytes of a large file's head deflated at level 1 to decide whether deflating it is worth it. */
export const PROBE_BYTES = 65536;
/** A probe must save at least this share of its bytes for the file to be deflated. */
export const PROBE_MIN_SAVING = 0.03;
const PROBE_LEVEL = 1;

// Local file header field offsets.
const L_SIG = 0;
const L_VERSION_NEEDED = 4;
const L_FLAGS = 6;
const L_METHOD = 8;
const L_TIME = 10;
const L_DATE = 12;
const L_CRC = 14;
const L_COMPRESSED_SIZE = 18;
const L_SIZE = 22;
const L_NAME_LENGTH = 26;
const L_EXTRA_LENGTH = 28;
const L_NAME = LOCAL_FIXED;

// Central directory header field offsets. C_VERSION_NEEDED … C_EXTRA_LENGTH+2 mirror L_VERSION_NEEDED … L_NAME byte for byte.
const C_SIG = 0;
const C_MADE_BY = 4;
const C_VERSION_NEEDED = 6;
const C_COMMENT_LENGTH = 32;
const C_DISK = 34;
const C_INTERNAL_ATTRS = 36;
const C_EXTERNAL_ATTRS = 38;
const C_LOCAL_OFFSET = 42;
const C_NAME = CENTRAL_FIXED;

// Zip64 extra field offsets (from the start of the field).
const X_ID = 0;
const X_DATA_SIZE = 2;
const X_SIZE = 4;
const X_COMPRESSED_SIZE = 12;

// Zip64 end of central directory record offsets.
const Z_SIG = 0;
const Z_RECORD_SIZE = 4;
const Z_MADE_BY = 12;
const Z_VERSION_NEEDED = 14;
const Z_DISK = 16;
const Z_CD_DISK = 20;
const Z_ENTRIES_ON_DISK = 24;
const Z_ENTRIES = 32;
const Z_CD_SIZE = 40;
const Z_CD_OFFSET = 48;

// Zip64 locator offsets.
const ZL_SIG = 0;
const ZL_DISK = 4;
const ZL_EOCD_OFFSET = 8;
const ZL_TOTAL_DISKS = 16;

// End of central directory offsets.
const E_SIG = 0;
const E_DISK = 4;
const E_CD_DISK = 6;
const E_ENTRIES_ON_DISK = 8;
const E_ENTRIES = 10;
const E_CD_SIZE = 12;
const E_CD_OFFSET = 16;
const E_COMMENT_LENGTH = 20;

// DOS time range (Unix seconds, UTC).
const DOS_MIN_SEC = Date.UTC(1980, 0, 1, 0, 0, 0) / 1000;
const DOS_MAX_SEC = Date.UTC(2107, 11, 31, 23, 59, 58) / 1000;

// ---- types ---------------------------------------------------------------------------------------

export interface ZipEntryInfo {
  /** The file's own name (one path component), UTF-8 in the zip. */
  name: string;
  method: 0 | 8;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Unix seconds; stored as DOS time in UTC, so read back to 2-second precision within 1980…2107. */
  mtimeSec: number;
  /** Permission bits (& 0o7777); the file type is always "regular". */
  mode: number;
}

export interface ParsedLocalHeader {
  /** `mode` is not in the local header: it is 0 here, and parseTrailer() returns the real one. */
  info: ZipEntryInfo;
  zip64: boolean;
  /** Bytes from the start of the blob to the first byte of data. */
  headerLength: number;
  /** A copy of the local header's bytes, which the central directory must repeat. */
  bytes: Buffer;
}

// ---- small helpers -------------------------------------------------------------------------------

function bad(message: string): never {
  throw new FormatError(`Zip blob: ${message}.`, { code: 'EZIP' });
}

export function needsZip64(size: number): boolean {
  return size >= ZIP64_THRESHOLD;
}

/** Bytes a blob takes beyond its compressed data, for a name of this many UTF-8 bytes. */
export function zipOverhead(nameByteLength: number, zip64: boolean): number {
  const extra = zip64 ? ZIP64_EXTRA_LENGTH : 0;
  const records = zip64 ? ZIP64_EOCD_LENGTH + ZIP64_LOCATOR_LENGTH : 0;
  return LOCAL_FIXED + nameByteLength + extra + CENTRAL_FIXED + nameByteLength + extra + records + EOCD_LENGTH;
}

/** Why `name` cannot be a blob's inner name, or null when it can. */
export function zipNameProblem(name: string): string | null {
  if (name.length === 0) return 'the name is empty';
  if (name === '.' || name === '..') return `the name is ${JSON.stringify(name)}`;
  // '/' only: a backslash is an ordinary character in a POSIX file name, which xtar keeps, and
  // Info-ZIP unzip keeps it as such in a zip made by a Unix host.
  if (name.includes('/')) return `the name ${JSON.stringify(name)} holds a path separator`;
  if (name.includes('\0')) return 'the name holds a NUL byte';
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.toString('utf8') !== name) return 'the name is not valid Unicode';
  if (bytes.length > U16_MAX) return 'the name is longer than 65535 bytes';
  return null;
}

/** DOS date and time of a Unix time, in UTC, clamped to 1980-01-01 00:00:00 … 2107-12-31 23:59:58. */
export function dosDateTime(mtimeSec: number): { date: number; time: number } {
  const sec = Number.isNaN(mtimeSec) ? DOS_MIN_SEC : Math.min(DOS_MAX_SEC, Math.max(DOS_MIN_SEC, Math.floor(mtimeSec)));
  const d = new Date(sec * 1000);
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

/** Unix seconds of a DOS date and time read as UTC, or null when they are not a real date and time. */
export function fromDosDateTime(date: number, time: number): number | null {
  const sec = Date.UTC((date >> 9) + 1980, ((date >> 5) & 0xf) - 1, date & 0x1f, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2) / 1000;
  // Date.UTC rolls month 13, day 0, hour 24 … over into valid dates: a real one encodes back to itself.
  const back = dosDateTime(sec);
  return back.date === date && back.time === time ? sec : null;
}

/** Whether deflating is worth it, judged from a sample: level 1 must save at least 3%. */
export function probeCompressible(sample: Buffer): boolean {
  if (sample.length === 0) return false;
  return zlib.deflateRawSync(sample, { level: PROBE_LEVEL }).length < sample.length * (1 - PROBE_MIN_SAVING);
}

// ---- writing -------------------------------------------------------------------------------------

function checkEncodable(e: ZipEntryInfo, zip64: boolean, name: Buffer): void {
  const problem = zipNameProblem(e.name);
  if (problem !== null) throw new FormatError(`Cannot store this file in a zip blob: ${problem}.`, { code: 'EZIP' });
  if (e.method !== METHOD_STORED && e.method !== METHOD_DEFLATE) throw new RangeError(`zip: unknown method ${String(e.method)}`);
  for (const n of [e.size, e.compressedSize]) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`zip: bad size ${n}`);
  }
  if (!zip64 && (needsZip64(e.size) || e.compressedSize >= U32_MAX)) throw new RangeError('zip: these sizes need zip64');
  if (name.length > U16_MAX) throw new RangeError('zip: name too long');
}

function zip64Extra(e: ZipEntryInfo): Buffer {
  const b = Buffer.alloc(ZIP64_EXTRA_LENGTH);
  b.writeUInt16LE(ZIP64_EXTRA_ID, X_ID);
  b.writeUInt16LE(ZIP64_EXTRA_DATA, X_DATA_SIZE);
  b.writeBigUInt64LE(BigInt(e.size), X_SIZE);
  b.writeBigUInt64LE(BigInt(e.compressedSize), X_COMPRESSED_SIZE);
  return b;
}

/** The local header with name and extra; the central directory repeats bytes 4… of it. */
function localHeader(e: ZipEntryInfo, zip64: boolean, name: Buffer): Buffer {
  const extraLength = zip64 ? ZIP64_EXTRA_LENGTH : 0;
  const b = Buffer.alloc(LOCAL_FIXED + name.length + extraLength);
  const { date, time } = dosDateTime(e.mtimeSec);
  b.writeUInt32LE(LOCAL_SIG, L_SIG);
  b.writeUInt16LE(zip64 ? VERSION_NEEDED_ZIP64 : VERSION_NEEDED, L_VERSION_NEEDED);
  b.writeUInt16LE(FLAG_UTF8, L_FLAGS);
  b.writeUInt16LE(e.method, L_METHOD);
  b.writeUInt16LE(time, L_TIME);
  b.writeUInt16LE(date, L_DATE);
  b.writeUInt32LE(e.crc32 >>> 0, L_CRC);
  b.writeUInt32LE(zip64 ? U32_MAX : e.compressedSize, L_COMPRESSED_SIZE);
  b.writeUInt32LE(zip64 ? U32_MAX : e.size, L_SIZE);
  b.writeUInt16LE(name.length, L_NAME_LENGTH);
  b.writeUInt16LE(extraLength, L_EXTRA_LENGTH);
  name.copy(b, L_NAME);
  if (zip64) zip64Extra(e).copy(b, L_NAME + name.length);
  return b;
}

/** Zip64 end record and locator (when zip64), then the end of central directory record. */
function endRecords(cdSize: number, cdOffset: number, zip64: boolean): Buffer {
  const b = Buffer.alloc((zip64 ? ZIP64_EOCD_LENGTH + ZIP64_LOCATOR_LENGTH : 0) + EOCD_LENGTH);
  let at = 0;
  if (zip64) {
    b.writeUInt32LE(ZIP64_EOCD_SIG, Z_SIG);
    b.writeBigUInt64LE(BigInt(ZIP64_EOCD_SIZE_FIELD), Z_RECORD_SIZE);
    b.writeUInt16LE(MADE_BY_UNIX_ZIP64, Z_MADE_BY);
    b.writeUInt16LE(VERSION_NEEDED_ZIP64, Z_VERSION_NEEDED);
    b.writeUInt32LE(0, Z_DISK);
    b.writeUInt32LE(0, Z_CD_DISK);
    b.writeBigUInt64LE(1n, Z_ENTRIES_ON_DISK);
    b.writeBigUInt64LE(1n, Z_ENTRIES);
    b.writeBigUInt64LE(BigInt(cdSize), Z_CD_SIZE);
    b.writeBigUInt64LE(BigInt(cdOffset), Z_CD_OFFSET);
    at = ZIP64_EOCD_LENGTH;
    b.writeUInt32LE(ZIP64_LOCATOR_SIG, at + ZL_SIG);
    b.writeUInt32LE(0, at + ZL_DISK);
    b.writeBigUInt64LE(BigInt(cdOffset + cdSize), at + ZL_EOCD_OFFSET);
    b.writeUInt32LE(1, at + ZL_TOTAL_DISKS);
    at += ZIP64_LOCATOR_LENGTH;
  }
  b.writeUInt32LE(EOCD_SIG, at + E_SIG);
  b.writeUInt16LE(0, at + E_DISK);
  b.writeUInt16LE(0, at + E_CD_DISK);
  b.writeUInt16LE(1, at + E_ENTRIES_ON_DISK);
  b.writeUInt16LE(1, at + E_ENTRIES);
  b.writeUInt32LE(cdSize, at + E_CD_SIZE);
  b.writeUInt32LE(cdOffset >= U32_MAX ? U32_MAX : cdOffset, at + E_CD_OFFSET);
  b.writeUInt16LE(0, at + E_COMMENT_LENGTH);
  return b;
}

/**
 * Local header bytes. Same length for the same name and zip64 flag whatever the sizes/crc, so a
 * streaming writer can write it with zeros first and overwrite it in place once the data is done.
 */
export function encodeLocalHeader(e: ZipEntryInfo, zip64: boolean): Buffer {
  const name = Buffer.from(e.name, 'utf8');
  checkEncodable(e, zip64, name);
  return localHeader(e, zip64, name);
}

/** Central directory + (zip64 records) + EOCD, for a blob whose local header + data occupy `cdOffset` bytes. */
export function encodeTrailer(e: ZipEntryInfo, zip64: boolean, cdOffset: number): Buffer {
  const name = Buffer.from(e.name, 'utf8');
  checkEncodable(e, zip64, name);
  if (!Number.isSafeInteger(cdOffset) || cdOffset < 0) throw new RangeError(`zip: bad central directory offset ${cdOffset}`);
  if (!zip64 && cdOffset >= U32_MAX) throw new RangeError('zip: the central directory offset needs zip64');
  const local = localHeader(e, zip64, name);
  const cd = Buffer.alloc(CENTRAL_FIXED + local.length - LOCAL_FIXED);
  cd.writeUInt32LE(CENTRAL_SIG, C_SIG);
  cd.writeUInt16LE(zip64 ? MADE_BY_UNIX_ZIP64 : MADE_BY_UNIX, C_MADE_BY);
  local.copy(cd, C_VERSION_NEEDED, L_VERSION_NEEDED, LOCAL_FIXED); // needed … extra length
  cd.writeUInt16LE(0, C_COMMENT_LENGTH);
  cd.writeUInt16LE(0, C_DISK);
  cd.writeUInt16LE(0, C_INTERNAL_ATTRS);
  cd.writeUInt32LE(((S_IFREG | (e.mode & PERMISSION_BITS)) << 16) >>> 0, C_EXTERNAL_ATTRS);
  cd.writeUInt32LE(0, C_LOCAL_OFFSET);
  local.copy(cd, C_NAME, L_NAME); // name and extra
  return Buffer.concat([cd, endRecords(cd.length, cdOffset, zip64)]);
}

/** Raw deflate of a whole buffer at a zlib level 1–9; any backend whose output every inflater reads. */
export type WholeDeflate = (raw: Buffer, level: number) => Buffer;

/**
 * Whole blob in memory. Compresses with `opts.deflate` (zlib's deflateRawSync unless given) at `level`
 * (0 = always store) and stores instead when deflate does not make it smaller; a file of 64 KiB or
 * more is first probed (its first 64 KiB at level 1) and stored without deflating the whole when the
 * probe saves less than 3%.
 */
export function encodeZipBlob(
  name: string,
  raw: Buffer,
  opts: { level: number; mtimeSec: number; mode: number; zip64?: boolean; deflate?: WholeDeflate; crc32?: Crc32 },
): { blob: Buffer; info: ZipEntryInfo; zip64: boolean } {
  const zip64 = opts.zip64 === true || needsZip64(raw.length);
  let data = raw;
  let method: 0 | 8 = METHOD_STORED;
  const worthTrying = opts.level > 0 && raw.length > 0 && (raw.length < PROBE_BYTES || probeCompressible(raw.subarray(0, PROBE_BYTES)));
  if (worthTrying) {
    const deflated = opts.deflate === undefined ? zlib.deflateRawSync(raw, { level: opts.level }) : opts.deflate(raw, opts.level);
    if (deflated.length < raw.length) {
      data = deflated;
      method = METHOD_DEFLATE;
    }
  }
  const info: ZipEntryInfo = { name, method, crc32: (opts.crc32 ?? zlib.crc32)(raw), compressedSize: data.length, size: raw.length, mtimeSec: opts.mtimeSec, mode: opts.mode };
  const local = encodeLocalHeader(info, zip64);
  const trailer = encodeTrailer(info, zip64, local.length + data.length);
  return { blob: Buffer.concat([local, data, trailer]), info, zip64 };
}

// ---- reading -------------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function readInnerName(bytes: Buffer): string {
  let name: string;
  try {
    name = utf8.decode(bytes);
  } catch {
    bad('the name is not valid UTF-8');
  }
  const problem = zipNameProblem(name);
  if (problem !== null) bad(problem);
  return name;
}

function readU64(b: Buffer, at: number, what: string): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`the ${what} is beyond 2^53`);
  return Number(v);
}

/**
 * Parse and validate the local header at the start of `buf` (bytes after the header are ignored).
 * Throws FormatError for anything xtar does not write, or when `buf` ends inside the header.
 */
export function parseLocalHeader(buf: Buffer): ParsedLocalHeader {
  if (buf.length < LOCAL_FIXED) bad('cut short inside the local header');
  if (buf.readUInt32LE(L_SIG) !== LOCAL_SIG) bad('no local header signature');
  const version = buf.readUInt16LE(L_VERSION_NEEDED);
  const flags = buf.readUInt16LE(L_FLAGS);
  const method = buf.readUInt16LE(L_METHOD);
  if (version > VERSION_NEEDED_ZIP64) bad(`it needs zip version ${version / 10}`);
  if (flags !== 0 && flags !== FLAG_UTF8) bad(`unsupported flags 0x${flags.toString(16).padStart(4, '0')} (encryption, data descriptor or other)`);
  if (method !== METHOD_STORED && method !== METHOD_DEFLATE) bad(`unsupported compression method ${method}`);
  const mtimeSec = fromDosDateTime(buf.readUInt16LE(L_DATE), buf.readUInt16LE(L_TIME));
  if (mtimeSec === null) bad('the modification time is not a valid DOS date and time');

  const nameLength = buf.readUInt16LE(L_NAME_LENGTH);
  const extraLength = buf.readUInt16LE(L_EXTRA_LENGTH);
  const headerLength = LOCAL_FIXED + nameLength + extraLength;
  if (buf.length < headerLength) bad('cut short inside the local header');
  const name = readInnerName(buf.subarray(L_NAME, L_NAME + nameLength));

  let compressedSize = buf.readUInt32LE(L_COMPRESSED_SIZE);
  let size = buf.readUInt32LE(L_SIZE);
  let zip64 = false;
  if (compressedSize === U32_MAX && size === U32_MAX) {
    const x = buf.subarray(L_NAME + nameLength, headerLength);
    if (x.length !== ZIP64_EXTRA_LENGTH || x.readUInt16LE(X_ID) !== ZIP64_EXTRA_ID || x.readUInt16LE(X_DATA_SIZE) !== ZIP64_EXTRA_DATA) {
      bad('zip64 sizes without exactly one well-formed zip64 extra field');
    }
    size = readU64(x, X_SIZE, 'size');
    compressedSize = readU64(x, X_COMPRESSED_SIZE, 'compressed size');
    zip64 = true;
  } else {
    if (compressedSize === U32_MAX || size === U32_MAX) bad('only one of the sizes says zip64');
    if (extraLength !== 0) bad('an extra field where none is allowed');
  }
  if (method === METHOD_STORED && compressedSize !== size) bad('a stored entry whose compressed size differs from its size');

  return {
    info: { name, method, crc32: buf.readUInt32LE(L_CRC), compressedSize, size, mtimeSec, mode: 0 },
    zip64,
    headerLength,
    bytes: Buffer.from(buf.subarray(0, headerLength)),
  };
}

/** Length of the trailer expected after the data for this header. */
export function trailerLength(h: ParsedLocalHeader): number {
  const nameAndExtra = h.headerLength - LOCAL_FIXED;
  return CENTRAL_FIXED + nameAndExtra + (h.zip64 ? ZIP64_EOCD_LENGTH + ZIP64_LOCATOR_LENGTH : 0) + EOCD_LENGTH;
}

/**
 * Validate the trailer (everything after the data): the central directory repeats the local header,
 * the end records are exactly those of a one-entry zip at these offsets, nothing follows. Returns the
 * permission bits from the external attributes, or null when the made-by host is not Unix.
 */
export function parseTrailer(trailer: Buffer, h: ParsedLocalHeader): { mode: number | null } {
  const want = trailerLength(h);
  if (trailer.length < want) bad('cut short inside the central directory or end records');
  if (trailer.length > want) bad(`${trailer.length - want} unexpected bytes after the end of central directory`);
  if (h.bytes.length !== h.headerLength) bad('the local header was not read whole');

  if (trailer.readUInt32LE(C_SIG) !== CENTRAL_SIG) bad('no central directory signature');
  const cdSize = CENTRAL_FIXED + h.headerLength - LOCAL_FIXED;
  const mirrorsLocal =
    trailer.subarray(C_VERSION_NEEDED, C_COMMENT_LENGTH).equals(h.bytes.subarray(L_VERSION_NEEDED, LOCAL_FIXED)) &&
    trailer.subarray(C_NAME, cdSize).equals(h.bytes.subarray(L_NAME));
  if (!mirrorsLocal) bad('the central directory does not agree with the local header');
  if (trailer.readUInt16LE(C_COMMENT_LENGTH) !== 0) bad('the entry has a comment');
  if (trailer.readUInt16LE(C_DISK) !== 0 || trailer.readUInt32LE(C_LOCAL_OFFSET) !== 0) bad('the central directory points elsewhere');
  if ((trailer.readUInt16LE(C_INTERNAL_ATTRS) & ~INTERNAL_TEXT) !== 0) bad('unexpected internal attributes');

  let mode: number | null = null;
  if (trailer.readUInt16LE(C_MADE_BY) >> 8 === HOST_UNIX) {
    const unixMode = trailer.readUInt32LE(C_EXTERNAL_ATTRS) >>> 16;
    if ((unixMode & S_IFMT) !== S_IFREG) bad(`the entry is not a regular file (mode 0${unixMode.toString(8)})`);
    mode = unixMode & PERMISSION_BITS;
  }

  const cdOffset = h.headerLength + h.info.compressedSize;
  if (!h.zip64 && cdOffset >= U32_MAX) bad('the central directory lies beyond 4 GiB without zip64');
  const ends = trailer.subarray(cdSize);
  const expected = endRecords(cdSize, cdOffset, h.zip64);
  if (h.zip64) {
    if (ends.readUInt32LE(Z_SIG) !== ZIP64_EOCD_SIG) bad('no zip64 end of central directory signature');
    if (ends.readUInt32LE(ZIP64_EOCD_LENGTH + ZL_SIG) !== ZIP64_LOCATOR_SIG) bad('no zip64 end of central directory locator signature');
    expected.writeUInt16LE(ends.readUInt16LE(Z_MADE_BY), Z_MADE_BY); // any writer may make it
  }
  if (ends.readUInt32LE(ends.length - EOCD_LENGTH + E_SIG) !== EOCD_SIG) bad('no end of central directory signature');
  if (!ends.equals(expected)) bad('the end records do not describe this one entry');
  return { mode };
}

/** The largest output chunk decodeZipBlob asks zlib for (a hostile header's size is not trusted further). */
const INFLATE_CHUNK_MAX = 1024 * 1024;

/**
 * Inflates a raw deflate stream that must give exactly `size` bytes (libdeflate's, in the workers):
 * throws when it is damaged or its length differs; `consumed` is how much of `compressed` it used.
 */
export type WholeInflate = (compressed: Buffer, size: number) => { out: Buffer; consumed: number };

/** The CRC-32 of all of `data` (zlib's crc32 unless a faster one is given: libdeflate's, in the workers). */
export type Crc32 = (data: Uint8Array) => number;

/** Faster codecs the workers hand decodeZipBlob (each zlib's when not given). */
export interface BlobCodec {
  inflate?: WholeInflate;
  crc32?: Crc32;
}

/**
 * The most bytes a deflate stream of `compressedLength` bytes can give (a run of 258-byte matches,
 * about 1032 to 1): a header claiming more is damaged, and a WholeInflate, which makes its output
 * whole before it starts, is not asked to make room for it.
 */
function mostInflated(compressedLength: number): number {
  return compressedLength * 1032 + 1024;
}

/**
 * Strict in-memory read of a whole blob: parse, inflate or copy, verify size and CRC-32, check the
 * trailer. Inflates and checks the CRC-32 with `codec`'s when given (zlib's otherwise).
 */
export function decodeZipBlob(blob: Buffer, codec: BlobCodec = {}): { info: ZipEntryInfo; data: Buffer } {
  const { inflate, crc32: crcOf = zlib.crc32 } = codec;
  const h = parseLocalHeader(blob);
  const { size, compressedSize, method, crc32 } = h.info;
  const dataEnd = h.headerLength + compressedSize;
  if (dataEnd > blob.length) bad('cut short inside the data');
  const { mode } = parseTrailer(blob.subarray(dataEnd), h);
  if (size >= bufferConstants.MAX_LENGTH) bad(`it holds ${size} bytes, too many to restore in memory`);

  const compressed = blob.subarray(h.headerLength, dataEnd);
  let data: Buffer;
  if (method === METHOD_STORED) {
    data = Buffer.from(compressed);
  } else {
    let consumed: number;
    try {
      if (inflate !== undefined && size <= mostInflated(compressed.length)) {
        ({ out: data, consumed } = inflate(compressed, size));
      } else {
        // maxOutputLength stops a hostile stream from inflating far past its declared size. An output
        // chunk one byte larger than that size (up to INFLATE_CHUNK_MAX) takes the whole file at once:
        // one allocation instead of a 16 KiB chunk at a time and a copy to join them.
        const chunkSize = Math.min(INFLATE_CHUNK_MAX, Math.max(zlib.constants.Z_MIN_CHUNK, size + 1));
        const r = zlib.inflateRawSync(compressed, { info: true, maxOutputLength: Math.max(1, size + 1), chunkSize }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
        data = r.buffer;
        consumed = r.engine.bytesWritten;
      }
    } catch (e) {
      throw new DamagedBlobError(`The compressed data of zip blob ${JSON.stringify(h.info.name)} is damaged (${e instanceof Error ? e.message : String(e)}).`);
    }
    if (consumed !== compressed.length) {
      throw new DamagedBlobError(`The deflate stream of zip blob ${JSON.stringify(h.info.name)} ends ${compressed.length - consumed} bytes before its data does.`);
    }
  }
  if (data.length !== size) throw new DamagedBlobError(`Zip blob ${JSON.stringify(h.info.name)} holds ${data.length} bytes, not the ${size} its header says.`);
  if (crcOf(data) !== crc32) throw new DamagedBlobError(`The CRC-32 of zip blob ${JSON.stringify(h.info.name)} does not match its bytes.`);
  return { info: { ...h.info, mode: mode ?? DEFAULT_MODE }, data };
}

// ---- bundles -------------------------------------------------------------------------------------

/**
 * A bundle (`pack --bundle`, docs/FORMAT.md "Bundles"): the single-entry blobs of several small files
 * of one folder made one plain multi-entry zip — each member's local header and data as in its own
 * blob, one after the other, then their central directory entries (each pointing at its member) and
 * one end record. `unzip` restores every member; a reader takes a member alone by its byte range
 * (local header and data: `ranges`), which is what each member's catalog line gives.
 */
export function encodeBundle(blobs: readonly Buffer[]): { bundle: Buffer; ranges: { offset: number; length: number }[] } {
  if (blobs.length < 1 || blobs.length > U16_MAX - 1) throw new RangeError(`zip: a bundle of ${blobs.length} members`);
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  const ranges: { offset: number; length: number }[] = [];
  let at = 0;
  for (const blob of blobs) {
    const h = parseLocalHeader(blob);
    if (h.zip64) throw new RangeError('zip: a zip64 blob cannot be bundled');
    const dataEnd = h.headerLength + h.info.compressedSize;
    const cdLength = CENTRAL_FIXED + h.headerLength - LOCAL_FIXED;
    const cd = Buffer.from(blob.subarray(dataEnd, dataEnd + cdLength));
    if (cd.length !== cdLength || cd.readUInt32LE(C_SIG) !== CENTRAL_SIG) throw new RangeError('zip: not a single-entry blob');
    cd.writeUInt32LE(at, C_LOCAL_OFFSET);
    locals.push(blob.subarray(0, dataEnd));
    centrals.push(cd);
    ranges.push({ offset: at, length: dataEnd });
    at += dataEnd;
  }
  if (at >= U32_MAX) throw new RangeError('zip: a bundle beyond 4 GiB');
  const cdSize = centrals.reduce((n, c) => n + c.length, 0);
  const end = Buffer.alloc(EOCD_LENGTH);
  end.writeUInt32LE(EOCD_SIG, E_SIG);
  end.writeUInt16LE(blobs.length, E_ENTRIES_ON_DISK);
  end.writeUInt16LE(blobs.length, E_ENTRIES);
  end.writeUInt32LE(cdSize, E_CD_SIZE);
  end.writeUInt32LE(at, E_CD_OFFSET);
  return { bundle: Buffer.concat([...locals, ...centrals, end]), ranges };
}

/**
 * A bundle's member read alone (its local header and data, exactly: `member.length` is
 * headerLength + compressedSize) made a single-entry blob again, with the central directory and end
 * record it would have had on its own (mode 0644: a member's mode is in the bundle's central
 * directory and in the structure record, which sets it). Null when `member` is not exactly one
 * local header and its data (then it is a whole blob, or damaged).
 */
export function memberAsBlob(member: Buffer, parsed?: ParsedLocalHeader): Buffer | null {
  const h = parsed ?? parseLocalHeader(member);
  if (h.zip64 || h.headerLength + h.info.compressedSize !== member.length) return null;
  // The central directory entry repeats the local header (from its version on) and the name: copied, not encoded again.
  const cdSize = CENTRAL_FIXED + h.headerLength - LOCAL_FIXED;
  const out = Buffer.alloc(member.length + cdSize + EOCD_LENGTH);
  member.copy(out, 0);
  const cd = out.subarray(member.length);
  cd.writeUInt32LE(CENTRAL_SIG, C_SIG);
  cd.writeUInt16LE(MADE_BY_UNIX, C_MADE_BY);
  h.bytes.copy(cd, C_VERSION_NEEDED, L_VERSION_NEEDED, LOCAL_FIXED);
  cd.writeUInt32LE(((S_IFREG | DEFAULT_MODE) << 16) >>> 0, C_EXTERNAL_ATTRS);
  h.bytes.copy(cd, C_NAME, L_NAME);
  endRecords(cdSize, member.length, false).copy(out, member.length + cdSize);
  return out;
}

/** The length of the member at `at` of a bundle (its local header and data), when a local header parses there and its data fits; else null. */
function memberLengthAt(bundle: Buffer, at: number): number | null {
  try {
    const h = parseLocalHeader(bundle.subarray(at));
    const length = h.headerLength + h.info.compressedSize;
    return at + length <= bundle.length ? length : null;
  } catch {
    return null;
  }
}

/**
 * The members of a bundle's bytes, found by their local headers one after another: each one's range
 * (`ok`), or a stretch whose local header did not parse (`damaged`, from where it was expected to the
 * next local header that parses, or to the central directory). Stops at the central directory.
 */
export function bundleMembers(bundle: Buffer): { offset: number; length: number; ok: boolean }[] {
  const out: { offset: number; length: number; ok: boolean }[] = [];
  let at = 0;
  while (at + 4 <= bundle.length && bundle.readUInt32LE(at) !== CENTRAL_SIG && bundle.readUInt32LE(at) !== EOCD_SIG) {
    const length = memberLengthAt(bundle, at);
    if (length !== null) {
      out.push({ offset: at, length, ok: true });
      at += length;
      continue;
    }
    // Resynchronise on the next local header that parses and fits (or the central directory).
    let next = at + 1;
    for (; next + 4 <= bundle.length; next++) {
      const sig = bundle.readUInt32LE(next);
      if (sig === CENTRAL_SIG || sig === EOCD_SIG) break;
      if (sig === LOCAL_SIG && memberLengthAt(bundle, next) !== null) break;
    }
    if (next + 4 > bundle.length) next = bundle.length;
    out.push({ offset: at, length: next - at, ok: false });
    at = next;
  }
  return out;
}
