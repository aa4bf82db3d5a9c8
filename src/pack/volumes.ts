/**
 * Writing a backup's volumes: each volume folder holds one .xtar (nested tars of the folders whose
 * files it carries), the structure record, the catalog of volumes 1..N and README.txt, and never
 * more than the volume size. A blob that fits in a volume is never split; only a blob larger than a
 * volume is cut into parts `NAME.zip.001`, `.002`, … on consecutive volumes. Volumes appear under
 * their final names only when the whole backup is written.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { copyFile, link, mkdir, open, readdir, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { blobBound, ENTRY_FRAMING_MAX } from '../format/bounds.js';
import { ARCHIVE_SUFFIX, archiveName, PARTIAL_PREFIX, VOLUME_CATALOG, VOLUME_MANIFEST, VOLUME_README, VOLUME_STRUCTURE, volumeName } from '../format/layout.js';
import { CATALOG_SUFFIX, partEntryName, STRUCTURE_SUFFIX } from '../format/names.js';
import { encodeCatalogHeader, encodeCatalogLine, encodeTrailer, versionFor, type BackupKind, type BlobPart, type CatalogLine } from '../format/records.js';
import { encodeHeader, paddingLength } from '../format/tar.js';
import { LineWriter } from '../util/lines.js';
import { NestedTarWriter } from './assemble.js';
import { OutputFile } from './output-file.js';
import { ISO_OVERHEAD, makeIso } from './iso.js';
import { par2BlockSize, par2Create, par2Reserve } from './par2.js';
import { volumeReadme } from './readme.js';
import { folderBytes, syncDir } from '../set/volume-files.js';

/** README.txt and volume.json are written last; this much room is kept for them. */
const README_RESERVE = 8 * 1024;
const MANIFEST_RESERVE = 1024;
const TRAILER_RESERVE = 64;
/** A blob is not started in a volume with less room than this; it goes to the next one whole or split. */
const MIN_PART = 64 * 1024;

export interface BlobSource {
  readonly length: number;
  /** Bytes [pos, pos+len) of the blob. */
  read(pos: number, len: number): Promise<Uint8Array>;
}

export function bufferSource(b: Uint8Array): BlobSource {
  return { length: b.length, read: async (pos, len) => b.subarray(pos, pos + len) };
}

export async function fileSource(path: string): Promise<BlobSource & { close(): Promise<void> }> {
  const fh: FileHandle = await open(path, 'r');
  const { size } = await fh.stat();
  return {
    length: size,
    async read(pos, len) {
      const b = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await fh.read(b, got, len - got, pos + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return b.subarray(0, got);
    },
    close: () => fh.close(),
  };
}

interface OpenDirInfo {
  entry: string;
  mtimeSec: number;
  large: boolean;
}

interface Volume {
  number: number;
  partialDir: string;
  finalDir: string;
  archive: string;
  out: OutputFile;
  tar: NestedTarWriter;
  catalog: LineWriter;
  /** Where this volume's own lines start in its catalog.jsonl (after its header and the earlier volumes' lines). */
  ownStart: number;
  ownLines: number;
  files: number;
  bytes: number;
}

export interface VolumeSummary {
  volume: number;
  path: string;
  archive: string;
  bytes: number;
  files: number;
}

export interface VolumeSetOptions {
  set: string;
  backupId: string;
  root: string;
  createdIso: string;
  /** mtime for the record copies' tar headers. */
  metaMtimeSec: number;
  /** null: one volume, no limit. */
  volumeSize: number | null;
  /** The scan's structure record, and its gzip copy, in the work folder. */
  structurePath: string;
  structureGzPath: string;
  workDir: string;
  files: number;
  bytes: number;
  /** Recovery data with par2, in percent of each volume (null: none). */
  par2Percent: number | null;
  /** Also write each volume as an ISO image beside its folder (room is kept for its file system). */
  iso: boolean;
  /** What kind of backup this is, and the backup its changes were taken against (null for a full one). */
  kind: BackupKind;
  base: string | null;
  /** The absolute path that was backed up (volume.json), so a rebuilt index knows which backups follow which. */
  source: string;
}

export class VolumeSet {
  private readonly volumes: Volume[] = [];
  private current!: Volume;
  private readonly chain: OpenDirInfo[] = [];
  private structureBytes = 0;
  private structureGzBytes = 0;
  private readonly headerBytesOf = new Map<number, number>();
  bytesWritten = 0;

  constructor(private readonly o: VolumeSetOptions) {}

  async start(): Promise<void> {
    this.structureBytes = (await stat(this.o.structurePath)).size;
    this.structureGzBytes = (await stat(this.o.structureGzPath)).size;
    await this.openVolume();
  }

  get volumeNumber(): number {
    return this.current.number;
  }

  /** Bytes of the current volume folder if it were closed now, plus `extraArchive` archive bytes and `extraLine` catalog bytes. */
  private usage(extraArchive: number, extraLine: number): number {
    const v = this.current;
    return (
      v.out.offset +
      extraArchive +
      1024 * (this.chain.length + 1) + // end blocks still to write
      ENTRY_FRAMING_MAX + blobBound(this.ownBytes(v) + extraLine) + 512 + // the catalog copy entry
      v.catalog.bytes + extraLine + TRAILER_RESERVE +
      this.structureBytes +
      README_RESERVE +
      MANIFEST_RESERVE
    );
  }

  /** What a fresh volume would use before its first blob, with the current folder chain reopened and `extraLine`. */
  private freshUsage(extraLine: number): number {
    let chainHeaders = 0;
    for (const d of this.chain) chainHeaders += encodeHeader({ name: d.entry, size: 0, mtimeSec: d.mtimeSec, sizeBound: d.large ? Number.MAX_SAFE_INTEGER : 0 }).length;
    const v = this.current;
    const catalogBytes = Buffer.byteLength(this.catalogHeader(9999)) + 1 + (v.catalog.bytes - this.headerBytes(v));
    return (
      ENTRY_FRAMING_MAX + this.structureGzBytes + 512 +
      chainHeaders +
      1024 * (this.chain.length + 1) +
      ENTRY_FRAMING_MAX + blobBound(extraLine) + 512 +
      catalogBytes + extraLine + TRAILER_RESERVE +
      this.structureBytes +
      README_RESERVE +
      MANIFEST_RESERVE
    );
  }

  /** What the volume's own files may take: the volume size less the room kept for par2 recovery files. */
  private get limit(): number {
    if (this.o.volumeSize === null) return Number.MAX_SAFE_INTEGER;
    return this.o.volumeSize - (this.o.par2Percent === null ? 0 : par2Reserve(this.o.volumeSize, this.o.par2Percent)) - (this.o.iso ? ISO_OVERHEAD : 0);
  }

  async openDir(entry: string, mtimeSec: number, large: boolean): Promise<void> {
    const d = { entry, mtimeSec, large };
    // A folder header with nothing after it is not worth a volume of its own, but must fit.
    const h = encodeHeader({ name: entry, size: 0, mtimeSec, sizeBound: large ? Number.MAX_SAFE_INTEGER : 0 }).length;
    if (this.usage(h + 1024, 0) > this.limit) await this.rollover();
    this.chain.push(d);
    await this.current.tar.openDir(entry, mtimeSec, large);
  }

  async closeDir(): Promise<void> {
    this.chain.pop();
    await this.current.tar.closeDir();
  }

  /**
   * Place a whole blob (or, when larger than a volume, its parts) and record its catalog line.
   * `line` builds the catalog line from the parts' positions.
   */
  async addBlob(entry: string, partBase: string, mtimeSec: number, src: BlobSource, line: (parts: BlobPart[]) => CatalogLine, size: number): Promise<void> {
    if (this.o.volumeSize === null) {
      // One volume without a limit: nothing to weigh (the weighing costs a catalog line and a header per file).
      const offset = await this.writeEntry(entry, mtimeSec, src, 0, src.length);
      await this.record(line([{ volume: this.current.number, offset, length: src.length }]), size);
      return;
    }
    const lineBound = Buffer.byteLength(encodeCatalogLine(line([{ volume: 99999, offset: 1e15, length: 1e15 }]))) + 1;
    const wholeEntry = encodeHeader({ name: entry, size: src.length, mtimeSec }).length + src.length + paddingLength(src.length);
    if (this.usage(wholeEntry, lineBound) > this.limit) {
      const fitsFresh = this.freshUsage(lineBound) + wholeEntry <= this.limit;
      if (fitsFresh) await this.rollover();
    }
    if (this.usage(wholeEntry, lineBound) <= this.limit) {
      const offset = await this.writeEntry(entry, mtimeSec, src, 0, src.length);
      await this.record(line([{ volume: this.current.number, offset, length: src.length }]), size);
      return;
    }
    // Larger than a volume: parts on consecutive volumes, each filling what is left.
    const parts: BlobPart[] = [];
    let done = 0;
    for (let index = 1; done < src.length; index++) {
      const name = partEntryName(partBase, index);
      const header = encodeHeader({ name, size: 0, mtimeSec }).length;
      let room = this.limit - this.usage(header, lineBound * 2);
      room -= room % 512;
      if (room < Math.min(MIN_PART, src.length - done)) {
        if (index > 1 || this.volumes.length > 0 || this.current.out.offset > 0) {
          await this.rollover();
          room = this.limit - this.usage(header, lineBound * 2);
          room -= room % 512;
        }
        if (room <= 0) throw new InputError(`--volume-size is too small: a volume cannot hold even part of ${entry}.`);
      }
      const n = Math.min(room, src.length - done);
      const offset = await this.writeEntry(name, mtimeSec, src, done, n);
      parts.push({ volume: this.current.number, offset, length: n });
      done += n;
      if (done < src.length) await this.rollover();
    }
    await this.record(line(parts), size);
  }

  private async writeEntry(name: string, mtimeSec: number, src: BlobSource, from: number, length: number): Promise<number> {
    const tar = this.current.tar;
    const pending = await tar.beginEntry(name, mtimeSec, length);
    const CHUNK = 4 * 1024 * 1024;
    for (let at = 0; at < length; at += CHUNK) await this.current.out.write(await src.read(from + at, Math.min(CHUNK, length - at)));
    await tar.endEntry(pending);
    return pending.dataStart;
  }

  private catalogHeader(volume: number): string {
    const o = this.o;
    return encodeCatalogHeader({ backup: o.backupId, volume, created: o.createdIso, kind: o.kind, ...(o.base === null ? {} : { base: o.base }) });
  }

  /** Bytes of a volume's catalog header line. */
  private headerBytes(v: Volume): number {
    // Asked twice per file while weighing: encoded once per volume.
    let n = this.headerBytesOf.get(v.number);
    if (n === undefined) {
      n = Buffer.byteLength(this.catalogHeader(v.number)) + 1;
      this.headerBytesOf.set(v.number, n);
    }
    return n;
  }

  /** Bytes of the plain text of a volume's own catalog copy, so far (its lines plus a header and a trailer). */
  private ownBytes(v: Volume): number {
    return this.headerBytes(v) + (v.catalog.bytes - v.ownStart) + TRAILER_RESERVE;
  }

  /** Room left in the current volume for an entry's archive bytes (for streaming a blob whose size is known only by its bound). */
  roomFor(lineBound: number): number {
    return this.limit - this.usage(0, lineBound);
  }

  get tar(): NestedTarWriter {
    return this.current.tar;
  }

  get out(): OutputFile {
    return this.current.out;
  }

  /**
   * Record a catalog line: for a file whose blob was written (directly) into the current volume, a
   * file pack could not read, or a file whose bytes an earlier backup holds (a reference, counted as
   * neither a file nor bytes of this volume).
   */
  async record(line: CatalogLine, size: number): Promise<void> {
    const text = encodeCatalogLine(line);
    await this.current.catalog.line(text);
    this.current.ownLines++;
    if (!('skipped' in line) && line.backup === undefined) {
      this.current.files++;
      this.current.bytes += size;
    }
  }

  /** Close the current volume (its folder chain, its catalog copy) and open the next with the chain reopened. */
  async rollover(): Promise<void> {
    if (this.o.volumeSize === null) return;
    await this.closeVolume();
    await this.openVolume();
    for (const d of this.chain) await this.current.tar.openDir(d.entry, d.mtimeSec, d.large);
  }

  private async openVolume(): Promise<void> {
    const number = this.volumes.length + 1;
    const name = volumeName(this.o.backupId, number);
    const partialDir = join(this.o.set, PARTIAL_PREFIX + name);
    await mkdir(partialDir);
    // The structure record is the same on every volume: a hard link costs no second copy on this disk.
    await link(this.o.structurePath, join(partialDir, VOLUME_STRUCTURE)).catch(() => copyFile(this.o.structurePath, join(partialDir, VOLUME_STRUCTURE)));
    const archive = archiveName(this.o.backupId, number);
    const out = await OutputFile.create(join(partialDir, archive));
    const tar = new NestedTarWriter(out);
    const catalog = await LineWriter.create(join(partialDir, VOLUME_CATALOG));
    await catalog.line(this.catalogHeader(number));
    // The catalog lists volumes 1..N: it starts with the previous volume's lines (its catalog less its header).
    const prev = this.volumes[this.volumes.length - 1];
    if (prev !== undefined) {
      await prev.catalog.flush();
      const from = this.headerBytes(prev);
      for await (const chunk of createReadStream(join(prev.partialDir, VOLUME_CATALOG), { encoding: 'utf8', start: from })) await catalog.raw(chunk as string);
    }
    const v: Volume = { number, partialDir, finalDir: join(this.o.set, name), archive, out, tar, catalog, ownStart: catalog.bytes, ownLines: 0, files: 0, bytes: 0 };
    this.volumes.push(v);
    this.current = v;
    await this.copyIntoTar(this.o.root + STRUCTURE_SUFFIX, this.o.structureGzPath);
  }

  private async copyIntoTar(entry: string, path: string): Promise<void> {
    const size = (await stat(path)).size;
    const pending = await this.current.tar.beginEntry(entry, this.o.metaMtimeSec, size);
    for await (const chunk of createReadStream(path)) await this.current.out.write(chunk as Buffer);
    await this.current.tar.endEntry(pending);
  }

  private async closeVolume(): Promise<void> {
    const v = this.current;
    for (let i = this.chain.length; i > 0; i--) await v.tar.closeDir();
    // The archive's copy: this volume's own lines, between a header and a trailer of their own, gzip-compressed.
    await v.catalog.flush();
    const gz = join(this.o.workDir, `own-${v.number}.jsonl.gz`);
    const header = `${this.catalogHeader(v.number)}\n`;
    const trailer = `${encodeTrailer(v.ownLines)}\n`;
    const catalogPath = join(v.partialDir, VOLUME_CATALOG);
    await pipeline(
      async function* () {
        yield Buffer.from(header);
        if (v.catalog.bytes > v.ownStart) yield* createReadStream(catalogPath, { start: v.ownStart, end: v.catalog.bytes - 1 });
        yield Buffer.from(trailer);
      },
      createGzip({ level: 9 }),
      createWriteStream(gz),
    );
    await this.copyIntoTar(this.o.root + CATALOG_SUFFIX, gz);
    await rm(gz, { force: true });
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
      await v.catalog.line(encodeTrailer(v.catalog.lines - 1));
      await v.catalog.close();
    }
    for (const v of this.volumes) {
      await writeFile(
        join(v.partialDir, VOLUME_README),
        volumeReadme({ backupId: this.o.backupId, volume: v.number, volumes: total, root: this.o.root, archive: v.archive, created: this.o.createdIso, files: v.files, bytes: v.bytes, kind: this.o.kind, base: this.o.base }),
      );
      await writeFile(
        join(v.partialDir, VOLUME_MANIFEST),
        `${JSON.stringify({ xtar: 'volume', version: versionFor(this.o.kind), backup: this.o.backupId, volume: v.number, volumes: total, root: this.o.root, created: this.o.createdIso, files: v.files, bytes: v.bytes, kind: this.o.kind, ...(this.o.base === null ? {} : { base: this.o.base }), source: this.o.source })}\n`,
      );
      if (this.o.par2Percent !== null) {
        // Recovery data over everything else in the folder, made last so it covers README and volume.json too.
        const names = (await readdir(v.partialDir)).sort();
        const size = this.o.volumeSize ?? (await folderBytes(v.partialDir));
        await par2Create(v.partialDir, v.archive.slice(0, -ARCHIVE_SUFFIX.length), names, this.o.par2Percent, par2BlockSize(size));
      }
      await syncDir(v.partialDir);
    }
    for (const v of this.volumes) await rename(v.partialDir, v.finalDir);
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
    for (const v of this.volumes) out.push({ volume: v.number, path: v.finalDir, archive: join(v.finalDir, v.archive), bytes: await folderBytes(v.finalDir), files: v.files });
    return out;
  }

  /** Remove every partial volume (after an error or an interruption). */
  async abort(): Promise<void> {
    for (const v of this.volumes) {
      await v.out.abandon();
      await v.catalog.abandon();
      await rm(v.partialDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
