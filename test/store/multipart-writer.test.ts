/**
 * The patchable multipart upload against a store that records each part: a part holding a range
 * still pending is not sent until the range is released (then sent once); the parts put together
 * are the bytes written with every patch applied; a patch of a part already sent is refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MultipartWriter, PART_BYTES, type PendingRange } from '../../src/store/multipart-writer.js';
import type { ObjectStore } from '../../src/store/object-store.js';

class RecordingStore {
  readonly sends: number[] = [];
  readonly parts = new Map<number, Buffer>();
  completed: { PartNumber: number; ETag: string }[] | null = null;
  aborted = false;
  async startUpload(): Promise<string> {
    return 'u1';
  }
  async uploadPart(_name: string, _id: string, n: number, body: Uint8Array): Promise<string> {
    this.sends.push(n);
    this.parts.set(n, Buffer.from(body));
    return `"e${n}"`;
  }
  async completeUpload(_name: string, _id: string, parts: { PartNumber: number; ETag: string }[]): Promise<void> {
    this.completed = parts;
  }
  async abortUpload(): Promise<void> {
    this.aborted = true;
  }
}

describe('MultipartWriter', () => {
  it('holds the parts a pending range touches, sends them once released, and the result is the patched bytes', async () => {
    const store = new RecordingStore();
    const w = await MultipartWriter.create(store as unknown as ObjectStore, 'v/a.xtar');
    const pending: PendingRange[] = [[100, 612]];
    w.holdWhile(() => pending);
    const expect = Buffer.alloc(PART_BYTES * 3 + 1000);
    for (let i = 0; i < expect.length; i++) expect[i] = i % 251;
    await w.write(expect.subarray(0, PART_BYTES * 2 + 10));
    // Part 1 holds the pending header: not sent; part 2 is.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(store.sends, [2]);
    pending.push([PART_BYTES * 2 + 5, PART_BYTES * 2 + 600]);
    await w.write(expect.subarray(PART_BYTES * 2 + 10));
    // Part 3 holds the second range (now full): held too.
    assert.deepEqual(store.sends, [2]);
    const patch1 = Buffer.alloc(512, 0xaa);
    pending.shift();
    await w.patch(100, patch1);
    patch1.copy(expect, 100);
    assert.deepEqual([...store.sends].sort(), [1, 2]);
    const patch2 = Buffer.alloc(595, 0xbb);
    pending.shift();
    await w.patch(PART_BYTES * 2 + 5, patch2);
    patch2.copy(expect, PART_BYTES * 2 + 5);
    await w.close();
    assert.deepEqual([...store.sends].sort(), [1, 2, 3, 4], 'each part sent once');
    assert.deepEqual(store.completed?.map((p) => p.PartNumber), [1, 2, 3, 4]);
    assert.ok(Buffer.concat([1, 2, 3, 4].map((n) => store.parts.get(n) as Buffer)).equals(expect));
    await assert.rejects(w.patch(0, Buffer.alloc(1)), /after their part was uploaded/);
  });

  it('abandon aborts the upload', async () => {
    const store = new RecordingStore();
    const w = await MultipartWriter.create(store as unknown as ObjectStore, 'v/a.xtar');
    await w.write(Buffer.alloc(10));
    await w.abandon();
    assert.ok(store.aborted);
  });
});
