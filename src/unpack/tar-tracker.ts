/**
 * The tar walk's checks, made on the bytes the catalog restore reads anyway: a RandomReader hands
 * each window it reads (front to back) to a TarTracker, which follows the tar headers in them as
 * walk-archive.ts would — checksums, pax headers, nested tars, names — without reading anything
 * itself. When it followed the whole archive with nothing to say (every header sound, every entry
 * one walk-archive.ts accepts), and the catalog accounted for every blob it saw, the tar walk has
 * nothing left to find and is skipped (restore-by-walk.ts): the archive is read once.
 *
 * It never reports a problem: at the first thing the walk would report (or bytes it was not shown,
 * read out of order) it stops as `failed`, and the walk runs as ever and says what it is.
 */
import { classifyEntryName } from '../format/names.js';
import { applyPax, BLOCK_SIZE, decodeHeaderBlock, paddingLength, parsePaxRecords, type DecodedHeader } from '../format/tar.js';
import { isRegular, MAX_DEPTH, recordCopyOf } from './walk-archive.js';

/** A pax header's data longer than this is left to the walk (xtar writes a few hundred bytes). */
const PAX_MAX = 1024 * 1024;

interface Level {
  /** Where this nested tar's bytes end. */
  end: number;
  /** Where its parent goes on (after the entry's data and padding). */
  next: number;
}

export class TarTracker {
  /** The bytes [0, seen) were shown, in order. */
  private seen = 0;
  /** Where the next header (or pax data) is. */
  private pos = 0;
  /** The bytes [tailStart, seen) kept from the last window: a header cut by its end. */
  private tail: Buffer | null = null;
  private tailStart = 0;
  private cur: Buffer = Buffer.alloc(0);
  private curStart = 0;
  private readonly levels: Level[] = [];
  /** A pax header read, waiting for the entry it describes. */
  private pax: Map<string, string> | null = null;
  /** The data offsets of every blob and part entry followed (their blobKey offsets). */
  readonly blobs: number[] = [];
  state: 'running' | 'complete' | 'failed' = 'running';

  constructor(readonly size: number) {}

  /** How far the archive was shown front to back without a gap. */
  get covered(): number {
    return this.seen;
  }

  /** The bytes at `start` were read. Bytes before what was shown already are ignored; after a gap, so is the whole window. */
  feed(start: number, buf: Buffer): void {
    if (this.state !== 'running') {
      // (Still counted as shown: the archive read to its end is checked for unreadable sectors by the caller.)
      if (start <= this.seen && start + buf.length > this.seen) this.seen = start + buf.length;
      return;
    }
    const end = start + buf.length;
    if (start > this.seen || end <= this.seen) return;
    this.cur = buf;
    this.curStart = start;
    this.seen = end;
    try {
      this.step();
    } catch {
      this.state = 'failed';
    }
    // (The window is the reader's: not kept past this call.)
    this.cur = Buffer.alloc(0);
  }

  /** Bytes [at, at+n) if shown (null: not yet; what is left of the window is kept for them). */
  private bytes(at: number, n: number): Buffer | null {
    if (at + n > this.seen) {
      this.keepFrom(at);
      return null;
    }
    if (at >= this.curStart) return this.cur.subarray(at - this.curStart, at + n - this.curStart);
    const t = this.tail as Buffer;
    return Buffer.concat([t.subarray(at - this.tailStart, this.curStart - this.tailStart), this.cur.subarray(0, at + n - this.curStart)]);
  }

  private keepFrom(at: number): void {
    if (at >= this.seen) {
      this.tail = null;
      return;
    }
    const fromCur = at >= this.curStart ? this.cur.subarray(at - this.curStart) : null;
    const kept = fromCur ?? Buffer.concat([(this.tail as Buffer).subarray(at - this.tailStart, this.curStart - this.tailStart), this.cur]);
    this.tail = Buffer.from(kept);
    this.tailStart = at;
  }

  private step(): void {
    for (;;) {
      const level = this.levels[this.levels.length - 1];
      const end = level === undefined ? this.size : level.end;
      if (this.pos + BLOCK_SIZE > end) {
        this.state = 'failed';
        return;
      }
      const block = this.bytes(this.pos, BLOCK_SIZE);
      if (block === null) return;
      let h = decodeHeaderBlock(block);
      if (h === null) {
        if (this.pax !== null) throw new Error('a pax header followed by the end of the tar');
        if (level === undefined) {
          this.state = 'complete';
          return;
        }
        this.levels.pop();
        this.pos = level.next;
        continue;
      }
      if (h.typeflag === 'x' && this.pax === null) {
        if (h.size > PAX_MAX || this.pos + BLOCK_SIZE + h.size > end) throw new Error('pax');
        const data = this.bytes(this.pos + BLOCK_SIZE, h.size);
        if (data === null) return;
        this.pax = parsePaxRecords(Buffer.from(data));
        this.pos += BLOCK_SIZE + h.size + paddingLength(h.size);
        continue;
      }
      if (this.pax !== null) {
        if (h.typeflag === 'x') throw new Error('two pax headers');
        h = applyPax(h, this.pax);
        this.pax = null;
      }
      const dataStart = this.pos + BLOCK_SIZE;
      const dataEnd = dataStart + h.size;
      if (dataEnd > end) throw new Error('cut short');
      const next = dataEnd + paddingLength(h.size);
      this.entry(h, dataStart, dataEnd, next, level === undefined);
      if (this.state !== 'running') return;
    }
  }

  /** An entry whose header (and pax header) was followed: what walk-archive.ts accepts without a word, else failed. */
  private entry(h: DecodedHeader, dataStart: number, dataEnd: number, next: number, top: boolean): void {
    if (!isRegular(h)) throw new Error('not a regular entry');
    const name = h.name;
    if (top && recordCopyOf(name) !== null) {
      this.pos = next;
      return;
    }
    const kind = classifyEntryName(name);
    if (kind === null) throw new Error('a name the walk refuses');
    if (kind.kind === 'nested') {
      if (this.levels.length + 1 > MAX_DEPTH) throw new Error('too deep');
      this.levels.push({ end: dataEnd, next });
      this.pos = dataStart;
      return;
    }
    this.blobs.push(dataStart);
    this.pos = next;
  }
}
