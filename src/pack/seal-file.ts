/**
 * An encrypted set's files encrypted whole with age, streamed (never held in memory): a large
 * file's spooled blob, the records beside the archive and their gzip copies inside it
 * (docs/FORMAT.md, "Encrypted sets"). The blobs of small files are encrypted by the workers.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { AgeWriter } from '../format/encryption.js';

/** Write `to`, the age file of `from` (fsynced); with `removeFrom`, `from` is removed once `to` is whole. */
export async function sealFile(writer: AgeWriter, from: string, to: string, removeFrom = false): Promise<void> {
  const web = await writer.encryptStream(Readable.toWeb(createReadStream(from)) as unknown as ReadableStream<Uint8Array>);
  await pipeline(Readable.fromWeb(web as unknown as WebReadableStream<Uint8Array>), createWriteStream(to, { flags: 'wx' }));
  const fh = await open(to, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (removeFrom) await rm(from, { force: true });
}
