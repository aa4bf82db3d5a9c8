/**
 * An object written as a stream of bytes that may overwrite bytes written earlier — what a volume's
 * .xtar needs (a nested tar's header gets its size after the folder's bytes, a streamed zip its CRC
 * after its data) — as one S3 multipart upload, never staged whole.
 *
 * The bytes are cut into parts of PART_BYTES. A full part is uploaded at once unless it still holds
 * a byte that will be overwritten: the writer's owner says which ranges those are (`holdWhile`: the
 * tar writer's open folder headers and its entry being streamed); such a part is kept in memory and
 * uploaded once nothing in it is pending any more — the first part, holding the top folder's header,
 * only at the end. Uploading a part number again replaces it, so a part is never uploaded twice
 * unless a patch is asked for after all (it is then patched in memory if still there). Memory: the
 * part being filled, at most UPLOADS_IN_FLIGHT parts on the wire, and one part per open folder whose
 * header sits in a part of its own (a folder's header and its first subfolder's share a part unless
 * the folder holds over PART_BYTES of its own files before it): (2 + UPLOADS_IN_FLIGHT + depth) ×
 * 8 MiB at most, and in practice a few parts.
 */
import type { ObjectStore } from './object-store.js';

export const PART_BYTES = 8 * 1024 * 1024;
const UPLOADS_IN_FLIGHT = 2;

/** A byte range [start, end) that will still be overwritten. */
export type PendingRange = readonly [number, number];

export class MultipartWriter {
  offset = 0;
  /** Bytes sent, counting parts sent again. */
  bytesWritten = 0;
  /** Full parts not uploaded yet (held), by index. */
  private readonly held = new Map<number, Buffer>();
  private current = Buffer.allocUnsafe(PART_BYTES);
  private currentIndex = 0;
  private used = 0;
  private readonly etags = new Map<number, string>();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown = null;
  private pending: () => readonly PendingRange[] = () => [];
  private done = false;

  private constructor(
    private readonly store: ObjectStore,
    readonly name: string,
    readonly uploadId: string,
  ) {}

  static async create(store: ObjectStore, name: string, storageClass?: string): Promise<MultipartWriter> {
    return new MultipartWriter(store, name, await store.startUpload(name, storageClass));
  }

  /** The ranges that will still be overwritten, asked whenever a part might be uploaded. */
  holdWhile(pending: () => readonly PendingRange[]): void {
    this.pending = pending;
  }

  async write(data: Uint8Array): Promise<void> {
    let at = 0;
    while (at < data.length) {
      const n = Math.min(data.length - at, PART_BYTES - this.used);
      this.current.set(data.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
      this.offset += n;
      if (this.used === PART_BYTES) {
        this.held.set(this.currentIndex, this.current);
        this.currentIndex++;
        this.current = Buffer.allocUnsafe(PART_BYTES);
        this.used = 0;
        await this.release();
      }
    }
  }

  async patch(pos: number, data: Uint8Array): Promise<void> {
    if (pos < 0 || pos + data.length > this.offset) throw new RangeError(`patch at ${pos}+${data.length} is outside the ${this.offset} bytes written`);
    let at = 0;
    while (at < data.length) {
      const p = pos + at;
      const index = Math.floor(p / PART_BYTES);
      const within = p - index * PART_BYTES;
      const n = Math.min(data.length - at, PART_BYTES - within);
      const part = index === this.currentIndex ? this.current : this.held.get(index);
      if (part === undefined) throw new Error(`bytes ${p}–${p + n} of ${this.name} were overwritten after their part was uploaded (a range not held)`);
      part.set(data.subarray(at, at + n), within);
      at += n;
    }
    await this.release();
  }

  /** Upload every full part no pending range touches. */
  private async release(): Promise<void> {
    if (this.failure !== null) throw this.failure;
    if (this.held.size === 0) return;
    const pending = this.pending();
    for (const [index, part] of [...this.held].sort((a, b) => a[0] - b[0])) {
      const start = index * PART_BYTES;
      const end = start + PART_BYTES;
      if (pending.some(([s, e]) => s < end && start < e)) continue;
      this.held.delete(index);
      await this.send(index, part);
    }
  }

  private async send(index: number, part: Buffer): Promise<void> {
    while (this.inFlight.size >= UPLOADS_IN_FLIGHT) await Promise.race(this.inFlight);
    if (this.failure !== null) throw this.failure;
    const p = this.store.uploadPart(this.name, this.uploadId, index + 1, part).then(
      (etag) => {
        this.etags.set(index + 1, etag);
        this.bytesWritten += part.length;
      },
      (e: unknown) => {
        this.failure ??= e;
      },
    );
    const tracked = p.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** Upload what is left (held parts and the last, short one) and complete the upload: the object appears. */
  async close(): Promise<void> {
    for (const [index, part] of [...this.held].sort((a, b) => a[0] - b[0])) await this.send(index, part);
    this.held.clear();
    if (this.used > 0 || this.currentIndex === 0) await this.send(this.currentIndex, this.current.subarray(0, this.used));
    await Promise.all(this.inFlight);
    if (this.failure !== null) throw this.failure;
    const parts = [...this.etags].sort((a, b) => a[0] - b[0]).map(([PartNumber, ETag]) => ({ PartNumber, ETag }));
    await this.store.completeUpload(this.name, this.uploadId, parts);
    this.done = true;
  }

  /** Abort the upload (after an error): nothing of it stays in the bucket. */
  async abandon(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    this.held.clear();
    if (!this.done) await this.store.abortUpload(this.name, this.uploadId).catch(() => undefined);
  }
}
