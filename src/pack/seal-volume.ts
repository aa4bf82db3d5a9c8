/**
 * Sealing a written volume folder: its archive's gzip copy of the volume's own catalog lines, and,
 * once the whole backup is written, README.txt, volume.json, par2 recovery data and an fsync. Knows
 * nothing of placement or of the index.
 */
import { createReadStream } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ARCHIVE_SUFFIX, VOLUME_MANIFEST, VOLUME_README } from '../format/layout.js';
import { encodeVolumeManifest, type VolumeManifestFields } from '../format/manifest.js';
import { encodeTrailer, RecordDigest, type BackupKind } from '../format/records.js';
import { writeGzip, type MemberMaker } from './gzip-record.js';
import { folderBytes, syncFolder } from '../set/volume-files.js';
import { par2BlockSize, par2Create } from '../set/par2.js';
import { volumeReadme } from './readme.js';

/** What every volume of a backup says about the backup. */
export interface BackupStamp {
  backupId: string;
  root: string;
  createdIso: string;
  kind: BackupKind;
  base: string | null;
  /** The absolute path that was backed up (volume.json), so a rebuilt index knows which backups follow which. */
  source: string;
  /** null: one volume, no limit. */
  volumeSize: number | null;
  /** Recovery data with par2, in percent of each volume (null: none). */
  par2Percent: number | null;
}

/** A volume folder being written, as sealing sees it. */
export interface SealedVolume {
  readonly number: number;
  readonly partialDir: string;
  readonly archive: string;
  readonly files: number;
  readonly bytes: number;
  /** The digest in its catalog.jsonl's trailer. */
  readonly catalogSha256?: string | undefined;
}

/**
 * Write to `gz` the archive's copy of a volume's catalog: its own lines (bytes [from, to) of
 * `catalogPath`), between a header and a trailer of their own (with the digest of the copy's own
 * lines), gzip-compressed (writeGzip).
 */
export async function writeOwnCatalog(gz: string, header: string, catalogPath: string, from: number, to: number, ownLines: number, make?: MemberMaker): Promise<void> {
  const digest = new RecordDigest();
  await writeGzip(
    (async function* () {
      digest.bytes(header);
      yield Buffer.from(header);
      if (to > from) {
        for await (const chunk of createReadStream(catalogPath, { start: from, end: to - 1 })) {
          digest.bytes(chunk as Buffer);
          yield chunk as Buffer;
        }
      }
      yield Buffer.from(`${encodeTrailer(ownLines, digest.hex())}\n`);
    })(),
    gz,
    make,
  );
}

/** Write a volume's README.txt and volume.json, then its par2 recovery data (over everything else), and fsync every file and the folder. */
export async function sealVolume(o: BackupStamp & { structureSha256?: string | undefined; sealed?: { key: boolean } }, v: SealedVolume, total: number): Promise<void> {
  await writeFile(
    join(v.partialDir, VOLUME_README),
    volumeReadme({ backupId: o.backupId, volume: v.number, volumes: total, root: o.root, archive: v.archive, created: o.createdIso, files: v.files, bytes: v.bytes, kind: o.kind, base: o.base, ...(o.sealed ? { sealed: o.sealed } : {}) }),
  );
  const manifest: VolumeManifestFields = { backup: o.backupId, volume: v.number, volumes: total, root: o.root, created: o.createdIso, files: v.files, bytes: v.bytes, kind: o.kind, source: o.source };
  if (o.sealed) manifest.encryption = 'age';
  if (o.base !== null) manifest.base = o.base;
  if (o.structureSha256 !== undefined) manifest.structureSha256 = o.structureSha256;
  if (v.catalogSha256 !== undefined) manifest.catalogSha256 = v.catalogSha256;
  await writeFile(join(v.partialDir, VOLUME_MANIFEST), encodeVolumeManifest(manifest));
  if (o.par2Percent !== null) {
    // Recovery data over everything else in the folder, made last so it covers README and volume.json too.
    const names = (await readdir(v.partialDir)).sort();
    const size = o.volumeSize ?? (await folderBytes(v.partialDir));
    await par2Create(v.partialDir, v.archive.slice(0, -ARCHIVE_SUFFIX.length), names, o.par2Percent, par2BlockSize(size));
  }
  // Every file of the folder on disk before the folder may take its final name: the archive and
  // catalog were synced as they closed; README.txt, volume.json and the par2 files are synced here.
  await syncFolder(v.partialDir);
}
