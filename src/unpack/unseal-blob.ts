/**
 * An encrypted set's blob (`NAME.zip.age`, docs/FORMAT.md "Encrypted sets") made a zip again before
 * it is read: decrypted with the keys in use (format/keyring.ts) in memory when small, else into a
 * private temporary file (mode 0600 in a 0700 folder of the system's temporary folder, removed once
 * the file is restored). age authenticates every 64 KiB: a damaged blob does not decrypt and is
 * listed as damaged, costing only its own file.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DamagedBlobError } from '../errors.js';
import { AGE_MAGIC, isAgeFile } from '../format/encryption.js';
import { keysInUse } from '../format/keyring.js';
import { memorySource, type ByteSource } from './extract.js';

/** Encrypted blobs up to this size are decrypted in memory. */
const IN_MEMORY_MAX = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;

export interface Unsealed {
  src: ByteSource;
  size: number;
  close(): Promise<void>;
}

/**
 * Whether a blob of `size` bytes may be sealed: keys are in use and it could hold age's header. Asked
 * first, in step, so a plain set's blobs (every blob of most runs) cost no promise and no path here.
 */
export function maySeal(size: number): boolean {
  return keysInUse() !== null && size >= AGE_MAGIC.length;
}

/** The zip inside an age blob, or null when the blob is not an age file (a plain set's zip). */
export async function unsealBlob(src: ByteSource, size: number, shown: string): Promise<Unsealed | null> {
  const keys = keysInUse();
  if (keys === null || size < AGE_MAGIC.length) return null;
  if (!isAgeFile(await src.read(0, AGE_MAGIC.length))) return null;
  if (size <= IN_MEMORY_MAX) {
    const plain = Buffer.from(await keys.decrypt(Buffer.from(await src.read(0, size)), shown));
    return { src: memorySource(plain), size: plain.length, close: async () => undefined };
  }
  const dir = await mkdtemp(join(tmpdir(), 'xtar-unseal-'));
  const file = join(dir, 'blob.zip');
  try {
    const sealed = Readable.from(
      (async function* () {
        for (let pos = 0; pos < size; pos += CHUNK) yield Buffer.from(await src.read(pos, Math.min(CHUNK, size - pos)));
      })(),
    );
    const web = await keys.decryptStream(Readable.toWeb(sealed) as unknown as ReadableStream<Uint8Array>);
    await pipeline(Readable.fromWeb(web as unknown as WebReadableStream<Uint8Array>), createWriteStream(file, { mode: 0o600 }));
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw new DamagedBlobError(`${shown} does not decrypt (${(e as Error).message}): it is damaged, or not encrypted to this key`, shown);
  }
  const fh = await open(file, 'r');
  const { size: plainSize } = await fh.stat();
  return {
    src: {
      async read(pos, length) {
        const b = Buffer.allocUnsafe(length);
        const { bytesRead } = await fh.read(b, 0, length, pos);
        return b.subarray(0, bytesRead);
      },
    },
    size: plainSize,
    async close() {
      await fh.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
