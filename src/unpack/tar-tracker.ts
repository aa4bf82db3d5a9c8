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
import { randomBytes } from 'node:crypto';
import { classifyEntryName, isBundleName } from '../format/names.js';
import { bundleMembers } from '../format/zip.js';
import { applyPax, BLOCK_SIZE, decodeHeaderBlock, paddingLength, parsePaxRecords, type DecodedHeader } from '../format/tar.js';
import { isRegular, MAX_DEPTH, recordCopyOf } from './walk-archive.js';

/** A pax header's data longer than this is left to the walk (xtar writes a few hundred bytes). */
const PAX_MAX = 1024 * 1024;

/** murmur3's finalizer: a 32-bit number's bits all mixed into each of the result's. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The tallies' key, random for each run: an archive made to hold offsets whose sums collide (so
 * that the walk would be skipped over a blob the catalog does not account for) cannot be aimed at
 * a key it never sees. Tallies are compared only within one run (and one thread).
 */
const TALLY_KEY = randomBytes(16);
const [K0, K1, K2, K3] = [0, 4, 8, 12].map((i) => TALLY_KEY.readUInt32LE(i)) as [number, number, number, number];

/**
 * A multiset of blob offsets (of one volume) as its size and two order-free 32-bit sums of their
 * mixed bits, keyed per run (TALLY_KEY): 12 bytes for any number of blobs. Two tallies are equal when
 * they hold the same offsets — or, by chance, about once in 2^64 — so the tar tracker and the
 * catalog restore compare what they saw without a list of offsets per file.
 */
export class OffsetTally {
  count = 0;
  private a = 0;
  private b = 0;

  add(offset: number): void {
    this.count++;
    this.mix(offset, 1);
  }

  remove(offset: number): void {
    this.count--;
    this.mix(offset, -1);
  }

  equals(o: OffsetTally | undefined): boolean {
    return o === undefined ? this.count === 0 : this.count === o.count && this.a === o.a && this.b === o.b;
  }

  private mix(offset: number, sign: 1 | -1): void {
    const lo = offset >>> 0;
    const hi = Math.floor(offset / 2 ** 32) >>> 0;
    const h1 = fmix32(fmix32(lo ^ fmix32((hi ^ K0) + 0x9e3779b9)) ^ K1);
    const h2 = fmix32(fmix32(h1 ^ Math.imul(hi ^ K2, 0x165667b1) ^ (lo >>> 7)) ^ K3);
    this.a = (this.a + sign * h1) >>> 0;
    this.b = (this.b + sign * h2) >>> 0;
  }
}

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
  /** The data offsets of every blob and part entry followed (their blobKey offsets), tallied: no list per file. */
  readonly blobs = new OffsetTally();
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
    // (Wholly in what was kept: a bundle's header, kept while its data came.)
    if (at + n <= this.curStart) return t.subarray(at - this.tailStart, at + n - this.tailStart);
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
      const paxed = this.pax !== null;
      if (this.pax !== null) {
        if (h.typeflag === 'x') throw new Error('two pax headers');
        h = applyPax(h, this.pax);
        this.pax = null;
      }
      const dataStart = this.pos + BLOCK_SIZE;
      const dataEnd = dataStart + h.size;
      if (dataEnd > end) throw new Error('cut short');
      // A bundle's members are found in its data: wait for all of it, from its header on (xtar writes no pax header for one).
      if (isBundleName(h.name) && dataEnd > this.seen) {
        if (paxed) throw new Error('a bundle with a pax header');
        this.keepFrom(this.pos);
        return;
      }
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
    if (kind.kind === 'bundle') {
      // Its members, as the walk finds them (each restored by the catalog at its own offset).
      for (const m of bundleMembers(Buffer.from(this.bytes(dataStart, dataEnd - dataStart) as Buffer))) {
        if (!m.ok) throw new Error('a damaged bundle');
        this.blobs.add(dataStart + m.offset);
      }
      this.pos = next;
      return;
    }
    this.blobs.add(dataStart);
    this.pos = next;
  }
}
