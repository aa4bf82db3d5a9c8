/**
 * Positional reads from an archive file through a read-ahead window, so that walking a tar header by
 * header costs one system call per megabyte rather than one per header.
 *
 * A scratched disc fails some sectors: read() answers EIO. Then (and only then) the failed span is
 * narrowed down — read again in halves, down to one sector, each failing sector retried a few times —
 * and a sector that still fails is remembered as unreadable for the rest of the run (never read
 * again) and stands in the window as 0xFF bytes, which no tar header's checksum accepts. Callers
 * that read a blob ask `unreadableIn` and treat such bytes as damage: they are never presented as good.
 *
 * A copy made by `xtar rescue` (or GNU ddrescue) has a mapfile beside it, FILE.map: the ranges it does
 * not mark read are zeros in the copy, not data, so a session takes them as unreadable from the start —
 * reads touching them behave exactly as on the failing disc. A map whose copy has changed since (par2
 * repaired it: xtar's map names the copy's size and mtime) no longer describes it and is not used.
 */
import { open } from 'node:fs/promises';
import { missingPerMap } from '../set/rescue-map.js';
import { RemoteHandle, remoteFileAt } from '../store/remote-files.js';
import { AGE_SUFFIX } from '../format/encryption.js';
import { readLines, type PositionalFile } from '../util/lines.js';
import type { TarTracker } from './tar-tracker.js';

const WINDOW = 1024 * 1024;
/**
 * An archive in object storage is read with ranged GETs: a read that does not go on where the last
 * one ended fetches exactly what was asked (a restore of a few files fetches only their blobs), and
 * reads that go on front to back fetch a window doubling from 64 KiB up to this.
 */
const REMOTE_WINDOW_MAX = 8 * 1024 * 1024;
/** How far past the window a read (while tracked) starts from the window's end rather than skipping. */
const GAP_MAX = WINDOW;
/** What an unreadable sector reads as: not a tar header (its checksum field is not octal), never zeros (the end of a tar). */
const UNREADABLE_FILL = 0xff;

/** How hard to try a failing drive. */
export interface ReadPolicy {
  /** The unit narrowing stops at (a multiple of 512): 2048 for optical discs. */
  sectorSize: number;
  /** Further reads of a failing sector before it is given up as unreadable. */
  retries: number;
}

export const DEFAULT_READ_POLICY: ReadPolicy = { sectorSize: 2048, retries: 2 };

/** A byte range of an archive that could not be read. */
export interface UnreadableRange {
  offset: number;
  length: number;
}

/**
 * One run's reads: its policy, the unreadable ranges found in each file (shared by every reader of
 * that file, so a range given up is never read again in the run) and the time spent retrying.
 */
export class ReadSession {
  readonly bad = new Map<string, UnreadableRange[]>();
  retryMs = 0;
  /** Per file: the bytes read through this session's readers, and the reads that did not go on where the last one ended (seeks). */
  readonly counts = new Map<string, { bytes: number; seeks: number }>();
  constructor(readonly policy: ReadPolicy = DEFAULT_READ_POLICY) {}

  private readonly seeded = new Set<string>();

  /** Take the ranges `path`'s mapfile (PATH.map) does not mark read as unreadable, once per file. */
  async seedFromMap(path: string): Promise<void> {
    if (this.seeded.has(path)) return;
    this.seeded.add(path);
    const ranges = await missingPerMap(path);
    if (ranges.length > 0) this.bad.set(path, mergeRanges([...(this.bad.get(path) ?? []), ...ranges]));
  }

  /** Every unreadable range found so far, by file. */
  unreadable(): (UnreadableRange & { file: string })[] {
    return [...this.bad].flatMap(([file, ranges]) => ranges.map((r) => ({ file, offset: r.offset, length: r.length })));
  }
}

/** Sorted and merged. */
function mergeRanges(all: UnreadableRange[]): UnreadableRange[] {
  const merged: UnreadableRange[] = [];
  for (const r of [...all].sort((x, y) => x.offset - y.offset)) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r.offset <= last.offset + last.length) last.length = Math.max(last.length, r.offset + r.length - last.offset);
    else merged.push({ ...r });
  }
  return merged;
}

function isEio(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === 'EIO';
}

/** What a reader reads through: an open file, or an object in a store (ranged GETs). The one shape of util/lines.ts. */
export type PositionalReader = PositionalFile;

export class RandomReader {
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;
  /** The unreadable sectors found so far (by any reader of the session), sorted and merged; null while none was (the good path's only cost: this test). */
  private bad: UnreadableRange[] | null;
  private readonly policy: ReadPolicy;
  /** Shown every window read (tar-tracker.ts), while set. */
  private tracker: TarTracker | null = null;
  /** Where the last read from the file ended (a read elsewhere is a seek). */
  private lastEnd = 0;
  private readonly counts: { bytes: number; seeks: number };
  /** For a remote archive: the read-ahead of the current run of front-to-back reads (0 after a seek). */
  private ahead = 0;

  private constructor(
    private readonly fh: PositionalReader,
    readonly size: number,
    readonly path: string,
    private readonly session: ReadSession,
    private readonly remote = false,
  ) {
    this.bad = session.bad.get(path) ?? null;
    this.policy = session.policy;
    const c = session.counts.get(path) ?? { bytes: 0, seeks: 0 };
    session.counts.set(path, c);
    this.counts = c;
  }

  static async open(path: string, session: ReadSession = new ReadSession()): Promise<RandomReader> {
    // An archive of a set in object storage: its stand-in's reads are ranged GETs.
    const remote = remoteFileAt(path);
    if (remote !== undefined) return new RandomReader(new RemoteHandle(remote), remote.size, path, session, true);
    await session.seedFromMap(path);
    const fh = await open(path, 'r');
    const { size } = await fh.stat();
    return new RandomReader(fh, size, path, session);
  }

  /**
   * Up to `length` bytes at `pos` (fewer at the end of the file). The result may share memory with the window: copy it to keep it.
   * Unreadable sectors read as 0xFF: a caller that must not take them for data asks `unreadableIn`.
   */
  async read(pos: number, length: number): Promise<Buffer> {
    return this.readInto(pos, length, null);
  }

  /** read(), filling `into` (when a window fits it) rather than new memory. */
  private async readInto(pos: number, length: number, into: Buffer | null): Promise<Buffer> {
    const end = Math.min(pos + length, this.size);
    if (pos >= end) return Buffer.alloc(0);
    const winEnd = this.bufStart + this.buf.length;
    if (pos >= this.bufStart && end <= winEnd) {
      return this.buf.subarray(pos - this.bufStart, end - this.bufStart);
    }
    // While a tracker follows the tar, a read a little past the window (over the headers between two
    // blobs) reads on from the window's end: no byte is skipped, so every one is checked.
    let from = pos;
    if (this.tracker !== null && pos > winEnd && pos - winEnd <= GAP_MAX) from = winEnd;
    // A read that starts inside the window takes its head from there and reads on from the window's
    // end: the archive is read front to back without going back over bytes already read.
    const keep = from >= this.bufStart && from < winEnd ? winEnd - from : 0;
    const window = this.remote ? this.remoteWindow(from + keep, end) : WINDOW;
    if (end - from > window) {
      const out = Buffer.allocUnsafe(end - from);
      if (keep > 0) this.buf.copy(out, 0, from - this.bufStart);
      const whole = out.subarray(0, keep + (await this.fill(out.subarray(keep), from + keep)));
      // (It is the window now: a read just past it goes on from its end.)
      this.buf = whole;
      this.bufStart = from;
      this.tracker?.feed(from, whole);
      return whole.subarray(pos - from);
    }
    const want = Math.min(window, this.size - from);
    const b = into !== null && into.length >= want ? into.subarray(0, want) : Buffer.allocUnsafe(want);
    if (keep > 0) this.buf.copy(b, 0, from - this.bufStart);
    const got = keep + (await this.fill(b.subarray(keep), from + keep));
    this.buf = b.subarray(0, got);
    this.bufStart = from;
    this.tracker?.feed(from, this.buf);
    return this.buf.subarray(pos - from, Math.min(end - from, got));
  }

  /** How much to fetch from a remote archive at `from` for a read up to `end`. */
  private remoteWindow(from: number, end: number): number {
    this.ahead = from === this.lastEnd ? Math.min(Math.max(this.ahead * 2, 64 * 1024), REMOTE_WINDOW_MAX) : 0;
    return Math.max(end - from, this.ahead);
  }

  /** Show every window read from now on to `t` (null: no longer). */
  track(t: TarTracker | null): void {
    this.tracker = t;
  }

  /** Read the file on from `pos` to its end (window by window, through the tracker if any): the sectors the drive cannot read there are found. */
  async readOn(pos: number): Promise<void> {
    // Two buffers filled in turn (the window read last stays this.buf while the other fills): what is
    // read here is handed to no one, and a new 1 MiB buffer a window left all of them to the garbage
    // collector at once, with little else allocated to prompt it — reading the records' copies at the
    // end of a 500,000-file archive (~30 MB) raised unpack's and verify's peak RSS by ~20 MiB.
    const turns = [Buffer.allocUnsafe(WINDOW), Buffer.allocUnsafe(WINDOW)];
    for (let k = 0; pos < this.size; k ^= 1) pos += (await this.readInto(pos, WINDOW, turns[k] as Buffer)).length;
  }

  /** The first unreadable range that [pos, pos+length) touches, or null. */
  unreadableIn(pos: number, length: number): UnreadableRange | null {
    if (this.bad === null) return null;
    for (const r of this.bad) if (r.offset < pos + length && pos < r.offset + r.length) return r;
    return null;
  }

  /** Fill `b` from `pos` (stopping at the end of the file): the bytes filled. */
  private async fill(b: Buffer, pos: number): Promise<number> {
    let got = 0;
    if (this.bad === null) {
      try {
        while (got < b.length) {
          const { bytesRead } = await this.counted(b, got, b.length - got, pos + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return got;
      } catch (e) {
        if (!isEio(e)) throw e;
      }
    }
    const t0 = Date.now();
    try {
      return got + (await this.salvage(b, got, Math.min(b.length, this.size - pos) - got, pos + got));
    } finally {
      this.session.retryMs += Date.now() - t0;
    }
  }

  /** Read [at, at+len) into b[off..], narrowing down failures to sectors: the bytes filled (unreadable ones as 0xFF). */
  private async salvage(b: Buffer, off: number, len: number, at: number): Promise<number> {
    if (len <= 0) return 0;
    const known = this.unreadableIn(at, len);
    const s = this.policy.sectorSize;
    const first = Math.floor(at / s);
    const oneSector = first === Math.floor((at + len - 1) / s);
    if (known !== null && known.offset <= at && at + len <= known.offset + known.length) {
      b.fill(UNREADABLE_FILL, off, off + len);
      return len;
    }
    if (known === null) {
      const tries = oneSector ? 1 + this.policy.retries : 1;
      for (let i = 0; i < tries; i++) {
        try {
          let got = 0;
          while (got < len) {
            const { bytesRead } = await this.counted(b, off + got, len - got, at + got);
            if (bytesRead === 0) return got;
            got += bytesRead;
          }
          return got;
        } catch (e) {
          if (!isEio(e)) throw e;
        }
      }
    }
    if (oneSector) {
      // Given up: the whole sector is remembered, so it is never read again.
      this.markBad(first * s, Math.min(s, this.size - first * s));
      b.fill(UNREADABLE_FILL, off, off + len);
      return len;
    }
    // In two halves, split on a sector boundary.
    const sectors = Math.floor((at + len - 1) / s) - first;
    const mid = (first + Math.ceil(sectors / 2)) * s - at;
    const a = await this.salvage(b, off, mid, at);
    if (a < mid) return a;
    return a + (await this.salvage(b, off + mid, len - mid, at + mid));
  }

  /** fh.read, counted in the session. */
  private async counted(b: Buffer, off: number, len: number, at: number): Promise<{ bytesRead: number }> {
    const c = this.counts;
    if (at !== this.lastEnd) c.seeks++;
    const r = await this.fh.read(b, off, len, at);
    this.lastEnd = at + r.bytesRead;
    c.bytes += r.bytesRead;
    return r;
  }

  private markBad(offset: number, length: number): void {
    const merged = mergeRanges([...(this.session.bad.get(this.path) ?? []), { offset, length }]);
    this.bad = merged;
    this.session.bad.set(this.path, merged);
  }

  /** Whether the archive is an object in a store (each read a ranged GET), not a file. */
  get isRemote(): boolean {
    return this.remote;
  }

  get handle(): PositionalReader {
    return this.fh;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

const LINE_CHUNK = 64 * 1024;

/**
 * How `list --files` reads catalogs: a plain one through the session's narrowing reader (a scratched
 * disc costs only the lines on its bad sectors); an encrypted set's catalog.jsonl.age whole, as a
 * stream (an age file cannot be narrowed line by line).
 */
export function catalogReader(session: ReadSession): (path: string, bad: (where: string, reason: string) => void) => AsyncIterable<string> {
  return (path, bad) => (path.endsWith(AGE_SUFFIX) ? readLines(path) : narrowedLines(path, path, session, bad));
}

/**
 * The lines of a plain text record (catalog.jsonl, structure.jsonl) read through a session's narrowing
 * reader, so a drive that fails some sectors costs only the lines on them: a line that touches an
 * unreadable sector is not yielded but named through `bad` (its bytes; an unreadable newline joins
 * its neighbours into one such line), and reading goes on past it. A rescued copy's map counts too.
 */
export async function* narrowedLines(path: string, label: string, session: ReadSession, bad: (where: string, reason: string) => void): AsyncGenerator<string> {
  const r = await RandomReader.open(path, session);
  try {
    let carry = Buffer.alloc(0);
    let carryAt = 0;
    let pos = 0;
    const line = (buf: Buffer, start: number, end: number): string | null => {
      const at = carryAt + start;
      if (r.unreadableIn(at, end + 1 - start) === null) return buf.toString('utf8', start, end);
      bad(`${label} bytes ${at}–${carryAt + end}`, 'the drive cannot read this part of the record (its lines are not used)');
      return null;
    };
    while (pos < r.size) {
      const chunk = await r.read(pos, LINE_CHUNK);
      if (chunk.length === 0) break;
      pos += chunk.length;
      const buf = Buffer.concat([carry, chunk]);
      let start = 0;
      for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
        const text = line(buf, start, nl);
        if (text !== null) yield text;
        start = nl + 1;
      }
      carry = buf.subarray(start);
      carryAt += start;
    }
    if (carry.length > 0) {
      const text = line(carry, 0, carry.length);
      if (text !== null) yield text;
    }
  } finally {
    await r.close();
  }
}

