/**
 * JSON Lines files, written and read a line at a time so that a record of a million entries never
 * sits in memory whole.
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

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

/** The lines of a file (or of a byte range of it, gzip-compressed or not), without their newlines. */
export async function* readLines(path: string, range?: { start: number; end: number }, gzip = false): AsyncGenerator<string> {
  const raw = createReadStream(path, range === undefined ? {} : { start: range.start, end: range.end - 1 });
  const input = gzip ? raw.pipe(createGunzip()) : raw;
  // pipe() does not pass on a read error (EIO from a failing disc): without this it would be unhandled.
  if (input !== raw) raw.on('error', (e) => input.destroy(e));
  input.setEncoding('utf8');
  const rl = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    raw.destroy();
    if (input !== raw) input.destroy();
  }
}
