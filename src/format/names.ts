/**
 * How source names become tar entry names and back: `NAME` → `NAME.zip` (or its short form when that
 * would exceed a file system's 255-byte name limit), a directory `NAME` → `NAME/.xtar`. Pure functions;
 * the path guard for unpacking lives in src/dest/, not here.
 */
import { createHash } from 'node:crypto';

export const BLOB_SUFFIX = '.zip';
/** An encrypted set's blob: the zip encrypted on its own with age (docs/FORMAT.md, "Encrypted sets"). */
export const SEALED_BLOB_SUFFIX = '.zip.age';
export const NESTED_TAR_NAME = '.xtar';
/** Longest file name (bytes) that Linux, macOS and Windows file systems all accept. */
export const NAME_MAX = 255;
/** Bytes kept from a long name in its short form: 255 - '~' - 16 hex - '.zip'. */
export const SHORT_PREFIX_MAX = NAME_MAX - 1 - 16 - BLOB_SUFFIX.length;
/** The archive's own copies of the records, gzip-compressed (they are text and shrink 5–10×). */
export const STRUCTURE_SUFFIX = '.xtar-structure.jsonl.gz';
export const CATALOG_SUFFIX = '.xtar-catalog.jsonl.gz';

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** The longest prefix of `s` that is at most `max` UTF-8 bytes and ends on a character boundary. */
export function utf8Prefix(s: string, max: number): string {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length <= max) return s;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) so we never cut a character in two.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** The short form of a blob name: `PREFIX~HASH16.zip` (or `.zip.age`), HASH16 = first 16 hex digits of sha256(NAME). */
export function shortBlobName(name: string, suffix = BLOB_SUFFIX): string {
  const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 16);
  return `${utf8Prefix(name, NAME_MAX - 1 - 16 - suffix.length)}~${hash}${suffix}`;
}

/**
 * The tar entry name of a regular file's blob: `NAME.zip`, or the short form when that would exceed
 * 255 bytes or when a sibling folder is named `NAME.zip` (`short`, decided by the scan, which sees
 * the whole folder). The zip inside always carries the full NAME, so `unzip` restores the real name.
 */
export function blobEntryName(name: string, short = false, suffix = BLOB_SUFFIX): string {
  const plain = name + suffix;
  if (!short && utf8Length(plain) <= NAME_MAX) return plain;
  return shortBlobName(name, suffix);
}

/** The suffix a blob entry name carries: `.zip.age` (encrypted) or `.zip`. */
export function blobSuffixOf(entry: string): string {
  return entry.endsWith(SEALED_BLOB_SUFFIX) ? SEALED_BLOB_SUFFIX : BLOB_SUFFIX;
}

/** Digits of a split part's number: `NAME.zip.001` … `NAME.zip.999`. */
export const PART_DIGITS = 3;
const PART_SUFFIX_LENGTH = 1 + PART_DIGITS;

/**
 * The base of a split blob's parts (`BASE.001`, `BASE.002`, …): the blob's own entry name when the
 * part names still fit in 255 bytes, otherwise a short form with a prefix 4 bytes shorter.
 */
export function partBaseName(name: string, short = false, suffix = BLOB_SUFFIX): string {
  const whole = blobEntryName(name, short, suffix);
  if (utf8Length(whole) + PART_SUFFIX_LENGTH <= NAME_MAX) return whole;
  const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 16);
  return `${utf8Prefix(name, NAME_MAX - 1 - 16 - suffix.length - PART_SUFFIX_LENGTH)}~${hash}${suffix}`;
}

export function partEntryName(base: string, index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > 999) throw new RangeError(`split part number ${index} is out of range 1–999`);
  return `${base}.${String(index).padStart(PART_DIGITS, '0')}`;
}

/** Whether `base` is a part base the zip inner name `inner` may have. */
export function partBaseMatches(base: string, inner: string): boolean {
  const x = blobSuffixOf(base);
  return isSafeComponent(inner) && (base === partBaseName(inner, false, x) || base === partBaseName(inner, true, x) || base === shortBlobName(inner, x) || base === blobEntryName(inner, false, x));
}

/** The tar entry name of a directory's nested tar. */
export function nestedEntryName(name: string): string {
  return `${name}/${NESTED_TAR_NAME}`;
}

/**
 * A single path component that is safe to create: non-empty, valid UTF-8 (the caller passes a decoded
 * string; lone surrogates fail), no '/', no NUL, not '.' or '..', at most 255 bytes.
 */
export function isSafeComponent(name: string): boolean {
  if (name.length === 0 || name === '.' || name === '..') return false;
  if (name.includes('/') || name.includes('\0')) return false;
  if (LONE_SURROGATE.test(name)) return false;
  // A UTF-16 unit is at most 3 UTF-8 bytes (a surrogate pair, two units, is 4): short names need no count.
  return name.length * 3 <= NAME_MAX || utf8Length(name) <= NAME_MAX;
}

/** Half of a surrogate pair without its other half: not valid UTF-8 once encoded. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A relative path made of safe components joined by '/', as stored in the structure record and the
 * catalog. Rejects absolute paths, '..', '.', empty components and trailing slashes.
 */
export function isSafeRelativePath(path: string): boolean {
  if (path.length === 0) return false;
  return path.split('/').every(isSafeComponent);
}

/**
 * A bundle (`pack --bundle`): several small files of one folder in one multi-entry zip, stored as the
 * entry `.xtar-bundle-N` (N from 1 in each folder). No file's blob can have this name (a blob's ends
 * in `.zip` or `.zip.NNN`); a folder that has a child folder named so is not bundled (the scan says).
 */
export const BUNDLE_PREFIX = '.xtar-bundle-';
const BUNDLE_RE = /^\.xtar-bundle-[1-9][0-9]{0,8}$/;

/** The tar entry name of a folder's `n`th bundle. */
export function bundleEntryName(n: number): string {
  if (!Number.isInteger(n) || n < 1 || n > 999_999_999) throw new RangeError(`bundle number ${n} is out of range`);
  return `${BUNDLE_PREFIX}${n}`;
}

/** Whether `entry` is a bundle's entry name. */
export function isBundleName(entry: string): boolean {
  return BUNDLE_RE.test(entry);
}

export type EntryKind =
  | { kind: 'blob'; name: string }
  | { kind: 'nested'; name: string }
  | { kind: 'part'; name: string; base: string; index: number }
  | { kind: 'bundle'; name: string };

const PART_RE = /^(.+\.zip(?:\.age)?)\.(\d{3})$/;

/**
 * Classify a tar entry name found inside a nested tar: `NAME.zip` (a file blob), `NAME/.xtar`
 * (a subdirectory), `NAME.zip.NNN` (a split part) or `.xtar-bundle-N` (a bundle). Returns null for anything else — the reader refuses those.
 */
export function classifyEntryName(entry: string): EntryKind | null {
  const slash = entry.indexOf('/');
  if (slash >= 0) {
    const dir = entry.slice(0, slash);
    if (entry.slice(slash + 1) !== NESTED_TAR_NAME || !isSafeComponent(dir)) return null;
    return { kind: 'nested', name: dir };
  }
  if (isBundleName(entry)) return { kind: 'bundle', name: entry };
  const part = PART_RE.exec(entry);
  if (part && isSafeComponent(entry) && Number(part[2]) >= 1) return { kind: 'part', name: entry, base: part[1] as string, index: Number(part[2]) };
  if (!(entry.endsWith(BLOB_SUFFIX) || entry.endsWith(SEALED_BLOB_SUFFIX)) || !isSafeComponent(entry)) return null;
  return { kind: 'blob', name: entry };
}

/** Whether `inner` (the name inside a zip) is one the blob entry `entry` may hold: its plain or its short form. */
export function blobNameMatches(entry: string, inner: string): boolean {
  const x = blobSuffixOf(entry);
  return isSafeComponent(inner) && (blobEntryName(inner, false, x) === entry || shortBlobName(inner, x) === entry);
}

/** Sort names the way the walk does: by their UTF-8 bytes, so every implementation agrees. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Depth-first order of record paths: component by component, by UTF-8 bytes; a folder before its contents. */
export function comparePreorder(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = Buffer.compare(Buffer.from(x[i] as string), Buffer.from(y[i] as string));
    if (c !== 0) return c;
  }
  return x.length - y.length;
}
