/**
 * The volume's .xtar on disk: an append-only buffered writer that can also overwrite bytes it wrote
 * earlier (a nested tar's size, a zip's CRC) — in its buffer when they are still there, with a
 * positional write when they were flushed. This is what lets one pass write every level at once.
 */
import { open, type FileHandle } from 'node:fs/promises';

const FLUSH_AT = 4 * 1024 * 1024;

export class OutputFile {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes already handed to the file system. */
  private flushed = 0;
  /** Bytes written so far, flushed or not: the offset of the next byte. */
  offset = 0;
  /** Bytes sent to the file system, counting overwrites (for the bytes-written figure). */
  bytesWritten = 0;

  private constructor(private readonly fh: FileHandle) {}

  static async create(path: string): Promise<OutputFile> {
    return new OutputFile(await open(path, 'wx'));
  }

  async write(buf: Uint8Array): Promise<void> {
    if (buf.length === 0) return;
    this.chunks.push(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
    this.buffered += buf.length;
    this.offset += buf.length;
    if (this.buffered >= FLUSH_AT) await this.flush();
  }

  /** Overwrite `buf.length` bytes at `pos` (which must be below `offset`). */
  async patch(pos: number, buf: Buffer): Promise<void> {
    if (pos < 0 || pos + buf.length > this.offset) throw new RangeError(`patch at ${pos}+${buf.length} is outside the ${this.offset} bytes written`);
    // Part below the flushed mark goes to disk; the rest is patched in the buffer.
    const diskPart = Math.max(0, Math.min(buf.length, this.flushed - pos));
    if (diskPart > 0) {
      await this.fh.write(buf, 0, diskPart, pos);
      this.bytesWritten += diskPart;
    }
    if (diskPart < buf.length) this.patchBuffered(pos + diskPart, buf.subarray(diskPart));
  }

  private patchBuffered(pos: number, buf: Buffer): void {
    let chunkStart = this.flushed;
    let done = 0;
    for (const c of this.chunks) {
      const chunkEnd = chunkStart + c.length;
      const at = pos + done;
      if (at < chunkEnd && done < buf.length) {
        const n = Math.min(chunkEnd - at, buf.length - done);
        buf.copy(c, at - chunkStart, done, done + n);
        done += n;
      }
      chunkStart = chunkEnd;
      if (done === buf.length) return;
    }
  }

  async flush(): Promise<void> {
    if (this.buffered === 0) return;
    const data = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    const at = this.flushed;
    this.flushed += this.buffered;
    this.buffered = 0;
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, at + done);
      done += bytesWritten;
    }
    this.bytesWritten += data.length;
  }

  /** Flush, fsync and close. */
  async close(): Promise<void> {
    await this.flush();
    await this.fh.sync();
    await this.fh.close();
  }

  /** Close without syncing (after an error). */
  async abandon(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
