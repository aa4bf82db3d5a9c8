/**
 * Positional reads from an archive file through a read-ahead window, so that walking a tar header by
 * header costs one system call per megabyte rather than one per header.
 */
import { open, type FileHandle } from 'node:fs/promises';

const WINDOW = 1024 * 1024;

export class RandomReader {
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;

  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    readonly path: string,
  ) {}

  static async open(path: string): Promise<RandomReader> {
    const fh = await open(path, 'r');
    const { size } = await fh.stat();
    return new RandomReader(fh, size, path);
  }

  /** Up to `length` bytes at `pos` (fewer at the end of the file). The result may share memory with the window: copy it to keep it. */
  async read(pos: number, length: number): Promise<Buffer> {
    const end = Math.min(pos + length, this.size);
    if (pos >= end) return Buffer.alloc(0);
    if (pos >= this.bufStart && end <= this.bufStart + this.buf.length) {
      return this.buf.subarray(pos - this.bufStart, end - this.bufStart);
    }
    if (end - pos > WINDOW) {
      const out = Buffer.allocUnsafe(end - pos);
      let got = 0;
      while (got < out.length) {
        const { bytesRead } = await this.fh.read(out, got, out.length - got, pos + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return out.subarray(0, got);
    }
    const want = Math.min(WINDOW, this.size - pos);
    const b = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(b, got, want - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.buf = b.subarray(0, got);
    this.bufStart = pos;
    return this.buf.subarray(0, Math.min(end - pos, got));
  }

  get handle(): FileHandle {
    return this.fh;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
