/**
 * The keys of the encrypted set being read, for the whole run: once a command has opened the set's
 * key (src/set/encryption.ts), every reader of records (util/lines.ts) and of blobs (src/unpack)
 * decrypts through it, so no reader needs the key passed down to it. One run reads one set's keys.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setRecordUnsealer } from '../util/lines.js';
import { AgeReader } from './encryption.js';

let reader: AgeReader | null = null;

/** Use these secret keys (age identities) for every encrypted record and blob from now on; null forgets them. */
export function useKeys(identities: readonly string[] | null): void {
  reader = identities === null || identities.length === 0 ? null : new AgeReader(identities);
  const r = reader;
  setRecordUnsealer(r === null ? null : (sealed, label) => unsealStream(r, sealed, label));
}

/** The keys in use, or null. */
export function keysInUse(): AgeReader | null {
  return reader;
}

async function unsealStream(r: AgeReader, sealed: Readable, label: string): Promise<Readable> {
  try {
    const web = await r.decryptStream(Readable.toWeb(sealed) as unknown as ReadableStream<Uint8Array>);
    return Readable.fromWeb(web as unknown as WebReadableStream<Uint8Array>);
  } catch (e) {
    sealed.destroy();
    throw Object.assign(new Error(`${label} does not decrypt (${(e as Error).message}): it is damaged, or not encrypted to this key`), { code: 'EDECRYPT' });
  }
}
