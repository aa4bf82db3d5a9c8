/**
 * The volume's .xtar on disk: an append-only buffered writer that can also overwrite bytes it wrote
 * earlier (a nested tar's size, a zip's CRC) — in its buffer when they are still there, with a
 * positional write when they were flushed. This is what lets one pass write every level at once.
 */
import { open, type FileHandle } from 'node:fs/promises';

/** Writes are gathered in one buffer of this size: one system call per 4 MiB, however small the pieces. */
const BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Where a volume's .xtar goes: a file (OutputFile), or an object in a store written in parts
 * (src/store/multipart-writer.ts). Bytes are appended, and bytes already written may be overwritten.
 */
export interface ArchiveSink {
  /** The offset of the next byte. */
  readonly offset: number;
  /** Bytes handed on so far, overwrites counted. */
  readonly bytesWritten: number;
  write(data: Uint8Array): Promise<void>;
  patch(pos: number, data: Uint8Array): Promise<void>;
  /** Everything written, made durable (a file synced, an upload completed). */
  close(): Promise<void>;
  /** Given up after an error: nothing half-written stays under its name. */
  abandon(): Promise<void>;
}

export class OutputFile implements ArchiveSink {
  /** Bytes [flushed, flushed + used) of the file, not yet handed to the file system. */
  private readonly buf = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
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

  /** Append `data` (copied: the caller may reuse it at once). */
  async write(data: Uint8Array): Promise<void> {
    if (data.length === 0) return;
    if (this.used + data.length > this.buf.length) await this.flush();
    this.offset += data.length;
    if (data.length >= this.buf.length) {
      // Too large to gather: straight to the file system.
      await this.writeAt(data, this.flushed);
      this.flushed += data.length;
      return;
    }
    this.buf.set(data, this.used);
    this.used += data.length;
  }

  /** Overwrite `data.length` bytes at `pos` (which must be below `offset`). */
  async patch(pos: number, data: Uint8Array): Promise<void> {
    if (pos < 0 || pos + data.length > this.offset) throw new RangeError(`patch at ${pos}+${data.length} is outside the ${this.offset} bytes written`);
    // Part below the flushed mark goes to disk; the rest is patched in the buffer.
    const diskPart = Math.max(0, Math.min(data.length, this.flushed - pos));
    if (diskPart > 0) await this.writeAt(data.subarray(0, diskPart), pos);
    if (diskPart < data.length) this.buf.set(data.subarray(diskPart), pos + diskPart - this.flushed);
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.writeAt(this.buf.subarray(0, this.used), this.flushed);
    this.flushed += this.used;
    this.used = 0;
  }

  private async writeAt(data: Uint8Array, pos: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, pos + done);
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
