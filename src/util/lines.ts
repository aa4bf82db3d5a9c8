/**
 * JSON Lines files, written and read a line at a time so that a record of a million entries never
 * sits in memory whole.
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FormatError } from '../errors.js';

/** The first bytes of an age file: an encrypted set's records (docs/FORMAT.md, "Encrypted sets"). */
const SEALED_MAGIC = Buffer.from('age-encryption.org/v1\n', 'latin1');

/**
 * How an encrypted record's bytes become its plain bytes: set by whoever holds the set's key
 * (src/format/keyring.ts), so that every reader of records reads encrypted ones alike. Without it an
 * encrypted record is refused with `NO_KEY`.
 */
let unseal: ((sealed: Readable, label: string) => Promise<Readable>) | null = null;

export function setRecordUnsealer(fn: ((sealed: Readable, label: string) => Promise<Readable>) | null): void {
  unseal = fn;
}

/**
 * A file read at positions, as a FileHandle is: what the readers below read instead of the path when
 * given one (an archive of a set in object storage, whose local stand-in holds only zeros, is read
 * with ranged GETs: src/store/remote-files.ts). The caller opens and closes it.
 */
export interface PositionalFile {
  read(b: Buffer, off: number, len: number, at: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** Whether a file (or a byte range of it) begins as an age file does; read through `file` when given. */
export async function isSealed(path: string, start = 0, file?: PositionalFile): Promise<boolean> {
  const fh = file ?? (await open(path, 'r'));
  try {
    const b = Buffer.alloc(SEALED_MAGIC.length);
    const { bytesRead } = await fh.read(b, 0, b.length, start);
    return bytesRead === b.length && b.equals(SEALED_MAGIC);
  } finally {
    if (file === undefined) await fh.close();
  }
}

/** The bytes of `file` from `start` to `end` (or its end), a read of up to `chunk` bytes at a time. */
function positionalStream(file: PositionalFile, start: number, end: number, chunk: number): Readable {
  return Readable.from(
    (async function* (): AsyncGenerator<Buffer> {
      for (let at = start; at < end; ) {
        const b = Buffer.alloc(Math.min(chunk, end - at));
        const { bytesRead } = await file.read(b, 0, b.length, at);
        if (bytesRead === 0) return;
        at += bytesRead;
        yield b.subarray(0, bytesRead);
      }
    })(),
    { objectMode: false },
  );
}

const FLUSH_AT = 1024 * 1024;

export class LineWriter {
  private parts: string[] = [];
  private pending = 0;
  /** Bytes written so far (flushed or not). */
  bytes = 0;
  /** Lines written so far. */
  lines = 0;

  private constructor(private readonly fh: FileHandle) {}

  static async create(path: string): Promise<LineWriter> {
    return new LineWriter(await open(path, 'wx'));
  }

  async line(text: string): Promise<void> {
    await this.raw(`${text}\n`);
  }

  /** Append text that is already whole lines (each ending in a newline). */
  async raw(s: string): Promise<void> {
    for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) this.lines++;
    this.parts.push(s);
    const n = Buffer.byteLength(s, 'utf8');
    this.pending += n;
    this.bytes += n;
    if (this.pending >= FLUSH_AT) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const data = this.parts.join('');
    this.parts = [];
    this.pending = 0;
    await this.fh.write(data, null, 'utf8');
  }

  async close(): Promise<void> {
    await this.flush();
    await this.fh.sync();
    await this.fh.close();
  }

  async abandon(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

/**
 * The lines of a file (or of a byte range of it, gzip-compressed or not), without their newlines;
 * its bytes read through `file` when given (`path` then only names it).
 */
export async function* readLines(path: string, range?: { start: number; end: number }, gzip = false, file?: PositionalFile): AsyncGenerator<string> {
  for await (const batch of readLineBatches(path, range, gzip, file)) yield* batch;
}

/** How much of a plain file one read takes. */
const CHUNK = 256 * 1024;

/**
 * readLines a chunk at a time: the lines of each 256 KiB read (or of each piece gunzip hands on),
 * split on newlines and decoded in one loop — a record of a million lines costs a few hundred
 * awaits, not a million. Lines break as readline breaks them (\n, \r\n or a lone \r; the last
 * line without its newline), and a read that fails (EIO) throws after the lines before it.
 */
export async function* readLineBatches(path: string, range?: { start: number; end: number }, gzip = false, via?: PositionalFile): AsyncGenerator<string[]> {
  const split = new LineSplitter();
  // (A stream, as readline's was: a caller that stops iterating early without return() leaves no FileHandle to the collector.)
  const file: Readable =
    via === undefined
      ? createReadStream(path, { highWaterMark: CHUNK, ...(range === undefined ? {} : { start: range.start, end: range.end - 1 }) })
      : positionalStream(via, range?.start ?? 0, range?.end ?? Number.MAX_SAFE_INTEGER, CHUNK);
  let raw: Readable = file;
  if (await isSealed(path, range?.start ?? 0, via).catch(() => false)) {
    if (unseal === null) {
      file.destroy();
      throw Object.assign(new Error(`${path} is encrypted: give the set's passphrase or identity to read it`), { code: 'ENOKEY' });
    }
    raw = await unseal(file, path);
    file.on('error', (e) => raw.destroy(e));
  }
  const input = gzip ? raw.pipe(createGunzip({ chunkSize: CHUNK })) : raw;
  // pipe() does not pass on a read error (EIO from a failing disc): without this it would be unhandled.
  if (input !== raw) raw.on('error', (e) => input.destroy(e));
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      const lines = split.push(chunk);
      if (lines.length > 0) yield lines;
    }
  } catch (e) {
    throw gzip ? inflateError(e, path) : e;
  } finally {
    file.destroy();
    raw.destroy();
    if (input !== raw) input.destroy();
  }
  const last = split.end();
  if (last.length > 0) yield last;
}

/** The code of the error readLineBatches throws when a gzip'd record does not inflate: its bytes are damaged (a problem, never a crash). */
export const INFLATE_FAILED = 'EINFLATE';

/**
 * A gunzip error (zlib's code Z_DATA_ERROR, Z_BUF_ERROR: a flipped byte, a bad CRC-32, a stream cut
 * short) as a FormatError coded INFLATE_FAILED; any other error (EIO from the drive) as it is.
 */
function inflateError(e: unknown, path: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !code.startsWith('Z_')) return e;
  const why = (e as Error).message.replace(/\.$/, '');
  return new FormatError(`${path}: the compressed record does not inflate (${why})`, { code: INFLATE_FAILED, path, cause: e });
}

/** Splits bytes into lines as readline does (\n, \r\n, a lone \r), decoding each as UTF-8. */
export class LineSplitter {
  private carry: Buffer | null = null;
  /** The carry ended in a \r: a \n first in the next chunk ends no line. */
  private afterCr = false;

  push(chunk: Buffer): string[] {
    const out: string[] = [];
    if (chunk.length === 0) return out;
    let start = 0;
    if (this.afterCr) {
      this.afterCr = false;
      if (chunk[0] === 10) start = 1;
    }
    const buf = this.carry === null ? chunk : Buffer.concat([this.carry, chunk.subarray(start)]);
    if (this.carry !== null) start = 0;
    this.carry = null;
    const noCr = buf.indexOf(13, start) < 0;
    if (noCr) {
      for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
        out.push(buf.toString('utf8', start, nl));
        start = nl + 1;
      }
    } else {
      for (let i = start; i < buf.length; i++) {
        const c = buf[i];
        if (c === 10) {
          out.push(buf.toString('utf8', start, i));
          start = i + 1;
        } else if (c === 13) {
          out.push(buf.toString('utf8', start, i));
          if (i + 1 === buf.length) this.afterCr = true;
          else if (buf[i + 1] === 10) i++;
          start = i + 1;
        }
      }
    }
    if (start < buf.length) this.carry = Buffer.from(buf.subarray(start));
    return out;
  }

  /** The last line, when the bytes did not end with a newline. */
  end(): string[] {
    const c = this.carry;
    this.carry = null;
    return c === null ? [] : [c.toString('utf8')];
  }
}
