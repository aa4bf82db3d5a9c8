/**
 * Assembles nested tars in one pass: a directory's `NAME/.xtar` header is written before its contents
 * and its size filled in when the directory is closed; a streamed blob's header likewise. Knows tar
 * framing; knows nothing of zips, files or volumes.
 */
import { encodeHeader, END_OF_ARCHIVE_LENGTH, paddingLength, patchHeaderSize, USTAR_MAX_NUMERIC } from '../format/tar.js';
import type { ArchiveSink } from './output-file.js';

/** Zeros for padding and end-of-archive blocks (OutputFile copies what it is given, so one buffer serves all). */
const ZEROS = Buffer.alloc(END_OF_ARCHIVE_LENGTH);

interface Open {
  headerPos: number;
  header: Buffer;
  contentStart: number;
}

/**
 * Bytes past a streamed entry's data start that may still be overwritten before its end: the zip
 * local header of a blob streamed into it (its CRC and sizes, compress.ts), name and extra fields included.
 */
const STREAMED_HEAD_BYTES = 192 * 1024;

/** A pending entry whose size is filled in by `endEntry`. */
export interface PendingEntry {
  readonly headerPos: number;
  readonly header: Buffer;
  readonly dataStart: number;
}

export class NestedTarWriter {
  private readonly stack: Open[] = [];
  /** Entries begun and not ended (a streamed blob's), by header position. */
  private readonly streaming = new Map<number, PendingEntry>();

  constructor(private readonly out: ArchiveSink) {}

  /**
   * The byte ranges [start, end) that may still be overwritten: every open folder's header, and each
   * streamed entry's header and the head of its data. A writer that cannot go back (an upload in
   * parts) keeps the parts these touch until they are final.
   */
  pendingRanges(): [number, number][] {
    const out: [number, number][] = this.stack.map((o) => [o.headerPos, o.headerPos + o.header.length]);
    for (const p of this.streaming.values()) out.push([p.headerPos, p.dataStart + STREAMED_HEAD_BYTES]);
    return out;
  }

  get depth(): number {
    return this.stack.length;
  }

  /** Start `entryName` (e.g. `docs/.xtar`) in the current tar; its contents follow until closeDir(). */
  async openDir(entryName: string, mtimeSec: number, large: boolean): Promise<void> {
    const pending = await this.beginEntry(entryName, mtimeSec, large ? Number.MAX_SAFE_INTEGER : USTAR_MAX_NUMERIC);
    this.streaming.delete(pending.headerPos);
    this.stack.push({ headerPos: pending.headerPos, header: pending.header, contentStart: pending.dataStart });
  }

  async closeDir(): Promise<void> {
    const top = this.stack.pop();
    if (top === undefined) throw new Error('closeDir without openDir');
    await this.out.write(ZEROS);
    const size = this.out.offset - top.contentStart;
    patchHeaderSize(top.header, size);
    await this.out.patch(top.headerPos, top.header);
  }

  /** A whole entry whose bytes are known. Returns the offset of its data. */
  async addEntry(entryName: string, mtimeSec: number, data: Uint8Array): Promise<number> {
    await this.out.write(encodeHeader({ name: entryName, size: data.length, mtimeSec }));
    const at = this.out.offset;
    await this.out.write(data);
    await this.pad(data.length);
    return at;
  }

  /** Begin an entry whose size is known only afterwards (at most `sizeBound`). */
  async beginEntry(entryName: string, mtimeSec: number, sizeBound: number): Promise<PendingEntry> {
    const header = encodeHeader({ name: entryName, size: 0, mtimeSec, sizeBound });
    const headerPos = this.out.offset;
    const p = { headerPos, header, dataStart: headerPos + header.length };
    // Held before its bytes are written: the part they land in must wait for the patch.
    this.streaming.set(headerPos, p);
    await this.out.write(header);
    return p;
  }

  /** Finish an entry begun with beginEntry: pad and fill in its size. */
  async endEntry(p: PendingEntry): Promise<number> {
    const size = this.out.offset - p.dataStart;
    await this.pad(size);
    patchHeaderSize(p.header, size);
    this.streaming.delete(p.headerPos);
    await this.out.patch(p.headerPos, p.header);
    return size;
  }

  /** End of the top-level tar. */
  async finish(): Promise<void> {
    if (this.stack.length !== 0) throw new Error('finish with open directories');
    await this.out.write(ZEROS);
  }

  private async pad(size: number): Promise<void> {
    const n = paddingLength(size);
    if (n > 0) await this.out.write(ZEROS.subarray(0, n));
  }
}
