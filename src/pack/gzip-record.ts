/**
 * The gzip copies of the records that go into a volume's archive (structure.jsonl, the volume's
 * own catalog lines). With Node's zlib (no libdeflate addon, or XTAR_DEFLATE=zlib) a copy is one gzip
 * member at level 9, as it always was. With libdeflate it is a run of gzip members of
 * RECORD_MEMBER_BYTES of input each, at libdeflate's level RECORD_LIBDEFLATE_LEVEL: libdeflate takes
 * whole buffers only, and RFC 1952 lets a gzip file be several members one after the other (gzip,
 * zcat, Node's and Python's gunzip read them as one stream). The members are independent, so the pool's
 * workers make them side by side. On 50,000 tiny files' records that is 0.13 s of CPU instead of
 * zlib's 0.32 s, for copies 5% smaller (docs/FORMAT.md, "Volume archive").
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { deflateBackend, gzipMember } from '../worker/deflate.js';

/** Input bytes per gzip member under libdeflate: the memory a copy costs, whatever the record's size. */
export const RECORD_MEMBER_BYTES = 1024 * 1024;
/**
 * libdeflate's level for the records: on the catalog of 50,000 tiny files 5% smaller than zlib -9
 * in 0.11 s instead of 0.24 s; the structure record 6% larger (0.02 s instead of 0.07 s), its copy
 * being a tenth of the catalog's. Levels 8–9 cost as much as zlib -9; 6 leaves the structure 16% larger.
 */
export const RECORD_LIBDEFLATE_LEVEL = 7;
export const RECORD_ZLIB_LEVEL = 9;
/** Members being made at once (each holds RECORD_MEMBER_BYTES of input). */
const MEMBERS_IN_FLIGHT = 4;

/** Makes one gzip member of `data` (a worker of the pool: see CompressPool.gzipMember); `data` is not kept once the promise settles. */
export type MemberMaker = (data: Uint8Array, libdeflateLevel: number, zlibLevel: number) => Promise<Uint8Array>;

const here: MemberMaker = (data, libdeflateLevel, zlibLevel) => Promise.resolve(gzipMember(data, libdeflateLevel, zlibLevel));

function slotFor(slots: Uint8Array[], member: number): Uint8Array {
  const i = member % MEMBERS_IN_FLIGHT;
  return (slots[i] ??= new Uint8Array(new SharedArrayBuffer(RECORD_MEMBER_BYTES)));
}

/** Write `source`'s bytes gzip-compressed to `to`; under libdeflate its members made by `make` (default: on this thread). */
export async function writeGzip(source: AsyncIterable<Uint8Array>, to: string, make: MemberMaker = here): Promise<void> {
  if (deflateBackend === 'zlib') {
    await pipeline(source, createGzip({ level: RECORD_ZLIB_LEVEL }), createWriteStream(to));
    return;
  }
  await pipeline(gzipMembers(source, make), createWriteStream(to));
}

/** The members of `source`'s bytes, each of exactly RECORD_MEMBER_BYTES of input but the last (one empty member for no bytes). */
export async function* gzipMembers(source: AsyncIterable<Uint8Array>, make: MemberMaker = here): AsyncGenerator<Uint8Array> {
  const inFlight: Promise<Uint8Array>[] = [];
  let members = 0;
  const send = (data: Uint8Array): void => {
    members++;
    const p = make(data, RECORD_LIBDEFLATE_LEVEL, RECORD_ZLIB_LEVEL);
    p.catch(() => undefined); // awaited in turn below; a failure is not also an unhandled rejection
    inFlight.push(p);
  };
  // Member i is gathered in slot i % MEMBERS_IN_FLIGHT, free again once member i - MEMBERS_IN_FLIGHT is
  // made. Shared memory: a worker reads it where it is, and no buffer per member is left for a
  // worker's garbage collector, which rarely runs while the workers only gzip (with a buffer per member
  // a pack of 200,000 files peaked 5–50 MB higher).
  const slots: Uint8Array[] = [];
  let buf = slotFor(slots, 0);
  let at = 0;
  for await (const chunk of source) {
    for (let from = 0; from < chunk.length; ) {
      const n = Math.min(chunk.length - from, RECORD_MEMBER_BYTES - at);
      buf.set(chunk.subarray(from, from + n), at);
      at += n;
      from += n;
      if (at < RECORD_MEMBER_BYTES) continue;
      send(buf);
      if (inFlight.length >= MEMBERS_IN_FLIGHT) yield await (inFlight.shift() as Promise<Uint8Array>);
      buf = slotFor(slots, members);
      at = 0;
    }
  }
  if (at > 0 || members === 0) send(buf.subarray(0, at));
  while (inFlight.length > 0) yield await (inFlight.shift() as Promise<Uint8Array>);
}
