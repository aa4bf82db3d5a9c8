/**
 * The lines of the structure record pack is writing, read back in order a chunk at a time with
 * synchronous reads: the file is pack's own, local and just written, so a read costs microseconds,
 * where an await per line through readline cost more than decoding the line.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** Bytes read at a time: some thousand lines, few enough to die young. */
const CHUNK = 256 * 1024;
const NEWLINE = 0x0a;

export class RecordLines {
  private fd: number | null;
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  /** Bytes after the last newline read so far (the start of a line that goes on in the next chunk). */
  private rest: Buffer = Buffer.alloc(0);
  private lines: string[] = [];
  private at = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
  }

  /** The next line without its newline, or null at the end of the file. */
  next(): string | null {
    while (this.at >= this.lines.length) if (!this.refill()) return null;
    return this.lines[this.at++] as string;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private refill(): boolean {
    this.lines = [];
    this.at = 0;
    if (this.fd === null) return false;
    const n = readSync(this.fd, this.buf, 0, CHUNK, null);
    if (n === 0) {
      this.close();
      // A last line without its newline is a line too.
      if (this.rest.length > 0) this.lines = [this.rest.toString('utf8')];
      this.rest = Buffer.alloc(0);
      return this.lines.length > 0;
    }
    const data = this.rest.length === 0 ? this.buf.subarray(0, n) : Buffer.concat([this.rest, this.buf.subarray(0, n)]);
    const last = data.lastIndexOf(NEWLINE);
    if (last >= 0) this.lines = data.toString('utf8', 0, last).split('\n');
    // Copied: the buffer is read into again.
    this.rest = Buffer.from(data.subarray(last + 1));
    return true;
  }
}
