/**
 * The tar header codec: it encodes xtar's ustar/pax headers (with sizes that can be overwritten in
 * place) and strictly decodes and checks headers and pax records — it does no I/O and knows nothing
 * of entry data, nesting, names' meaning or zips (those belong to src/pack and src/unpack).
 *
 * Errors: bytes that are not a valid header or pax record throw FormatError (code 'ETAR', or
 * 'ETRUNC' for a header block shorter than 512 bytes); invalid arguments from our own writer (a
 * negative size, a name with NUL, a size that no longer fits the header's form) throw RangeError,
 * since they are programming errors rather than damaged input.
 */
import { FormatError } from '../errors.js';

export const BLOCK_SIZE = 512;
/** The largest number an 11-digit octal field holds: 8 GiB − 1. */
export const USTAR_MAX_NUMERIC = 0o77777777777;
/** Length of the end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE_LENGTH = 2 * BLOCK_SIZE;

// Field offsets and widths of a ustar header block.
const NAME_OFFSET = 0;
const NAME_LENGTH = 100;
const MODE_OFFSET = 100;
const MODE_LENGTH = 8;
const UID_OFFSET = 108;
const UID_LENGTH = 8;
const GID_OFFSET = 116;
const GID_LENGTH = 8;
const SIZE_OFFSET = 124;
const SIZE_LENGTH = 12;
const MTIME_OFFSET = 136;
const MTIME_LENGTH = 12;
const CHKSUM_OFFSET = 148;
const CHKSUM_LENGTH = 8;
const TYPEFLAG_OFFSET = 156;
const LINKNAME_OFFSET = 157;
const LINKNAME_LENGTH = 100;
const MAGIC_OFFSET = 257;
/** "ustar\0" + version "00" (POSIX), or GNU's "ustar  \0" spanning magic and version. */
const MAGIC_AND_VERSION_LENGTH = 8;
const POSIX_MAGIC = 'ustar\x0000';
const GNU_MAGIC = 'ustar  \0';
const DEVMAJOR_OFFSET = 329;
const DEVMAJOR_LENGTH = 8;
const DEVMINOR_OFFSET = 337;
const DEVMINOR_LENGTH = 8;
const PREFIX_OFFSET = 345;
const PREFIX_LENGTH = 155;

const REGULAR_TYPEFLAG = '0';
const PAX_TYPEFLAG = 'x';
const MODE = 0o644;
/** Width of the zero-padded pax size value, so it can be overwritten in place. */
const PAX_SIZE_DIGITS = 20;
/** Fixed name of our pax extended headers (deterministic, unlike GNU's PaxHeaders.PID). */
const PAX_HEADER_NAME = 'PaxHeader';
const SIZE_KEY = Buffer.from('size', 'latin1');
/** A pax record length longer than this many digits is garbage, not a length. */
const PAX_LENGTH_MAX_DIGITS = 20;

const SLASH = 0x2f;
const DIGIT_0 = 0x30;
const SPACE = 0x20;
const NEWLINE = 0x0a;
const EQUALS = 0x3d;

function tarError(message: string): FormatError {
  return new FormatError(message, { code: 'ETAR' });
}

/** A fresh end-of-archive marker (1024 zero bytes). A function, not a shared Buffer, so no caller can alter another's. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(END_OF_ARCHIVE_LENGTH);
}

/** Zero bytes that follow `size` bytes of entry data to reach a multiple of 512. */
export function paddingLength(size: number): number {
  const r = size % BLOCK_SIZE;
  return r === 0 ? 0 : BLOCK_SIZE - r;
}

export interface HeaderInput {
  /** The entry name; UTF-8, non-empty, no NUL. */
  name: string;
  /** Size of the entry's data in bytes (for a header to be patched later: any value ≤ sizeBound, e.g. 0). */
  size: number;
  /** Modification time in whole seconds (may be negative). */
  mtimeSec: number;
  /** The largest size the entry may end up with (default: size): decides ustar size field or pax size record. */
  sizeBound?: number;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function checkSize(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`bad tar entry ${what} ${value}`);
}

/** Zero-padded octal with a NUL terminator, filling the field exactly (digits written in place: a header is encoded per file). */
function writeOctal(buf: Buffer, offset: number, width: number, value: number): void {
  const digits = width - 1;
  if (value >= 8 ** digits) throw new RangeError(`${value} does not fit a ${width}-byte tar field`);
  let v = value;
  for (let i = offset + digits - 1; i >= offset; i--) {
    buf[i] = DIGIT_0 + (v % 8);
    v = Math.floor(v / 8);
  }
  buf[offset + digits] = 0;
}

/** The header's byte sum with the checksum field counted as spaces: unsigned (POSIX), and signed (some old tars). */
/** The unsigned sum of a header's bytes, its checksum field counted as spaces (what the field must hold). */
function headerSum(block: Buffer): number {
  let sum = CHKSUM_LENGTH * SPACE;
  for (let i = 0; i < CHKSUM_OFFSET; i++) sum += block[i] as number;
  for (let i = CHKSUM_OFFSET + CHKSUM_LENGTH; i < BLOCK_SIZE; i++) sum += block[i] as number;
  return sum;
}

/** The signed sum some old tars wrote: bytes above 127 counted 256 lower (asked only when the unsigned sum does not match). */
function signedHeaderSum(block: Buffer): number {
  let high = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) if (i < CHKSUM_OFFSET || i >= CHKSUM_OFFSET + CHKSUM_LENGTH) high += (block[i] as number) >> 7;
  return headerSum(block) - 256 * high;
}

/** Checksum field: 6 octal digits, NUL, space. */
function writeChecksum(block: Buffer): void {
  writeOctal(block, CHKSUM_OFFSET, CHKSUM_LENGTH - 1, headerSum(block));
  block[CHKSUM_OFFSET + CHKSUM_LENGTH - 1] = SPACE;
}

/** Longest prefix of `bytes` (≤ max) that ends on a UTF-8 character boundary. */
function cutUtf8(bytes: Buffer, max: number): Buffer {
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/**
 * Split a name for ustar: whole in `name` when ≤ 100 bytes, else at the last '/' that leaves a
 * prefix of ≤ 155 bytes and a non-empty name of ≤ 100 bytes (GNU tar picks the same one), else null.
 */
function splitName(bytes: Buffer): { prefix: Buffer; name: Buffer } | null {
  if (bytes.length <= NAME_LENGTH) return { prefix: Buffer.alloc(0), name: bytes };
  for (let i = Math.min(bytes.length - 1, PREFIX_LENGTH); i > 0; i--) {
    if (bytes[i] !== SLASH) continue;
    const name = bytes.subarray(i + 1);
    if (name.length > NAME_LENGTH) return null; // earlier slashes only leave longer names
    if (name.length > 0) return { prefix: bytes.subarray(0, i), name };
  }
  return null;
}

/** One pax record "LEN key=value\n", LEN counting the whole record including its own digits. */
function paxRecord(key: string, value: string): Buffer {
  const body = Buffer.from(` ${key}=${value}\n`, 'utf8');
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}

/** What every header of ours holds alike: mode 0644, uid and gid 0, no link name or owner names, the POSIX magic, devices 0. */
const USTAR_TEMPLATE: Buffer = (() => {
  const b = Buffer.alloc(BLOCK_SIZE);
  writeOctal(b, MODE_OFFSET, MODE_LENGTH, MODE);
  writeOctal(b, UID_OFFSET, UID_LENGTH, 0);
  writeOctal(b, GID_OFFSET, GID_LENGTH, 0);
  b.write(POSIX_MAGIC, MAGIC_OFFSET, MAGIC_AND_VERSION_LENGTH, 'latin1');
  writeOctal(b, DEVMAJOR_OFFSET, DEVMAJOR_LENGTH, 0);
  writeOctal(b, DEVMINOR_OFFSET, DEVMINOR_LENGTH, 0);
  return b;
})();

function ustarBlock(name: Buffer, prefix: Buffer, typeflag: string, size: number, mtime: number): Buffer {
  const b = Buffer.allocUnsafe(BLOCK_SIZE);
  USTAR_TEMPLATE.copy(b);
  name.copy(b, NAME_OFFSET);
  writeOctal(b, SIZE_OFFSET, SIZE_LENGTH, size);
  writeOctal(b, MTIME_OFFSET, MTIME_LENGTH, mtime);
  b[TYPEFLAG_OFFSET] = typeflag.charCodeAt(0);
  prefix.copy(b, PREFIX_OFFSET);
  writeChecksum(b);
  return b;
}

/**
 * Header bytes for a regular-file entry: [pax header block + pax records padded to 512] + ustar
 * block. The length is a multiple of 512 that depends on the name, the mtime and whether `sizeBound`
 * exceeds USTAR_MAX_NUMERIC — never on `size` — so the header can be rewritten in place by
 * patchHeaderSize once the real size is known. Throws RangeError on invalid input (empty name, NUL
 * or lone surrogate in the name, size not a safe non-negative integer, sizeBound < size, mtime not a
 * safe integer).
 */
export function encodeHeader(h: HeaderInput): Buffer {
  if (h.name === '' || h.name.includes('\0')) throw new RangeError(`bad tar entry name ${JSON.stringify(h.name)}`);
  const bytes = Buffer.from(h.name, 'utf8');
  if (bytes.toString('utf8') !== h.name) throw new RangeError(`tar entry name ${JSON.stringify(h.name)} is not valid Unicode`);
  checkSize(h.size, 'size');
  const bound = h.sizeBound ?? h.size;
  checkSize(bound, 'size bound');
  if (bound < h.size) throw new RangeError(`tar entry size ${h.size} exceeds its bound ${bound}`);
  if (!Number.isSafeInteger(h.mtimeSec)) throw new RangeError(`bad tar entry mtime ${h.mtimeSec}`);

  const split = splitName(bytes);
  const paxSize = bound > USTAR_MAX_NUMERIC;
  const mtimeFits = h.mtimeSec >= 0 && h.mtimeSec <= USTAR_MAX_NUMERIC;
  const ustarMtime = mtimeFits ? h.mtimeSec : 0;

  const records: Buffer[] = [];
  if (split === null) records.push(paxRecord('path', h.name));
  if (paxSize) records.push(paxRecord('size', String(h.size).padStart(PAX_SIZE_DIGITS, '0')));
  if (!mtimeFits) records.push(paxRecord('mtime', String(h.mtimeSec)));

  const name = split?.name ?? cutUtf8(bytes, NAME_LENGTH);
  const prefix = split?.prefix ?? Buffer.alloc(0);
  const ustar = ustarBlock(name, prefix, REGULAR_TYPEFLAG, paxSize ? 0 : h.size, ustarMtime);
  if (records.length === 0) return ustar;
  const data = Buffer.concat(records);
  const paxBlock = ustarBlock(Buffer.from(PAX_HEADER_NAME, 'latin1'), Buffer.alloc(0), PAX_TYPEFLAG, data.length, ustarMtime);
  return Buffer.concat([paxBlock, data, Buffer.alloc(paddingLength(data.length)), ustar]);
}

/** Total bytes an entry takes: header + data + padding. */
export function entryLength(h: HeaderInput): number {
  return encodeHeader(h).length + h.size + paddingLength(h.size);
}

/**
 * Rewrite the size inside a buffer produced by encodeHeader — the pax size record when the header
 * has one (20 digits, pax block unchanged otherwise), else the ustar size field — and recompute the
 * checksum. Throws RangeError when the size is not a safe non-negative integer or does not fit the
 * form chosen at encode time (> USTAR_MAX_NUMERIC without a pax size record), and FormatError when
 * the buffer is not a header encodeHeader could have made.
 */
export function patchHeaderSize(header: Buffer, size: number): void {
  checkSize(size, 'size');
  if (header.length < BLOCK_SIZE || header.length % BLOCK_SIZE !== 0) throw tarError('not an encoded tar header: its length is not a positive multiple of 512');
  if (header.length === BLOCK_SIZE) {
    // The common case, once per file and folder: no pax records, so the size is the ustar field.
    if (!isHeaderBlock(header) || magicOf(header) !== 'posix' || header[TYPEFLAG_OFFSET] !== REGULAR_TYPEFLAG.charCodeAt(0)) {
      throw tarError('not an encoded tar header: the block is not a regular-file header');
    }
    patchUstarSize(header, size);
    return;
  }
  const ustar = header.subarray(header.length - BLOCK_SIZE);
  const main = decodeHeaderBlock(ustar);
  if (main === null || main.typeflag !== REGULAR_TYPEFLAG) throw tarError('not an encoded tar header: the last block is not a regular-file header');

  let sizeValue: { start: number; end: number } | undefined;
  if (header.length > BLOCK_SIZE) {
    const paxHead = decodeHeaderBlock(header.subarray(0, BLOCK_SIZE));
    if (paxHead === null || paxHead.typeflag !== PAX_TYPEFLAG) throw tarError('not an encoded tar header: the first block is not a pax header');
    const dataLength = paxHead.size;
    if (BLOCK_SIZE + dataLength + paddingLength(dataLength) + BLOCK_SIZE !== header.length) throw tarError('not an encoded tar header: its pax records do not fill it');
    const data = header.subarray(BLOCK_SIZE, BLOCK_SIZE + dataLength);
    walkPaxRecords(data, (key, valueStart, valueEnd) => {
      if (key.equals(SIZE_KEY)) sizeValue = { start: BLOCK_SIZE + valueStart, end: BLOCK_SIZE + valueEnd };
    });
  }

  if (sizeValue !== undefined) {
    if (sizeValue.end - sizeValue.start !== PAX_SIZE_DIGITS) throw tarError('not an encoded tar header: its pax size is not of fixed width');
    const digits = String(size).padStart(PAX_SIZE_DIGITS, '0');
    if (digits.length !== PAX_SIZE_DIGITS) throw new RangeError(`size ${size} does not fit the pax size record`);
    header.write(digits, sizeValue.start, PAX_SIZE_DIGITS, 'latin1');
    return;
  }
  patchUstarSize(ustar, size);
}

function patchUstarSize(ustar: Buffer, size: number): void {
  if (size > USTAR_MAX_NUMERIC) throw new RangeError(`size ${size} does not fit this header's ustar size field (it was encoded without a pax size record)`);
  writeOctal(ustar, SIZE_OFFSET, SIZE_LENGTH, size);
  writeChecksum(ustar);
}

// ---------------------------------------------------------------------------------------------
// Decoding

export interface DecodedHeader {
  name: string;
  size: number;
  mtimeSec: number;
  /** The raw typeflag character ('0', 'x', '5', 'L', '\0', …). */
  typeflag: string;
  mode: number;
  linkname: string;
}

/**
 * A numeric field: octal digits with optional leading spaces and trailing spaces/NULs (at least one
 * digit), or GNU base-256 (first byte's high bit set; the next bit is the sign).
 */
function parseNumericField(field: Buffer, what: string, allowNegative: boolean): number {
  const first = field[0] as number;
  if ((first & 0x80) !== 0) {
    let n = 0n;
    for (const b of field) n = (n << 8n) | BigInt(b);
    const bits = BigInt(field.length * 8);
    // Negative: two's complement over the whole field. Positive: the marker bit cleared.
    const v = (first & 0x40) !== 0 ? n - (1n << bits) : n - (1n << (bits - 1n));
    if (v < 0n && !allowNegative) throw tarError(`negative ${what} in a tar header`);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw tarError(`${what} too large in a tar header`);
    return Number(v);
  }
  // Octal: ` *[0-7]+[ \0]*`, read byte by byte (every header of an archive passes here).
  let i = 0;
  while (i < field.length && field[i] === SPACE) i++;
  const digitsFrom = i;
  let v = 0;
  for (; i < field.length; i++) {
    const d = (field[i] as number) - DIGIT_0;
    if (d < 0 || d > 7) break;
    v = v * 8 + d;
  }
  let ok = i > digitsFrom;
  for (; ok && i < field.length; i++) ok = field[i] === SPACE || field[i] === 0;
  if (!ok) throw tarError(`bad octal ${what} ${JSON.stringify(field.toString('latin1'))} in a tar header`);
  // (A field of 12 bytes holds at most 12 octal digits, 2^36: never past a safe integer.)
  return v;
}

function field(block: Buffer, offset: number, length: number): Buffer {
  return block.subarray(offset, offset + length);
}

/** The bytes of a NUL-terminated (or full-width) string field. */
function cString(buf: Buffer): Buffer {
  const nul = buf.indexOf(0);
  return nul < 0 ? buf : buf.subarray(0, nul);
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function magicOf(block: Buffer): 'posix' | 'gnu' | null {
  const magic = block.toString('latin1', MAGIC_OFFSET, MAGIC_OFFSET + MAGIC_AND_VERSION_LENGTH);
  return magic === POSIX_MAGIC ? 'posix' : magic === GNU_MAGIC ? 'gnu' : null;
}

/** The stored checksum matches the unsigned sum (or the signed sum some old tars wrote). */
function checksumOk(block: Buffer): boolean {
  let stored: number;
  try {
    stored = parseNumericField(field(block, CHKSUM_OFFSET, CHKSUM_LENGTH), 'checksum', false);
  } catch {
    return false;
  }
  return stored === headerSum(block) || stored === signedHeaderSum(block);
}

/** True when this 512-byte block looks like a valid header (ustar or GNU magic, checksum right) — for resynchronising after damage. */
export function isHeaderBlock(block: Buffer): boolean {
  return block.length === BLOCK_SIZE && !isZeroBlock(block) && magicOf(block) !== null && checksumOk(block);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeUtf8(bytes: Buffer, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw tarError(`the ${what} in a tar header is not UTF-8`);
  }
}

/**
 * Decode one 512-byte block: null for an all-zero block, else the header. Requires the POSIX magic
 * "ustar\0" "00" (prefix joined to the name) or GNU's "ustar  \0" (no prefix field), a correct
 * checksum (unsigned or signed sum), strict numeric fields and UTF-8 names; throws FormatError
 * otherwise. Pax and GNU long-name entries are returned as they are (typeflag 'x', 'g', 'L', …).
 */
export function decodeHeaderBlock(block: Buffer): DecodedHeader | null {
  if (block.length !== BLOCK_SIZE) throw new FormatError(`a tar header is ${block.length} bytes instead of 512`, { code: 'ETRUNC' });
  if (isZeroBlock(block)) return null;
  const kind = magicOf(block);
  if (kind === null) throw tarError('not a tar header (no ustar magic)');
  if (!checksumOk(block)) throw tarError('tar header checksum mismatch');
  let nameBytes = cString(field(block, NAME_OFFSET, NAME_LENGTH));
  if (kind === 'posix') {
    const prefix = cString(field(block, PREFIX_OFFSET, PREFIX_LENGTH));
    if (prefix.length > 0) nameBytes = Buffer.concat([prefix, Buffer.from('/'), nameBytes]);
  }
  return {
    name: decodeUtf8(nameBytes, 'name'),
    size: parseNumericField(field(block, SIZE_OFFSET, SIZE_LENGTH), 'size', false),
    mtimeSec: parseNumericField(field(block, MTIME_OFFSET, MTIME_LENGTH), 'mtime', true),
    typeflag: String.fromCharCode(block[TYPEFLAG_OFFSET] as number),
    mode: parseNumericField(field(block, MODE_OFFSET, MODE_LENGTH), 'mode', false),
    linkname: decodeUtf8(cString(field(block, LINKNAME_OFFSET, LINKNAME_LENGTH)), 'link name'),
  };
}

/**
 * Walk pax records "LEN key=value\n" strictly: LEN is decimal without leading zeros and is the exact
 * byte length of the record; every record ends in '\n'; keys are non-empty; nothing follows the last
 * record. Calls `visit` with the key bytes and the value's offsets in `data`.
 */
function walkPaxRecords(data: Buffer, visit: (key: Buffer, valueStart: number, valueEnd: number) => void): void {
  let pos = 0;
  while (pos < data.length) {
    const sp = data.subarray(pos, pos + PAX_LENGTH_MAX_DIGITS + 1).indexOf(SPACE);
    if (sp <= 0) throw tarError('a pax record does not start with its length');
    const lenText = data.toString('latin1', pos, pos + sp);
    if (!/^[1-9][0-9]*$/.test(lenText)) throw tarError(`a pax record length ${JSON.stringify(lenText)} is not a number`);
    const len = Number(lenText);
    const keyStart = pos + sp + 1;
    const end = pos + len;
    if (end > data.length) throw tarError('a pax record runs past the end of its header');
    if (end - 1 < keyStart || data[end - 1] !== NEWLINE) throw tarError('a pax record length does not match its record');
    const eq = data.indexOf(EQUALS, keyStart);
    if (eq < 0 || eq >= end - 1) throw tarError('a pax record has no "="');
    if (eq === keyStart) throw tarError('a pax record has an empty key');
    visit(data.subarray(keyStart, eq), eq + 1, end - 1);
    pos = end;
  }
}

/** Parse pax records strictly (see walkPaxRecords; keys and values must be UTF-8). Later records override earlier ones. */
export function parsePaxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  walkPaxRecords(data, (key, valueStart, valueEnd) => {
    out.set(decodeUtf8(key, 'pax key'), decodeUtf8(data.subarray(valueStart, valueEnd), 'pax value'));
  });
  return out;
}

function paxSize(v: string): number {
  if (!/^[0-9]+$/.test(v)) throw tarError(`bad pax size ${JSON.stringify(v)}`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw tarError(`pax size ${v} is too large`);
  return n;
}

/** Decimal seconds, optional sign and fraction; whole seconds rounded down (−1.5 → −2), as GNU tar does. */
function paxTime(v: string): number {
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?$/.exec(v);
  if (m === null) throw tarError(`bad pax mtime ${JSON.stringify(v)}`);
  let n = BigInt(m[2] as string);
  if (m[1] === '-') n = -n - (m[3] !== undefined && /[1-9]/.test(m[3]) ? 1n : 0n);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) throw tarError(`pax mtime ${v} is out of range`);
  return Number(n);
}

/**
 * The header with pax overrides applied: path, size, mtime, and linkpath (which DecodedHeader also
 * carries). Other keys (atime, ctime, uid, uname, …) are ignored. An empty value means "no override",
 * as POSIX specifies.
 */
export function applyPax(h: DecodedHeader, pax: Map<string, string>): DecodedHeader {
  const out = { ...h };
  const path = pax.get('path');
  if (path !== undefined && path !== '') out.name = path;
  const size = pax.get('size');
  if (size !== undefined && size !== '') out.size = paxSize(size);
  const mtime = pax.get('mtime');
  if (mtime !== undefined && mtime !== '') out.mtimeSec = paxTime(mtime);
  const linkpath = pax.get('linkpath');
  if (linkpath !== undefined && linkpath !== '') out.linkname = linkpath;
  return out;
}
