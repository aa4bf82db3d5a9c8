/**
 * The two plain-text records of a backup, as JSON Lines: the structure record (every directory,
 * file, link, FIFO and device with its metadata) and the catalog (every file's size, sha256 and where
 * its blob lies). Encoding, decoding and validation only; reading files is the caller's job.
 */
import { createHash, type Hash } from 'node:crypto';
import { FormatError } from '../errors.js';
import { isBundleName, isSafeRelativePath } from './names.js';

/**
 * The newest record version this xtar reads and writes. Version 1: a backup that stands alone (a
 * full backup; still written byte for byte as v1). Version 2 adds backups that build on an earlier one
 * (incremental, differential, cyclic): `kind` and `base` in the headers, and catalog lines whose bytes
 * lie in an earlier backup's volumes (`backup`, `as`).
 */
export const FORMAT_VERSION = 2;

export type BackupKind = 'full' | 'incremental' | 'differential' | 'cyclic';
export const BACKUP_KINDS: readonly BackupKind[] = ['full', 'incremental', 'differential', 'cyclic'];

/** The record version a backup of this kind is written with (full backups stay v1). */
export function versionFor(kind: BackupKind): number {
  return kind === 'full' ? 1 : 2;
}

export type NodeType = 'dir' | 'file' | 'symlink' | 'hardlink' | 'fifo' | 'char' | 'block';
const NODE_TYPES: ReadonlySet<string> = new Set(['dir', 'file', 'symlink', 'hardlink', 'fifo', 'char', 'block']);

/** One line of the structure record. Times are exact: nanoseconds since the epoch. */
export interface StructureEntry {
  path: string;
  type: NodeType;
  /** Permission bits incl. setuid/setgid/sticky (07777). Absent for hard links (they share the target's). */
  mode: number;
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  mtimeNs: bigint;
  /** Regular files: size in bytes. */
  size?: number;
  /** Regular files whose blocks cover less than their size (holes): restored with holes. */
  sparse?: boolean;
  /** Symlinks: the link text as stored. Hard links: the path (in this record) of the first link. */
  target?: string;
  /** Character and block devices. */
  major?: number;
  minor?: number;
}

/** Which backup a record belongs to. `kind` and `base` are written from version 2 on (v1: a full backup). */
export interface BackupStamp {
  backup: string;
  created: string;
  /** Default 'full'. */
  kind?: BackupKind;
  /** The backup this one's changes were taken against (absent for full backups). */
  base?: string;
}

export interface StructureHeader extends BackupStamp {
  xtar: 'structure';
  version: number;
  root: string;
}

export interface RecordTrailer {
  end: true;
  entries: number;
  /**
   * The sha256 (lowercase hex) of every byte of the record before the trailer line — its header and
   * entry lines, each with its newline. Written since revision 2.1; absent in older records. Kept as
   * found (not validated): a damaged value is simply one that does not match.
   */
  sha256?: string;
}

export interface CatalogHeader extends BackupStamp {
  xtar: 'catalog';
  version: number;
  volume: number;
}

/** Where (part of) a blob lies: volume number, byte offset of the zip inside that volume's .xtar, length. */
export interface BlobPart {
  volume: number;
  offset: number;
  length: number;
}

export interface CatalogFile {
  path: string;
  size: number;
  sha256: string;
  crc32: number;
  method: 'deflate' | 'store';
  parts: BlobPart[];
  /**
   * The file was stored in a bundle (`pack --bundle`): the bundle's entry name (`.xtar-bundle-N`) in
   * its folder's nested tar. `parts` is then the member's own range in the archive: its local header
   * and data, without the bundle's central directory.
   */
  bundle?: string;
  /**
   * v2: the bytes were stored by an earlier backup (this id) and `parts` are that backup's volumes —
   * the file did not change, or only its metadata did, or it was renamed. Absent: stored here.
   */
  backup?: string;
  /** v2, with `backup`: the path the blob was stored under there, when it differs (a rename or a copy). */
  as?: string;
}

/** A file the structure lists but whose bytes pack could not read (it vanished or was unreadable). */
export interface CatalogSkip {
  path: string;
  skipped: string;
}

export type CatalogLine = CatalogFile | CatalogSkip;

// ---- time ----------------------------------------------------------------------------------------

const NS_PER_S = 1_000_000_000n;

/** "SECONDS.NNNNNNNNN" (nine digits, sign in front) — exact where a JSON number would round. */
export function formatTimeNs(ns: bigint): string {
  const neg = ns < 0n;
  const abs = neg ? -ns : ns;
  return `${neg ? '-' : ''}${abs / NS_PER_S}.${(abs % NS_PER_S).toString().padStart(9, '0')}`;
}

export function parseTimeNs(s: unknown, where: string): bigint {
  if (typeof s !== 'string' || !/^-?\d{1,15}\.\d{9}$/.test(s)) {
    throw new FormatError(`${where}: time ${JSON.stringify(s)} is not SECONDS.NANOSECONDS.`);
  }
  // "-S.F" is -(S·10^9 + F), and F has nine digits: the digits without the dot are the nanoseconds.
  const dot = s.length - 10;
  return BigInt(s.slice(0, dot) + s.slice(dot + 1));
}

// ---- structure -----------------------------------------------------------------------------------

export function encodeStructureEntry(e: StructureEntry): string {
  const o: Record<string, unknown> = { path: e.path, type: e.type };
  if (e.type !== 'hardlink') {
    o.mode = e.mode.toString(8).padStart(4, '0');
    o.uid = e.uid;
    o.gid = e.gid;
    if (e.user !== undefined) o.user = e.user;
    if (e.group !== undefined) o.group = e.group;
    o.mtime = formatTimeNs(e.mtimeNs);
  }
  if (e.size !== undefined) o.size = e.size;
  if (e.sparse) o.sparse = true;
  if (e.target !== undefined) o.target = e.target;
  if (e.major !== undefined) o.major = e.major;
  if (e.minor !== undefined) o.minor = e.minor;
  return JSON.stringify(o);
}

/** A line that must be one JSON object (records and the manifests beside them). */
export function parseJsonLine(line: string, where: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new FormatError(`${where}: not a JSON object.`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FormatError(`${where}: not a JSON object.`);
  return v as Record<string, unknown>;
}

export function uint(v: unknown, what: string, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new FormatError(`${where}: ${what} must be a whole number ≥ 0.`);
  return v;
}

function optString(v: unknown, what: string, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new FormatError(`${where}: ${what} must be a string.`);
  return v;
}

export function checkPath(v: unknown, where: string): string {
  if (typeof v !== 'string' || !isSafeRelativePath(v)) {
    throw new FormatError(`${where}: path ${JSON.stringify(v)} is not a safe relative path.`, { code: 'EUNSAFEPATH' });
  }
  return v;
}

/** Decode one structure line; throws FormatError on anything the spec does not allow. */
export function decodeStructureEntry(line: string, where = 'structure record'): StructureEntry {
  const o = parseJsonLine(line, where);
  const path = checkPath(o.path, where);
  if (typeof o.type !== 'string' || !NODE_TYPES.has(o.type)) throw new FormatError(`${where}: unknown type ${JSON.stringify(o.type)}.`);
  const type = o.type as NodeType;
  if (type === 'hardlink') {
    return { path, type, mode: 0, uid: 0, gid: 0, mtimeNs: 0n, target: checkPath(o.target, where) };
  }
  if (typeof o.mode !== 'string' || !/^[0-7]{1,6}$/.test(o.mode)) throw new FormatError(`${where}: mode must be octal digits.`);
  const mode = parseInt(o.mode, 8);
  if (mode > 0o7777) throw new FormatError(`${where}: mode ${o.mode} has bits beyond 07777.`);
  const e: StructureEntry = {
    path,
    type,
    mode,
    uid: uint(o.uid, 'uid', where),
    gid: uint(o.gid, 'gid', where),
    mtimeNs: parseTimeNs(o.mtime, where),
  };
  const user = optString(o.user, 'user', where);
  const group = optString(o.group, 'group', where);
  if (user !== undefined) e.user = user;
  if (group !== undefined) e.group = group;
  if (type === 'file') {
    e.size = uint(o.size, 'size', where);
    if (o.sparse === true) e.sparse = true;
  }
  if (type === 'symlink') {
    const t = optString(o.target, 'target', where);
    if (t === undefined || t.length === 0 || t.includes('\0')) throw new FormatError(`${where}: a symlink needs a target.`);
    e.target = t;
  }
  if (type === 'char' || type === 'block') {
    e.major = uint(o.major, 'major', where);
    e.minor = uint(o.minor, 'minor', where);
  }
  return e;
}

/** The fields a header carries for its backup: v1 for full backups (as xtar 0.1 wrote them), else v2 with kind and base. */
function stampFields(h: BackupStamp): Record<string, unknown> {
  return { version: versionFor(h.kind ?? 'full'), backup: h.backup };
}

function stampTail(h: BackupStamp): Record<string, unknown> {
  const kind = h.kind ?? 'full';
  if (kind === 'full') return {};
  return h.base === undefined ? { kind } : { kind, base: h.base };
}

export function decodeStamp(o: Record<string, unknown>, where: string): Pick<BackupStamp, 'kind' | 'base'> {
  const out: Pick<BackupStamp, 'kind' | 'base'> = {};
  if (o.kind !== undefined) {
    if (typeof o.kind !== 'string' || !(BACKUP_KINDS as readonly string[]).includes(o.kind)) throw new FormatError(`${where}: unknown backup kind ${JSON.stringify(o.kind)}.`);
    out.kind = o.kind as BackupKind;
  }
  if (o.base !== undefined) {
    if (typeof o.base !== 'string' || !BACKUP_ID_RE.test(o.base)) throw new FormatError(`${where}: base must be a backup id.`);
    out.base = o.base;
  }
  return out;
}

export const BACKUP_ID_RE = /^\d{8}T\d{6}Z$/;

export function encodeStructureHeader(h: Omit<StructureHeader, 'xtar' | 'version'>): string {
  return JSON.stringify({ xtar: 'structure', ...stampFields(h), root: h.root, created: h.created, ...stampTail(h) });
}

export function decodeStructureHeader(line: string, where = 'structure record'): StructureHeader {
  const o = parseJsonLine(line, where);
  if (o.xtar !== 'structure') throw new FormatError(`${where}: first line is not an xtar structure header.`);
  checkVersion(o.version, where);
  const root = checkPath(o.root, where);
  if (root.includes('/')) throw new FormatError(`${where}: root must be a single name.`);
  return { xtar: 'structure', version: o.version as number, backup: String(o.backup ?? ''), root, created: String(o.created ?? ''), ...decodeStamp(o, where) };
}

export function checkVersion(v: unknown, where: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new FormatError(`${where}: missing format version.`);
  if (v > FORMAT_VERSION) throw new FormatError(`${where}: format version ${v} is newer than this xtar understands (${FORMAT_VERSION}); upgrade xtar.`, { code: 'EVERSION' });
}

/** The trailer line: the count of entry lines and (revision 2.1 on) the digest of the lines before it. */
export function encodeTrailer(entries: number, sha256?: string): string {
  return JSON.stringify(sha256 === undefined ? { end: true, entries } : { end: true, entries, sha256 });
}

/** A trailer line, or null when the line is not one. */
export function decodeTrailer(line: string): RecordTrailer | null {
  if (!line.startsWith('{"end":')) return null;
  const o = parseJsonLine(line, 'record trailer');
  if (o.end !== true) return null;
  const t: RecordTrailer = { end: true, entries: uint(o.entries, 'entries', 'record trailer') };
  if (o.sha256 !== undefined) t.sha256 = typeof o.sha256 === 'string' ? o.sha256 : JSON.stringify(o.sha256);
  return t;
}

/**
 * The digest a record's trailer carries, computed line by line: feed it every line before the
 * trailer (as read, without its newline: the newline is counted here) and compare.
 */
export class RecordDigest {
  private readonly hash: Hash = createHash('sha256');

  /** A line as read (no newline). */
  line(text: string): void {
    this.hash.update(text);
    this.hash.update('\n');
  }

  /** The lines batch[from..to) as read (no newlines), in one call: per line, the calls cost more than the bytes. */
  lines(batch: readonly string[], from: number, to: number): void {
    if (to <= from) return;
    this.hash.update(`${(from === 0 && to === batch.length ? batch : batch.slice(from, to)).join('\n')}\n`);
  }

  /** Bytes that are already whole lines, newlines included. */
  bytes(chunk: string | Uint8Array): void {
    this.hash.update(chunk);
  }

  hex(): string {
    return this.hash.digest('hex');
  }
}

// ---- catalog -------------------------------------------------------------------------------------

export function encodeCatalogHeader(h: Omit<CatalogHeader, 'xtar' | 'version'>): string {
  return JSON.stringify({ xtar: 'catalog', ...stampFields(h), volume: h.volume, created: h.created, ...stampTail(h) });
}

export function decodeCatalogHeader(line: string, where = 'catalog'): CatalogHeader {
  const o = parseJsonLine(line, where);
  if (o.xtar !== 'catalog') throw new FormatError(`${where}: first line is not an xtar catalog header.`);
  checkVersion(o.version, where);
  return { xtar: 'catalog', version: o.version as number, backup: String(o.backup ?? ''), volume: uint(o.volume, 'volume', where), created: String(o.created ?? ''), ...decodeStamp(o, where) };
}

export function encodeCatalogLine(c: CatalogLine): string {
  if ('skipped' in c) return JSON.stringify({ path: c.path, skipped: c.skipped });
  return JSON.stringify({
    path: c.path,
    size: c.size,
    sha256: c.sha256,
    crc32: c.crc32.toString(16).padStart(8, '0'),
    method: c.method,
    parts: c.parts.map((p) => ({ volume: p.volume, offset: p.offset, length: p.length })),
    ...(c.bundle === undefined ? {} : { bundle: c.bundle }),
    ...(c.backup === undefined ? {} : { backup: c.backup }),
    ...(c.as === undefined ? {} : { as: c.as }),
  });
}

/** Exactly `length` lowercase hex digits (a loop: every catalog line has two such fields, and a regex was a tenth of decoding it). */
function isLowerHex(v: unknown, length: number): v is string {
  if (typeof v !== 'string' || v.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

export function decodeCatalogLine(line: string, where = 'catalog'): CatalogLine {
  const o = parseJsonLine(line, where);
  const path = checkPath(o.path, where);
  if (o.skipped !== undefined) return { path, skipped: String(o.skipped) };
  if (!isLowerHex(o.sha256, 64)) throw new FormatError(`${where}: sha256 must be 64 hex digits.`);
  if (!isLowerHex(o.crc32, 8)) throw new FormatError(`${where}: crc32 must be 8 hex digits.`);
  if (o.method !== 'deflate' && o.method !== 'store') throw new FormatError(`${where}: method must be deflate or store.`);
  if (!Array.isArray(o.parts) || o.parts.length === 0) throw new FormatError(`${where}: parts must be a non-empty list.`);
  const parts = o.parts.map((p: unknown): BlobPart => {
    if (typeof p !== 'object' || p === null) throw new FormatError(`${where}: a part must be an object.`);
    const q = p as Record<string, unknown>;
    return { volume: uint(q.volume, 'volume', where), offset: uint(q.offset, 'offset', where), length: uint(q.length, 'length', where) };
  });
  const out: CatalogFile = { path, size: uint(o.size, 'size', where), sha256: o.sha256, crc32: parseInt(o.crc32, 16), method: o.method, parts };
  if (o.bundle !== undefined) {
    if (typeof o.bundle !== 'string' || !isBundleName(o.bundle)) throw new FormatError(`${where}: bundle must be a bundle's entry name (.xtar-bundle-N).`);
    if (parts.length !== 1) throw new FormatError(`${where}: a bundled file has one part.`);
    out.bundle = o.bundle;
  }
  if (o.backup !== undefined) {
    if (typeof o.backup !== 'string' || !BACKUP_ID_RE.test(o.backup)) throw new FormatError(`${where}: backup must be a backup id.`);
    out.backup = o.backup;
  }
  if (o.as !== undefined) {
    if (out.backup === undefined) throw new FormatError(`${where}: "as" needs "backup".`);
    out.as = checkPath(o.as, where);
  }
  return out;
}
