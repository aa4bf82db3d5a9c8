/**
 * Writing a backup's volumes: each volume folder holds one .xtar (nested tars of the folders whose
 * files it carries), the structure record, the catalog of volumes 1..N and README.txt, and never
 * more than the volume size. A blob that fits in a volume is never split; only a blob larger than a
 * volume is cut into parts `NAME.zip.001`, `.002`, … on consecutive volumes. Volumes appear under
 * their final names only when the whole backup is written. The room arithmetic is placement.ts; the
 * sealing of a finished folder is seal-volume.ts; the index is not written here.
 */
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InputError } from '../errors.js';
import { archiveName, PARTIAL_PREFIX, VOLUME_CATALOG, VOLUME_STRUCTURE, volumeName } from '../format/layout.js';
import { AGE_SUFFIX, agePayloadBytes, encodeRecipients, KEY_FILE, RECIPIENTS_FILE } from '../format/encryption.js';
import { CATALOG_SUFFIX, STRUCTURE_SUFFIX } from '../format/names.js';
import { encodeCatalogHeader, encodeCatalogLine, encodeTrailer, RecordDigest, type BlobPart, type CatalogLine } from '../format/records.js';
import { folderBytes, syncDir } from '../set/volume-files.js';
import { LineWriter } from '../util/lines.js';
import { NestedTarWriter } from './assemble.js';
import { bufferSource, type BlobSource } from './blob-source.js';
import { makeIso } from './iso.js';
import { OutputFile, type ArchiveSink } from './output-file.js';
import type { RemoteSet } from '../set/remote-set.js';
import { placeBlob, Room, volumeLimit, wholeEntryBytes, WIDEST_PARTS, type OpenDir, type Placer, type VolumeFill } from './placement.js';
import type { MemberMaker } from './gzip-record.js';
import { sealFile } from './seal-file.js';
import { sealVolume, writeOwnCatalog, type BackupStamp } from './seal-volume.js';
import type { PackSealing } from '../set/encryption.js';

/** Characters of catalog lines gathered before they are hashed. */
const HASH_CHUNK = 64 * 1024;

/** A volume folder being written. */
class Volume implements VolumeFill {
  /** Where this volume's own lines start in its catalog.jsonl (after its header and the earlier volumes' lines). */
  readonly ownStart: number;
  ownLines = 0;
  files = 0;
  bytes = 0;
  /** The digest of its catalog.jsonl's trailer, once finished. */
  catalogSha256: string | undefined;
  /** Catalog lines written and not yet hashed: hashed a chunk at a time (per line, the call cost more than the bytes). */
  private unhashed = '';

  constructor(
    readonly number: number,
    readonly partialDir: string,
    readonly finalDir: string,
    readonly archive: string,
    readonly out: ArchiveSink,
    readonly tar: NestedTarWriter,
    readonly catalog: LineWriter,
    /** Its catalog header line, with its newline; encoded once per volume. */
    readonly headerLine: string,
    readonly headerBytes: number,
    /** Of every byte written to its catalog.jsonl so far. */
    readonly digest: RecordDigest,
  ) {
    this.ownStart = catalog.bytes;
  }

  /** Hash a catalog line (its digest is complete once `catalogDigest` is asked for). */
  hashLine(text: string): void {
    this.unhashed += text;
    if (this.unhashed.length >= HASH_CHUNK) this.hashPending();
  }

  /** The hex digest of every byte written to its catalog.jsonl so far. */
  catalogDigest(): string {
    this.hashPending();
    return this.digest.hex();
  }

  private hashPending(): void {
    if (this.unhashed.length > 0) this.digest.bytes(this.unhashed);
    this.unhashed = '';
  }

  get archiveBytes(): number {
    return this.out.offset;
  }

  get catalogBytes(): number {
    return this.catalog.bytes;
  }
}

export interface VolumeSummary {
  volume: number;
  path: string;
  archive: string;
  bytes: number;
  files: number;
  /** The ISO 9660 image of the volume folder (`--iso`), beside it. */
  iso?: string;
}

export interface VolumeWriterOptions extends BackupStamp {
  set: string;
  /** mtime for the record copies' tar headers. */
  metaMtimeSec: number;
  /** The scan's structure record, and its gzip copy, in the work folder; the digest its trailer carries. */
  structurePath: string;
  structureGzPath: string;
  structureSha256?: string;
  workDir: string;
  /** Also write each volume as an ISO image beside its folder (room is kept for its file system). */
  iso: boolean;
  /** Who makes the gzip members of the catalog copies (the pool's workers); default: this thread. */
  gzipMember?: MemberMaker;
  /**
   * The set is in object storage and `set` its cache: each archive is uploaded in parts as it is
   * written (never staged), the records when the backup is whole, every volume.json last.
   */
  remote?: RemoteSet;
  /**
   * An encrypted set: the records are written as age files (`structure.jsonl.age`, `catalog.jsonl.age`
   * and the copies `….jsonl.gz.age` in the archive) and each volume carries the set's key and
   * recipients files; `structurePath` and `structureGzPath` are then already encrypted.
   */
  sealing?: PackSealing | null;
}

/**
 * Room an encrypted volume keeps besides its blobs (docs/FORMAT.md, "Encrypted sets"): age's
 * framing of the catalog beside the archive and of its copy inside (header, nonce, 16 bytes per
 * 64 KiB, either at most a volume long), the key and recipients files, and a longer README.txt.
 */
function sealedReserve(s: PackSealing, volumeSize: number | null): number {
  if (volumeSize === null) return 0;
  const framing = s.writer.headerBytes + agePayloadBytes(volumeSize) - volumeSize;
  return 2 * framing + (s.keyFile?.length ?? 0) + Buffer.byteLength(encodeRecipients(s.recipients)) + 4096;
}

export class VolumeWriter implements Placer<BlobSource> {
  private readonly volumes: Volume[] = [];
  /** With a remote set: each volume's upload, to abort and remove after an error. */
  private readonly uploads: { name: string; up: ArchiveSink }[] = [];
  private current_!: Volume;
  private room!: Room;
  bytesWritten = 0;

  constructor(private readonly o: VolumeWriterOptions) {}

  async start(): Promise<void> {
    const structureBytes = (await stat(this.o.structurePath)).size;
    const structureGzBytes = (await stat(this.o.structureGzPath)).size;
    const widestHeaderBytes = Buffer.byteLength(this.catalogHeader(9999)) + 1;
    const sealed = this.o.sealing ? sealedReserve(this.o.sealing, this.o.volumeSize) : 0;
    this.room = new Room(volumeLimit(this.o.volumeSize, this.o.par2Percent, this.o.iso) - sealed, structureBytes, structureGzBytes, widestHeaderBytes);
    await this.openVolume();
  }

  get current(): VolumeFill {
    return this.current_;
  }

  get volumeNumber(): number {
    return this.current_.number;
  }

  async openDir(entry: string, mtimeSec: number, large: boolean): Promise<void> {
    const d: OpenDir = { entry, mtimeSec, large };
    if (!this.room.dirFits(this.current_, d)) await this.rollover();
    this.room.chain.push(d);
    await this.current_.tar.openDir(entry, mtimeSec, large);
  }

  async closeDir(): Promise<void> {
    this.room.chain.pop();
    await this.current_.tar.closeDir();
  }

  /**
   * Place a whole blob (or, when larger than a volume, its parts) and return where it landed; the
   * caller records its catalog line. `line` builds the catalog line from parts, for its length.
   */
  async addBlob(entry: string, partBase: string, mtimeSec: number, src: BlobSource, line: (parts: BlobPart[]) => CatalogLine): Promise<BlobPart[]> {
    if (this.o.volumeSize !== null) {
      const lineBound = Buffer.byteLength(encodeCatalogLine(line(WIDEST_PARTS))) + 1;
      const whole = wholeEntryBytes(entry, mtimeSec, src.length);
      if (!this.room.fits(this.current_, whole, lineBound)) return placeBlob(this.room, this, entry, partBase, mtimeSec, src, src.length, whole, lineBound);
    }
    // It fits (or one volume without a limit: nothing to weigh, the weighing costs a catalog line and a header per file).
    const offset = await this.writeEntry(entry, mtimeSec, src, 0, src.length);
    return [{ volume: this.current_.number, offset, length: src.length }];
  }

  /**
   * Place a bundle of small files (bundle.ts) whole: in this volume when it fits with its files'
   * catalog lines (`lineBytes`), else in the next. A bundle is never split.
   */
  async addBundle(entry: string, mtimeSec: number, bytes: Buffer, lineBytes: number): Promise<BlobPart[]> {
    if (this.o.volumeSize !== null) {
      const whole = wholeEntryBytes(entry, mtimeSec, bytes.length);
      if (!this.room.fits(this.current_, whole, lineBytes)) {
        if (this.room.freshUsage(this.current_, lineBytes) + whole > this.room.limit) {
          throw new InputError('--volume-size is too small: a volume cannot hold a bundle of small files; give a larger size, or pack without --bundle.');
        }
        await this.rollover();
      }
    }
    const offset = await this.writeEntry(entry, mtimeSec, bufferSource(bytes), 0, bytes.length);
    return [{ volume: this.current_.number, offset, length: bytes.length }];
  }

  async writeEntry(name: string, mtimeSec: number, src: BlobSource, from: number, length: number): Promise<number> {
    const tar = this.current_.tar;
    // A whole blob in memory (a small file's): its header is written once, with its size.
    if (src.bytes !== undefined && from === 0 && length === src.length) return tar.addEntry(name, mtimeSec, src.bytes);
    const pending = await tar.beginEntry(name, mtimeSec, length);
    const CHUNK = 4 * 1024 * 1024;
    for (let at = 0; at < length; at += CHUNK) await this.current_.out.write(await src.read(from + at, Math.min(CHUNK, length - at)));
    await tar.endEntry(pending);
    return pending.dataStart;
  }

  private catalogHeader(volume: number): string {
    const o = this.o;
    return encodeCatalogHeader({ backup: o.backupId, volume, created: o.createdIso, kind: o.kind, ...(o.base === null ? {} : { base: o.base }) });
  }

  /** Room left in the current volume for an entry's archive bytes (for streaming a blob whose size is known only by its bound). */
  roomFor(lineBound: number): number {
    return this.room.roomFor(this.current_, lineBound);
  }

  get tar(): NestedTarWriter {
    return this.current_.tar;
  }

  get out(): ArchiveSink {
    return this.current_.out;
  }

  /**
   * Record a catalog line: for a file whose blob was written into the current volume, a file pack
   * could not read, or a file whose bytes an earlier backup holds (a reference, counted as neither a
   * file nor bytes of this volume).
   */
  async record(line: CatalogLine, size: number): Promise<void> {
    const text = `${encodeCatalogLine(line)}\n`;
    this.current_.hashLine(text);
    await this.current_.catalog.raw(text);
    this.current_.ownLines++;
    if (!('skipped' in line) && line.backup === undefined) {
      this.current_.files++;
      this.current_.bytes += size;
    }
  }

  /** Close the current volume (its folder chain, its catalog copy) and open the next with the chain reopened. */
  async rollover(): Promise<void> {
    if (this.o.volumeSize === null) return;
    await this.closeVolume();
    await this.openVolume();
    for (const d of this.room.chain) await this.current_.tar.openDir(d.entry, d.mtimeSec, d.large);
  }

  private async openVolume(): Promise<void> {
    const number = this.volumes.length + 1;
    const name = volumeName(this.o.backupId, number);
    const partialDir = join(this.o.set, PARTIAL_PREFIX + name);
    await mkdir(partialDir);
    // The structure record is the same on every volume: a hard link costs no second copy on this disk.
    const structureName = VOLUME_STRUCTURE + (this.o.sealing ? AGE_SUFFIX : '');
    await link(this.o.structurePath, join(partialDir, structureName)).catch(() => copyFile(this.o.structurePath, join(partialDir, structureName)));
    const archive = archiveName(this.o.backupId, number);
    const remote = this.o.remote;
    let out: ArchiveSink;
    let tar: NestedTarWriter;
    if (remote === undefined) {
      out = await OutputFile.create(join(partialDir, archive));
      tar = new NestedTarWriter(out);
    } else {
      const up = await remote.archiveOut(name, archive);
      this.uploads.push({ name, up });
      out = up;
      tar = new NestedTarWriter(out);
      // A part holding a header still to be filled in waits for it.
      up.holdWhile(() => tar.pendingRanges());
    }
    const catalog = await LineWriter.create(join(partialDir, VOLUME_CATALOG));
    const header = this.catalogHeader(number);
    const digest = new RecordDigest();
    digest.line(header);
    await catalog.line(header);
    // The catalog lists volumes 1..N: it starts with the previous volume's lines (its catalog less its header).
    const prev = this.volumes[this.volumes.length - 1];
    if (prev !== undefined) {
      await prev.catalog.flush();
      for await (const chunk of createReadStream(join(prev.partialDir, VOLUME_CATALOG), { encoding: 'utf8', start: prev.headerBytes })) {
        digest.bytes(chunk as string);
        await catalog.raw(chunk as string);
      }
    }
    const v = new Volume(number, partialDir, join(this.o.set, name), archive, out, tar, catalog, `${header}\n`, Buffer.byteLength(header) + 1, digest);
    this.volumes.push(v);
    this.current_ = v;
    await this.copyIntoTar(this.o.root + STRUCTURE_SUFFIX + (this.o.sealing ? AGE_SUFFIX : ''), this.o.structureGzPath);
  }

  private async copyIntoTar(entry: string, path: string): Promise<void> {
    const size = (await stat(path)).size;
    const pending = await this.current_.tar.beginEntry(entry, this.o.metaMtimeSec, size);
    for await (const chunk of createReadStream(path)) await this.current_.out.write(chunk as Buffer);
    await this.current_.tar.endEntry(pending);
  }

  private async closeVolume(): Promise<void> {
    const v = this.current_;
    for (let i = this.room.chain.length; i > 0; i--) await v.tar.closeDir();
    await v.catalog.flush();
    const gz = join(this.o.workDir, `own-${v.number}.jsonl.gz`);
    await writeOwnCatalog(gz, v.headerLine, join(v.partialDir, VOLUME_CATALOG), v.ownStart, v.catalog.bytes, v.ownLines, this.o.gzipMember);
    // An encrypted set's copy is the same gzip, encrypted whole (the plain one removed as it is).
    const suffix = this.o.sealing ? AGE_SUFFIX : '';
    if (this.o.sealing) await sealFile(this.o.sealing.writer, gz, gz + suffix, true);
    await this.copyIntoTar(this.o.root + CATALOG_SUFFIX + suffix, gz + suffix);
    await rm(gz + suffix, { force: true });
    await v.tar.finish();
    await v.out.close();
    this.bytesWritten += v.out.bytesWritten;
  }

  /** Finish the last volume, write every README.txt and volume.json, and give every volume its final name. */
  async finish(): Promise<VolumeSummary[]> {
    await this.closeVolume();
    const total = this.volumes.length;
    // Catalog trailers: each counts its own lines (all volumes' files so far).
    for (const v of this.volumes) {
      v.catalogSha256 = v.catalogDigest();
      await v.catalog.line(encodeTrailer(v.catalog.lines - 1, v.catalogSha256));
      await v.catalog.close();
    }
    if (this.o.sealing) for (const v of this.volumes) await this.sealFolder(v, this.o.sealing);
    for (const v of this.volumes) await sealVolume(this.o.sealing ? { ...this.o, structureSha256: undefined, sealed: { key: this.o.sealing.keyFile !== null } } : this.o, v, total);
    // In object storage the volumes count once every volume.json is there, written last.
    await this.o.remote?.publishVolumes(this.volumes.map((v) => ({ name: basename(v.finalDir), dir: v.partialDir })));
    for (const v of this.volumes) await rename(v.partialDir, v.finalDir);
    if (this.o.remote !== undefined) for (const v of this.volumes) await this.o.remote.cachePublished(basename(v.finalDir), v.archive, v.archiveBytes);
    await syncDir(this.o.set);
    if (this.o.iso) {
      for (const v of this.volumes) {
        const iso = `${v.finalDir}.iso`;
        const size = await makeIso(v.finalDir, iso, `XTAR ${this.o.backupId} ${v.number}`);
        if (this.o.volumeSize !== null && size > this.o.volumeSize) {
          throw new InputError(`The image ${iso} is ${size} bytes, more than --volume-size; give a larger size.`, iso);
        }
      }
    }
    const out: VolumeSummary[] = [];
    for (const v of this.volumes) {
      out.push({ volume: v.number, path: v.finalDir, archive: join(v.finalDir, v.archive), bytes: await folderBytes(v.finalDir), files: v.files, ...(this.o.iso ? { iso: `${v.finalDir}.iso` } : {}) });
    }
    return out;
  }

  /** An encrypted set's volume: its catalog encrypted (the plain one removed), the set's key and recipients files beside. */
  private async sealFolder(v: Volume, s: PackSealing): Promise<void> {
    const catalog = join(v.partialDir, VOLUME_CATALOG);
    await sealFile(s.writer, catalog, catalog + AGE_SUFFIX, true);
    v.catalogSha256 = undefined;
    if (s.keyFile !== null) await writeFile(join(v.partialDir, KEY_FILE), s.keyFile);
    await writeFile(join(v.partialDir, RECIPIENTS_FILE), encodeRecipients(s.recipients));
  }

  /** Remove every partial volume (after an error or an interruption). */
  async abort(): Promise<void> {
    for (const v of this.volumes) {
      await v.out.abandon();
      await v.catalog.abandon();
      await rm(v.partialDir, { recursive: true, force: true }).catch(() => undefined);
    }
    // In object storage: whatever of this backup's volumes reached the bucket is deleted.
    for (const u of this.uploads) await this.o.remote?.removeVolume(u.name).catch(() => undefined);
  }
}
