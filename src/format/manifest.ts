/**
 * The two small JSON files beside the archives: a volume folder's `volume.json` (which backup, which
 * volume of how many, written when the whole backup is done) and the set folder's marker
 * `xtar-set.json`. Encoding, decoding and validation only; finding and reading them is src/set's.
 * A reader ignores keys it does not know (a later minor version may add some) and refuses a file of
 * a newer format version.
 */
import { createHash } from 'node:crypto';
import { FormatError } from '../errors.js';
import { BACKUP_ID_RE, checkPath, checkVersion, decodeStamp, parseJsonLine, uint, versionFor, type BackupKind } from './records.js';

export interface VolumeManifest {
  xtar: 'volume';
  version: number;
  backup: string;
  /** This volume's number, 1-based, and how many volumes the backup was written on. */
  volume: number;
  volumes: number;
  root: string;
  created: string;
  /** Files whose blobs this volume holds (a reference to an earlier backup's blob is not counted), and their bytes before compression. */
  files: number;
  bytes: number;
  kind: BackupKind;
  /** The backup this one's changes were taken against (absent for a full backup). */
  base?: string;
  /** The absolute path that was backed up, so a rebuilt index knows which backups follow which. */
  source?: string;
  /** Revision 2.1: the digests in the trailers of this volume's structure.jsonl and catalog.jsonl. */
  structureSha256?: string;
  catalogSha256?: string;
  /** An encrypted set's volume: `age` (docs/FORMAT.md, "Encrypted sets"). */
  encryption?: 'age';
  /** Revision 2.1: whether the file carried its own checksum (`sum`) and it matched. */
  summed?: boolean;
}

export type VolumeManifestFields = Omit<VolumeManifest, 'xtar' | 'version' | 'summed'>;

const SUM_TAIL = /,"sum":"([0-9a-f]{64})"\}$/;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * volume.json's text: one line, keys in this order, the version the backup's kind is written with,
 * and last its own checksum `sum`: the sha256 of the line as it would be without the `,"sum":"…"`
 * member (so a reader strips that member, hashes, compares).
 */
export function encodeVolumeManifest(m: VolumeManifestFields): string {
  const { backup, volume, volumes, root, created, files, bytes, kind, base, source, structureSha256, catalogSha256, encryption } = m;
  // JSON.stringify leaves out the keys whose value is undefined (base of a full backup).
  const body = JSON.stringify({ xtar: 'volume', version: versionFor(kind), backup, volume, volumes, root, created, files, bytes, kind, base, source, encryption, structureSha256, catalogSha256 });
  return `${body.slice(0, -1)},"sum":"${sha256Hex(body)}"}\n`;
}

/** Decode volume.json; a FormatError when it does not decode, or carries a `sum` its bytes do not match. */
export function decodeVolumeManifest(text: string, where = 'volume.json'): VolumeManifest {
  const line = text.trim();
  const o = parseJsonLine(line, where);
  let summed = false;
  if (o.sum !== undefined) {
    const tail = SUM_TAIL.exec(line);
    if (tail === null || sha256Hex(`${line.slice(0, tail.index)}}`) !== tail[1]) throw new FormatError(`${where}: its checksum does not match: the file is damaged.`, { code: 'ECHECKSUM' });
    summed = true;
  }
  if (o.xtar !== 'volume') throw new FormatError(`${where}: not an xtar volume manifest.`);
  checkVersion(o.version, where);
  if (typeof o.backup !== 'string' || !BACKUP_ID_RE.test(o.backup)) throw new FormatError(`${where}: backup must be a backup id.`);
  const volume = uint(o.volume, 'volume', where);
  const volumes = uint(o.volumes, 'volumes', where);
  if (volume < 1 || volumes < volume) throw new FormatError(`${where}: volume ${volume} of ${volumes} is not a volume of the backup.`);
  const root = checkPath(o.root, where);
  if (root.includes('/')) throw new FormatError(`${where}: root must be a single name.`);
  if (typeof o.created !== 'string') throw new FormatError(`${where}: created must be a string.`);
  if (o.source !== undefined && typeof o.source !== 'string') throw new FormatError(`${where}: source must be a string.`);
  const stamp = decodeStamp(o, where);
  const m: VolumeManifest = {
    xtar: 'volume',
    version: o.version as number,
    backup: o.backup,
    volume,
    volumes,
    root,
    created: o.created,
    files: uint(o.files, 'files', where),
    bytes: uint(o.bytes, 'bytes', where),
    kind: stamp.kind ?? 'full',
  };
  if (stamp.base !== undefined) m.base = stamp.base;
  if (o.source !== undefined) m.source = o.source as string;
  if (typeof o.structureSha256 === 'string') m.structureSha256 = o.structureSha256;
  if (typeof o.catalogSha256 === 'string') m.catalogSha256 = o.catalogSha256;
  if (o.encryption === 'age') m.encryption = 'age';
  if (summed) m.summed = true;
  return m;
}

/** The set folder's marker, `xtar-set.json`: it says the folder is a set (the version of the set's layout). */
export interface SetMarker {
  xtar: 'set';
  version: number;
}

export const SET_LAYOUT_VERSION = 1;

export function encodeSetMarker(): string {
  return `${JSON.stringify({ xtar: 'set', version: SET_LAYOUT_VERSION })}\n`;
}

export function decodeSetMarker(text: string, where = 'xtar-set.json'): SetMarker {
  const o = parseJsonLine(text.trim(), where);
  if (o.xtar !== 'set') throw new FormatError(`${where}: not an xtar set marker.`);
  if (typeof o.version !== 'number' || !Number.isInteger(o.version) || o.version < 1) throw new FormatError(`${where}: missing version.`);
  if (o.version > SET_LAYOUT_VERSION) throw new FormatError(`${where}: set layout version ${o.version} is newer than this xtar understands (${SET_LAYOUT_VERSION}); upgrade xtar.`, { code: 'EVERSION' });
  return { xtar: 'set', version: o.version };
}
