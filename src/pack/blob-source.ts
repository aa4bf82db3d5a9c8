/**
 * Where a blob's bytes are read from while it is placed: memory (a small file compressed by a worker)
 * or a spool file (a large file compressed before its size was known). Knows nothing of volumes.
 */
import { open, type FileHandle } from 'node:fs/promises';

export interface BlobSource {
  readonly length: number;
  /** The whole blob, when it is in memory. */
  readonly bytes?: Uint8Array;
  /** Bytes [pos, pos+len) of the blob. */
  read(pos: number, len: number): Promise<Uint8Array>;
}

export function bufferSource(b: Uint8Array): BlobSource {
  return { length: b.length, bytes: b, read: async (pos, len) => b.subarray(pos, pos + len) };
}

export async function fileSource(path: string): Promise<BlobSource & { close(): Promise<void> }> {
  const fh: FileHandle = await open(path, 'r');
  const { size } = await fh.stat();
  return {
    length: size,
    async read(pos, len) {
      const b = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await fh.read(b, got, len - got, pos + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return b.subarray(0, got);
    },
    close: () => fh.close(),
  };
}
