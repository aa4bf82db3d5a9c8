/**
 * remote-lock.ts's LeaseLock against an object store held in memory: taken, refused while another's
 * lease runs, renewed past its first lease, lost to a takeover (and then nothing published, and
 * the other's lock not removed), and a store down at a renewal.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { SetBusyError } from '../../src/errors.js';
import { LeaseLock, REMOTE_LOCK, type LockStore } from '../../src/set/remote-lock.js';

class MemoryStore implements LockStore {
  readonly objects = new Map<string, string>();
  down = false;
  async get(name: string): Promise<Buffer | null> {
    if (this.down) throw new Error('store down');
    const v = this.objects.get(name);
    return v === undefined ? null : Buffer.from(v);
  }
  async put(name: string, body: string, opts: { ifNoneMatch?: boolean } = {}): Promise<void> {
    if (this.down) throw new Error('store down');
    if (opts.ifNoneMatch && this.objects.has(name)) throw Object.assign(new Error('exists'), { cause: { $metadata: { httpStatusCode: 412 } } });
    this.objects.set(name, body);
  }
  async delete(name: string): Promise<void> {
    if (this.down) throw new Error('store down');
    this.objects.delete(name);
  }
  url(name: string): string {
    return `s3://b/${name}`;
  }
  expires(): number {
    return Date.parse((JSON.parse(this.objects.get(REMOTE_LOCK) ?? '{}') as { expires: string }).expires);
  }
}

describe('LeaseLock', () => {
  it('is refused while another holds a lease, and taken over once that lease has run out', async () => {
    const store = new MemoryStore();
    let now = 1_000_000;
    const clock = { leaseMs: 1000, now: () => now };
    store.objects.set(REMOTE_LOCK, JSON.stringify({ host: 'elsewhere', pid: 7, taken: 'x', expires: new Date(now + 500).toISOString() }));
    const lock = new LeaseLock(store, 's3://b', clock);
    await assert.rejects(lock.take(), (e: unknown) => e instanceof SetBusyError && /\(elsewhere pid 7\) holds the lock of s3:\/\/b/.test(e.message));
    now += 600;
    await lock.take();
    assert.equal((JSON.parse(store.objects.get(REMOTE_LOCK) ?? '') as { host: string }).host, hostname());
    await lock.check();
    await lock.release();
    assert.equal(store.objects.has(REMOTE_LOCK), false);
  });

  it('renews its lease, so a run longer than the lease keeps it', async () => {
    const store = new MemoryStore();
    let now = 1_000_000;
    const lock = new LeaseLock(store, 's3://b', { leaseMs: 1000, now: () => now });
    await lock.take();
    assert.equal(store.expires(), 1_001_000);
    now += 900;
    await lock.renew();
    assert.equal(store.expires(), 1_001_900, 'the lease runs from the renewal');
    now += 900; // past the first lease: a second writer finds it held
    await assert.rejects(new LeaseLock(store, 's3://b', { leaseMs: 1000, now: () => now }).take(), SetBusyError);
    await lock.check();
    await lock.release();
  });

  it('when another took it over: check throws before publishing, and release leaves the other lock alone', async () => {
    const store = new MemoryStore();
    const lock = new LeaseLock(store, 's3://b', { leaseMs: 1000 });
    await lock.take();
    const theirs = JSON.stringify({ host: 'elsewhere', pid: 9, taken: 'y', expires: new Date(Date.now() + 5000).toISOString() });
    store.objects.set(REMOTE_LOCK, theirs);
    await lock.renew();
    assert.notEqual(store.objects.get(REMOTE_LOCK), undefined);
    await assert.rejects(lock.check(), (e: unknown) => e instanceof SetBusyError && /lost the lock of s3:\/\/b \(elsewhere pid 9 took it over\)/.test(e.message));
    await lock.release();
    assert.equal(store.objects.get(REMOTE_LOCK), theirs);
  });

  it('notices a takeover at check even before a renewal would', async () => {
    const store = new MemoryStore();
    const lock = new LeaseLock(store, 's3://b', { leaseMs: 60_000 });
    await lock.take();
    store.objects.delete(REMOTE_LOCK);
    await assert.rejects(lock.check(), SetBusyError);
    await lock.release();
  });

  it('keeps the lock through a renewal that meets a store that is down', async () => {
    const store = new MemoryStore();
    let now = 1_000_000;
    const lock = new LeaseLock(store, 's3://b', { leaseMs: 1000, now: () => now });
    await lock.take();
    store.down = true;
    now += 250;
    await lock.renew();
    store.down = false;
    now += 250;
    await lock.renew();
    assert.equal(store.expires(), 1_001_500);
    await lock.check();
    await lock.release();
    assert.equal(store.objects.has(REMOTE_LOCK), false);
  });
});
