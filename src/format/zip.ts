/**
 * The single-entry zip codec at the heart of the format: one file's bytes, deflated or stored, with
 * its name and mode, in a complete zip of its own. Strict on reading (only what docs/FORMAT.md
 * allows); knows nothing of tar or of files on disk.
 */
import zlib from 'node:zlib';
import { DamagedBlobError, FormatError } from '../errors.js';

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
const ZIP64_EXTRA_ID = 0x0001;
const ZIP64_EXTRA_LENGTH = 20; // id + size + two u64
const FLAG_UTF8 = 0x0800;
const VERSION_NEEDED = 20;
const VERSION_NEEDED_ZIP64 = 45;
const MADE_BY_UNIX = 0x031e;
const MADE_BY_UNIX_ZIP64 = 0x032d;
const U32_MAX = 0xffffffff;
const S_IFREG = 0o100000;
const PROBE_BYTES = 65536;
/** A probe must save at least this share for the file to be deflated. */
const PROBE_MIN_SAVING = 0.03;

// Local header field offsets.
const L_VERSION = 4;
const L_FLAGS = 6;
const L_METHOD = 8;
const L_TIME = 10;
const L_DATE = 12;
const L_CRC = 14;
const L_CSIZE = 18;
const L_SIZE = 22;
const L_NAME_LEN = 26;
const L_EXTRA_LEN = 28;

export interface ZipEntryInfo {
  name: string;
  method: 0 | 8;
  crc32: number;
  compressedSize: number;
  size: number;
  mtimeSec: number;
  mode: number;
}

export function needsZip64(size: number): boolean {
  return size >= ZIP64_THRESHOLD;
}

export function zipOverhead(nameByteLength: number, zip64: boolean): number {
  const extra = zip64 ? ZIP64_EXTRA_LENGTH : 0;
  return LOCAL_FIXED + nameByteLength + extra + CENTRAL_FIXED + nameByteLength + extra + (zip64 ? ZIP64_EOCD_LENGTH + ZIP64_LOCATOR_LENGTH : 0) + EOCD_LENGTH;
}

/** DOS date and time of a Unix time, in UTC, clamped to what DOS time can say. */
export function dosDateTime(mtimeSec: number): { date: number; time: number } {
  const min = Date.UTC(1980, 0, 1) / 1000;
  const max = Date.UTC(2107, 11, 31, 23, 59, 58) / 1000;
  const d = new Date(Math.min(max, Math.max(min, Math.floor(mtimeSec))) * 1000);
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

export function fromDosDateTime(date: number, time: number): number {
  return Date.UTC((date >> 9) + 1980, ((date >> 5) & 15) - 1, date & 31, time >> 11, (time >> 5) & 63, (time & 31) * 2) / 1000;
}

function zip64Extra(e: ZipEntryInfo): Buffer {
  const b = Buffer.alloc(ZIP64_EXTRA_LENGTH);
  b.writeUInt16LE(ZIP64_EXTRA_ID, 0);
  b.writeUInt16LE(16, 2);
  b.writeBigUInt64LE(BigInt(e.size), 4);
  b.writeBigUInt64LE(BigInt(e.compressedSize), 12);
  return b;
}

function fixedFields(b: Buffer, at: number, e: ZipEntryInfo, zip64: boolean, nameLen: number): void {
  const { date, time } = dosDateTime(e.mtimeSec);
  b.writeUInt16LE(zip64 ? VERSION_NEEDED_ZIP64 : VERSION_NEEDED, at);
  b.writeUInt16LE(FLAG_UTF8, at + 2);
  b.writeUInt16LE(e.method, at + 4);
  b.writeUInt16LE(time, at + 6);
  b.writeUInt16LE(date, at + 8);
  b.writeUInt32LE(e.crc32 >>> 0, at + 10);
  b.writeUInt32LE(zip64 ? U32_MAX : e.compressedSize, at + 14);
  b.writeUInt32LE(zip64 ? U32_MAX : e.size, at + 18);
  b.writeUInt16LE(nameLen, at + 22);
  b.writeUInt16LE(zip64 ? ZIP64_EXTRA_LENGTH : 0, at + 24);
}

function checkSizes(e: ZipEntryInfo, zip64: boolean): void {
  if (!zip64 && (e.size > U32_MAX - 1 || e.compressedSize > U32_MAX - 1)) throw new RangeError('sizes need zip64');
}

export function encodeLocalHeader(e: ZipEntryInfo, zip64: boolean): Buffer {
  checkSizes(e, zip64);
  const name = Buffer.from(e.name, 'utf8');
  const b = Buffer.alloc(LOCAL_FIXED + name.length);
  b.writeUInt32LE(LOCAL_SIG, 0);
  fixedFields(b, L_VERSION, e, zip64, name.length);
  name.copy(b, LOCAL_FIXED);
  return zip64 ? Buffer.concat([b, zip64Extra(e)]) : b;
}

export function encodeTrailer(e: ZipEntryInfo, zip64: boolean, cdOffset: number): Buffer {
  checkSizes(e, zip64);
  const name = Buffer.from(e.name, 'utf8');
  const cd = Buffer.alloc(CENTRAL_FIXED + name.length);
  cd.writeUInt32LE(CENTRAL_SIG, 0);
  cd.writeUInt16LE(zip64 ? MADE_BY_UNIX_ZIP64 : MADE_BY_UNIX, 4);
  fixedFields(cd, 6, e, zip64, name.length);
  // comment length, disk, internal attributes: 0
  cd.writeUInt32LE((((S_IFREG | (e.mode & 0o7777)) << 16) >>> 0), 38);
  cd.writeUInt32LE(0, 42);
  name.copy(cd, CENTRAL_FIXED);
  const central = zip64 ? Buffer.concat([cd, zip64Extra(e)]) : cd;
  const parts = [central];
  const cdSize = central.length;
  if (zip64) {
    const z = Buffer.alloc(ZIP64_EOCD_LENGTH);
    z.writeUInt32LE(ZIP64_EOCD_SIG, 0);
    z.writeBigUInt64LE(BigInt(ZIP64_EOCD_LENGTH - 12), 4);
    z.writeUInt16LE(MADE_BY_UNIX_ZIP64, 12);
    z.writeUInt16LE(VERSION_NEEDED_ZIP64, 14);
    z.writeUInt32LE(0, 16);
    z.writeUInt32LE(0, 20);
    z.writeBigUInt64LE(1n, 24);
    z.writeBigUInt64LE(1n, 32);
    z.writeBigUInt64LE(BigInt(cdSize), 40);
    z.writeBigUInt64LE(BigInt(cdOffset), 48);
    const loc = Buffer.alloc(ZIP64_LOCATOR_LENGTH);
    loc.writeUInt32LE(ZIP64_LOCATOR_SIG, 0);
    loc.writeUInt32LE(0, 4);
    loc.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
    loc.writeUInt32LE(1, 16);
    parts.push(z, loc);
  }
  const eocd = Buffer.alloc(EOCD_LENGTH);
  eocd.writeUInt32LE(EOCD_SIG, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(cdSize, 12);
  eocd.writeUInt32LE(cdOffset > U32_MAX - 1 ? U32_MAX : cdOffset, 16);
  parts.push(eocd);
  return Buffer.concat(parts);
}

/** Whether deflating is worth trying: a 64 KiB probe at level 1 must save at least 3%. */
export function probeCompressible(sample: Buffer): boolean {
  if (sample.length === 0) return false;
  return zlib.deflateRawSync(sample, { level: 1 }).length < sample.length * (1 - PROBE_MIN_SAVING);
}

export function encodeZipBlob(
  name: string,
  raw: Buffer,
  opts: { level: number; mtimeSec: number; mode: number; zip64?: boolean },
): { blob: Buffer; info: ZipEntryInfo; zip64: boolean } {
  const zip64 = opts.zip64 === true || needsZip64(raw.length);
  let data = raw;
  let method: 0 | 8 = 0;
  const tryDeflate = opts.level > 0 && raw.length > 0 && (raw.length < PROBE_BYTES || probeCompressible(raw.subarray(0, PROBE_BYTES)));
  if (tryDeflate) {
    const d = zlib.deflateRawSync(raw, { level: opts.level });
    if (d.length < raw.length) {
      data = d;
      method = 8;
    }
  }
  const info: ZipEntryInfo = { name, method, crc32: zlib.crc32(raw), compressedSize: data.length, size: raw.length, mtimeSec: opts.mtimeSec, mode: opts.mode };
  const local = encodeLocalHeader(info, zip64);
  const trailer = encodeTrailer(info, zip64, local.length + data.length);
  return { blob: Buffer.concat([local, data, trailer]), info, zip64 };
}

// ---- reading -------------------------------------------------------------------------------------

export interface ParsedLocalHeader {
  info: ZipEntryInfo;
  zip64: boolean;
  headerLength: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function bad(msg: string): never {
  throw new FormatError(`zip: ${msg}`, { code: 'EZIP' });
}

function checkInnerName(bytes: Buffer): string {
  let name: string;
  try {
    name = utf8.decode(bytes);
  } catch {
    bad('the name is not UTF-8');
  }
  if (name.length === 0 || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) bad(`unsafe name ${JSON.stringify(name)}`);
  return name;
}

function readZip64Extra(extra: Buffer): { size: number; compressedSize: number } {
  if (extra.length !== ZIP64_EXTRA_LENGTH || extra.readUInt16LE(0) !== ZIP64_EXTRA_ID || extra.readUInt16LE(2) !== 16) bad('malformed zip64 extra field');
  const size = extra.readBigUInt64LE(4);
  const csize = extra.readBigUInt64LE(12);
  if (size > BigInt(Number.MAX_SAFE_INTEGER) || csize > BigInt(Number.MAX_SAFE_INTEGER)) bad('zip64 size too large');
  return { size: Number(size), compressedSize: Number(csize) };
}

export function parseLocalHeader(buf: Buffer): ParsedLocalHeader {
  if (buf.length < LOCAL_FIXED) bad('cut short before the end of the local header');
  if (buf.readUInt32LE(0) !== LOCAL_SIG) bad('no local header signature');
  const version = buf.readUInt16LE(L_VERSION);
  const flags = buf.readUInt16LE(L_FLAGS);
  const method = buf.readUInt16LE(L_METHOD);
  if (version > VERSION_NEEDED_ZIP64) bad(`needs zip version ${version}`);
  if (flags !== 0 && flags !== FLAG_UTF8) bad(`unsupported flags 0x${flags.toString(16)}`);
  if (method !== 0 && method !== 8) bad(`unsupported method ${method}`);
  const nameLen = buf.readUInt16LE(L_NAME_LEN);
  const extraLen = buf.readUInt16LE(L_EXTRA_LEN);
  const headerLength = LOCAL_FIXED + nameLen + extraLen;
  if (buf.length < headerLength) bad('cut short inside the local header');
  const name = checkInnerName(buf.subarray(LOCAL_FIXED, LOCAL_FIXED + nameLen));
  const extra = buf.subarray(LOCAL_FIXED + nameLen, headerLength);
  let csize = buf.readUInt32LE(L_CSIZE);
  let size = buf.readUInt32LE(L_SIZE);
  let zip64 = false;
  if (extraLen > 0) {
    if (csize !== U32_MAX || size !== U32_MAX) bad('an extra field where none is allowed');
    ({ size, compressedSize: csize } = readZip64Extra(extra));
    zip64 = true;
  } else if (csize === U32_MAX || size === U32_MAX) bad('zip64 sizes without a zip64 field');
  const { time, date } = { time: buf.readUInt16LE(L_TIME), date: buf.readUInt16LE(L_DATE) };
  return {
    info: { name, method: method as 0 | 8, crc32: buf.readUInt32LE(L_CRC), compressedSize: csize, size, mtimeSec: fromDosDateTime(date, time), mode: 0 },
    zip64,
    headerLength,
  };
}

export function trailerLength(h: ParsedLocalHeader): number {
  const nameLen = Buffer.byteLength(h.info.name, 'utf8');
  return CENTRAL_FIXED + nameLen + (h.zip64 ? ZIP64_EXTRA_LENGTH + ZIP64_EOCD_LENGTH + ZIP64_LOCATOR_LENGTH : 0) + EOCD_LENGTH;
}

/** Check the central directory and end records against the local header. */
export function parseTrailer(trailer: Buffer, h: ParsedLocalHeader): { mode: number | null } {
  if (trailer.length !== trailerLength(h)) bad('the central directory has the wrong length');
  // Rebuild what we would have written and compare the parts that must agree.
  const cdOffset = h.headerLength + h.info.compressedSize;
  if (trailer.readUInt32LE(0) !== CENTRAL_SIG) bad('no central directory signature');
  const madeBy = trailer.readUInt16LE(4);
  const mode = (madeBy >> 8) === 3 ? (trailer.readUInt32LE(38) >>> 16) & 0o7777 : null;
  const expected = encodeTrailer({ ...h.info, mode: mode ?? 0 }, h.zip64, cdOffset);
  // made-by may differ in the low byte (spec version); external attributes carry the mode.
  const a = Buffer.from(trailer);
  const b = Buffer.from(expected);
  a.writeUInt16LE(0, 4);
  b.writeUInt16LE(0, 4);
  a.writeUInt32LE(0, 38);
  b.writeUInt32LE(0, 38);
  if (h.zip64) {
    const z = CENTRAL_FIXED + Buffer.byteLength(h.info.name, 'utf8') + ZIP64_EXTRA_LENGTH;
    a.writeUInt16LE(0, z + 12);
    b.writeUInt16LE(0, z + 12);
  }
  // The central directory's time/date must equal the local header's, which encodeTrailer recomputed from mtimeSec.
  if (!a.equals(b)) bad('the central directory does not agree with the local header');
  return { mode };
}

export function decodeZipBlob(blob: Buffer): { info: ZipEntryInfo; data: Buffer } {
  const h = parseLocalHeader(blob);
  const dataEnd = h.headerLength + h.info.compressedSize;
  if (dataEnd > blob.length) bad('cut short inside the data');
  const { mode } = parseTrailer(blob.subarray(dataEnd), h);
  const compressed = blob.subarray(h.headerLength, dataEnd);
  let data: Buffer;
  if (h.info.method === 0) {
    if (h.info.compressedSize !== h.info.size) throw new DamagedBlobError('a stored blob whose sizes differ');
    data = Buffer.from(compressed);
  } else {
    try {
      data = zlib.inflateRawSync(compressed, { maxOutputLength: Math.max(1, h.info.size + 1) });
    } catch (e) {
      throw new DamagedBlobError(`the compressed data is damaged (${(e as Error).message})`);
    }
  }
  if (data.length !== h.info.size) throw new DamagedBlobError(`the blob inflates to ${data.length} bytes, not ${h.info.size}`);
  if (zlib.crc32(data) !== h.info.crc32) throw new DamagedBlobError('the CRC-32 of the restored bytes does not match');
  return { info: { ...h.info, mode: mode ?? 0 }, data };
}
