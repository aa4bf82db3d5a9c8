/**
 * Room arithmetic for volumes: what a volume folder will take once closed, whether a folder header or
 * a blob fits, when to roll over, and how big each part of a split blob is. Numbers only, no I/O:
 * the writing (through a `Placer`) is volume-writer.ts.
 */
import { InputError } from '../errors.js';
import { blobBound, ENTRY_FRAMING_MAX } from '../format/bounds.js';
import { partEntryName } from '../format/names.js';
import type { BlobPart } from '../format/records.js';
import { encodeHeader, paddingLength } from '../format/tar.js';
import { ISO_OVERHEAD } from './iso.js';
import { par2Reserve } from '../set/par2.js';

/**
 * README.txt and volume.json are written last; this much room is kept for them (README.txt is about
 * 10 KiB, 12.3 KiB with a root name of 255 bytes, the longest: test/pack/readme.test.ts).
 */
export const README_RESERVE = 14 * 1024;
export const MANIFEST_RESERVE = 1024;
export const TRAILER_RESERVE = 64;
/** A blob is not started in a volume with less room than this; it goes to the next one whole or split. */
export const MIN_PART = 64 * 1024;
/** The widest parts a catalog line can name: a trial line with these bounds a line's length before its parts are known. */
export const WIDEST_PARTS: BlobPart[] = [{ volume: 99999, offset: 1e15, length: 1e15 }];
/** What each part after the first adds to a catalog line at most: `,` and one widest part. */
export const PART_LINE_BYTES = 1 + JSON.stringify({ volume: 99999, offset: 1e15, length: 1e15 }).length;

/** A folder open in the current volume's nested tars (reopened at the top of the next volume). */
export interface OpenDir {
  entry: string;
  mtimeSec: number;
  large: boolean;
}

/** What the current volume holds so far, as far as its room is concerned. */
export interface VolumeFill {
  /** Bytes written to its archive. */
  readonly archiveBytes: number;
  /** Bytes of its catalog.jsonl so far (its header, the earlier volumes' lines, its own lines). */
  readonly catalogBytes: number;
  /** Where its own lines start in catalogBytes. */
  readonly ownStart: number;
  /** Bytes of its catalog header line. */
  readonly headerBytes: number;
}

/** Bytes a tar header of a folder's nested tar takes. */
export function dirHeaderBytes(d: OpenDir): number {
  return encodeHeader({ name: d.entry, size: 0, mtimeSec: d.mtimeSec, sizeBound: d.large ? Number.MAX_SAFE_INTEGER : 0 }).length;
}

/** What a volume's own files may take: the volume size less the room kept for par2 recovery files and an ISO image's file system. */
export function volumeLimit(volumeSize: number | null, par2Percent: number | null, iso: boolean): number {
  if (volumeSize === null) return Number.MAX_SAFE_INTEGER;
  return volumeSize - (par2Percent === null ? 0 : par2Reserve(volumeSize, par2Percent)) - (iso ? ISO_OVERHEAD : 0);
}

/** The room of one backup's volumes: fixed sizes, the limit, and the folder chain open in the current volume. */
export class Room {
  /** The folder chain open in the current volume. */
  readonly chain: OpenDir[] = [];

  constructor(
    readonly limit: number,
    /** The structure record, as a file in each folder and gzip-compressed in each archive. */
    private readonly structureBytes: number,
    private readonly structureGzBytes: number,
    /** Bytes of the widest catalog header line a volume can have. */
    private readonly widestHeaderBytes: number,
  ) {}

  /** Bytes of a volume's own catalog copy as plain text so far (its lines plus a header and a trailer). */
  ownBytes(v: VolumeFill): number {
    return v.headerBytes + (v.catalogBytes - v.ownStart) + TRAILER_RESERVE;
  }

  /** Bytes of the volume folder if it were closed now, plus `extraArchive` archive bytes and `extraLine` catalog bytes. */
  usage(v: VolumeFill, extraArchive: number, extraLine: number): number {
    return (
      v.archiveBytes +
      extraArchive +
      1024 * (this.chain.length + 1) + // end blocks still to write
      ENTRY_FRAMING_MAX + blobBound(this.ownBytes(v) + extraLine) + 512 + // the catalog copy entry
      v.catalogBytes + extraLine + TRAILER_RESERVE +
      this.structureBytes +
      README_RESERVE +
      MANIFEST_RESERVE
    );
  }

  /** What a fresh volume would use before its first blob, with the current folder chain reopened and `extraLine`. */
  freshUsage(v: VolumeFill, extraLine: number): number {
    let chainHeaders = 0;
    for (const d of this.chain) chainHeaders += dirHeaderBytes(d);
    const catalogBytes = this.widestHeaderBytes + (v.catalogBytes - v.headerBytes);
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

  /** Whether `archive` more archive bytes and `line` more catalog bytes fit in the current volume. */
  fits(v: VolumeFill, archive: number, line: number): boolean {
    return this.usage(v, archive, line) <= this.limit;
  }

  /** Whether a folder header with nothing after it fits (it is not worth a volume of its own, but must fit). */
  dirFits(v: VolumeFill, d: OpenDir): boolean {
    return this.fits(v, dirHeaderBytes(d) + 1024, 0);
  }

  /** Room left in the current volume for an entry's archive bytes (for streaming a blob whose size is known only by its bound). */
  roomFor(v: VolumeFill, lineBound: number): number {
    return this.limit - this.usage(v, 0, lineBound);
  }

  /** Room for the data of a part whose header takes `header` bytes and whose catalog line may take `line`, in whole tar blocks. */
  partRoom(v: VolumeFill, header: number, line: number): number {
    const room = this.limit - this.usage(v, header, line);
    return room - (room % 512);
  }

  /** The same room in a fresh volume (the current folder chain reopened). */
  freshPartRoom(v: VolumeFill, header: number, line: number): number {
    const room = this.limit - this.freshUsage(v, line) - header;
    return room - (room % 512);
  }
}

/** Bytes of a whole blob's tar entry. */
export function wholeEntryBytes(entry: string, mtimeSec: number, length: number): number {
  return encodeHeader({ name: entry, size: length, mtimeSec }).length + length + paddingLength(length);
}

/** What placing a blob does to the volumes; volume-writer.ts writes, tests simulate. */
export interface Placer<S> {
  readonly current: VolumeFill;
  readonly volumeNumber: number;
  /** Close the current volume and open the next with the folder chain reopened. */
  rollover(): Promise<void>;
  /** Write bytes [from, from+length) of `src` as an entry `name` of the current volume; the offset of its data. */
  writeEntry(name: string, mtimeSec: number, src: S, from: number, length: number): Promise<number>;
}

/**
 * Place a blob that does not fit in the current volume: whole into a fresh volume when it fits there,
 * else (larger than a volume) as parts `partBase.001`, … on consecutive volumes, each filling what is
 * left. `whole` is its whole entry's bytes, `lineBound` its catalog line's with one part. The line is
 * recorded on the volume of the last part, so the room of part k keeps what a line of k parts takes.
 * The first part starts in the next volume when less than MIN_PART is left here and a fresh volume
 * has more; every later part starts a volume of its own, so the parts' volumes follow one another.
 */
export async function placeBlob<S>(room: Room, p: Placer<S>, entry: string, partBase: string, mtimeSec: number, src: S, length: number, whole: number, lineBound: number): Promise<BlobPart[]> {
  if (!room.fits(p.current, whole, lineBound) && room.freshUsage(p.current, lineBound) + whole <= room.limit) await p.rollover();
  if (room.fits(p.current, whole, lineBound)) {
    const offset = await p.writeEntry(entry, mtimeSec, src, 0, length);
    return [{ volume: p.volumeNumber, offset, length }];
  }
  const parts: BlobPart[] = [];
  let done = 0;
  for (let index = 1; done < length; index++) {
    const name = partEntryName(partBase, index);
    const header = encodeHeader({ name, size: 0, mtimeSec }).length;
    const line = lineBound + (index - 1) * PART_LINE_BYTES;
    let fit = room.partRoom(p.current, header, line);
    if (index === 1 && fit < Math.min(MIN_PART, length - done) && room.freshPartRoom(p.current, header, line) > fit) {
      await p.rollover();
      fit = room.partRoom(p.current, header, line);
    }
    if (fit <= 0) throw new InputError(`--volume-size is too small: a volume cannot hold even part of ${entry}.`);
    const n = Math.min(fit, length - done);
    const offset = await p.writeEntry(name, mtimeSec, src, done, n);
    parts.push({ volume: p.volumeNumber, offset, length: n });
    done += n;
    if (done < length) await p.rollover();
  }
  return parts;
}
