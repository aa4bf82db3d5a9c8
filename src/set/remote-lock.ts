/**
 * The lock of a set in object storage: the object `xtar.lock` naming its holder and when its lease
 * ends. A lease bounds how long a killed writer keeps others out; a run longer than the lease keeps
 * it by renewing it (every quarter of the lease, so a store that is down for a while does not lose
 * it), and a run that finds its lock in another's hands (its renewals failed until the lease ran out,
 * or someone deleted it) stops before it publishes anything. A release removes the object only while
 * it is still this run's.
 */
import { hostname } from 'node:os';
import { SetBusyError } from '../errors.js';
import { alive } from './lock.js';

/** The lock object's name below the prefix. */
export const REMOTE_LOCK = 'xtar.lock';
/** How long a lock object holds when its writer never removes it (killed): then the next writer takes it. */
export const LOCK_LEASE_MS = 6 * 60 * 60 * 1000;

/** What the lock needs of an object store (src/store/object-store.ts's ObjectStore). */
export interface LockStore {
  get(name: string): Promise<Buffer | null>;
  put(name: string, body: string, opts?: { ifNoneMatch?: boolean }): Promise<void>;
  delete(name: string): Promise<void>;
  url(name: string): string;
}

interface Holder {
  host?: string;
  pid?: number;
  taken?: string;
  expires?: string;
}

export interface LeaseOptions {
  /** The lease (default LOCK_LEASE_MS); it is renewed every quarter of it. */
  leaseMs?: number;
  /** Now, in ms (tests). */
  now?: () => number;
}

export class LeaseLock {
  private held: Holder | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Why the lock is no longer this run's (set by a renewal); null while it is. */
  private lost: string | null = null;
  private renewing: Promise<void> = Promise.resolve();
  private readonly leaseMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: LockStore,
    /** The set's URL, for the sentences. */
    private readonly setUrl: string,
    opts: LeaseOptions = {},
  ) {
    this.leaseMs = opts.leaseMs ?? LOCK_LEASE_MS;
    this.now = opts.now ?? Date.now;
  }

  private body(taken: string): Holder {
    return { host: hostname(), pid: process.pid, taken, expires: new Date(this.now() + this.leaseMs).toISOString() };
  }

  private async holder(): Promise<Holder | null> {
    const held = await this.store.get(REMOTE_LOCK);
    if (held === null) return null;
    try {
      return JSON.parse(held.toString('utf8')) as Holder;
    } catch {
      return {}; // unreadable: treated as expired
    }
  }

  private isMine(h: Holder | null): boolean {
    return h !== null && this.held !== null && h.host === this.held.host && h.pid === this.held.pid && h.taken === this.held.taken;
  }

  /**
   * Take the lock. Written with a conditional PUT (If-None-Match: *) so two writers cannot both take
   * it; a store that does not implement conditional writes (OpenStack Swift's s3api answers 501) gets
   * a check-then-write instead, which two writers starting within the same second can both pass (see
   * README). A lock whose lease ended (its writer was killed), or taken on this machine by a process
   * that is gone, is taken over. Renewed every quarter of the lease until released.
   */
  async take(): Promise<void> {
    const body = this.body(new Date(this.now()).toISOString());
    for (let attempt = 0; attempt < 2; attempt++) {
      const owner = await this.holder();
      if (owner !== null) {
        const expires = owner.expires === undefined ? 0 : Date.parse(owner.expires);
        // Taken on this machine by a process that is gone (it could not remove it: the store was down): stale.
        const gone = owner.host === hostname() && typeof owner.pid === 'number' && !alive(owner.pid);
        if (expires > this.now() && !gone) {
          throw new SetBusyError(`Another xtar (${owner.host ?? '?'} pid ${owner.pid ?? '?'}) holds the lock of ${this.setUrl} until ${owner.expires}; wait for it to finish (or delete ${this.store.url(REMOTE_LOCK)} if that run is gone).`, this.store.url(REMOTE_LOCK));
        }
        await this.store.delete(REMOTE_LOCK);
      }
      try {
        await this.store.put(REMOTE_LOCK, JSON.stringify(body), { ifNoneMatch: true });
      } catch (e) {
        const status = (e as { cause?: { $metadata?: { httpStatusCode?: number } } }).cause?.$metadata?.httpStatusCode;
        if (status === 412 || status === 409) continue; // another writer took it first
        if (status !== 501 && status !== 400) throw e;
        // No conditional writes here: check, then write.
        await this.store.put(REMOTE_LOCK, JSON.stringify(body));
      }
      this.held = body;
      this.timer = setInterval(() => void this.renew(), Math.max(1, Math.floor(this.leaseMs / 4)));
      this.timer.unref();
      return;
    }
    throw new SetBusyError(`Another xtar took the lock of ${this.setUrl} first; wait for it to finish.`, this.store.url(REMOTE_LOCK));
  }

  /** Extend the lease, if the lock is still this run's; a store that fails now is tried again next time. */
  renew(): Promise<void> {
    this.renewing = this.renewing.then(async () => {
      if (this.held === null || this.lost !== null) return;
      try {
        const h = await this.holder();
        if (!this.isMine(h)) {
          this.lost = h === null ? 'someone removed it' : `${h.host ?? '?'} pid ${h.pid ?? '?'} took it over`;
          this.stopRenewing();
          return;
        }
        const next = { ...this.body(this.held.taken ?? ''), taken: this.held.taken };
        await this.store.put(REMOTE_LOCK, JSON.stringify(next));
      } catch {
        // The store is down: the lease still runs for three quarters of its time, and the next renewal tries again.
      }
    });
    return this.renewing;
  }

  /** Throws when the lock is no longer this run's: before anything is published under it. */
  async check(): Promise<void> {
    await this.renewing;
    if (this.held === null) return;
    // (The renewal keeps the lease; this asks the store itself, since a renewal may be hours away.)
    if (this.lost === null && !this.isMine(await this.holder())) this.lost = 'its lease ran out and it is another\'s or gone';
    if (this.lost !== null) {
      throw new SetBusyError(`This run lost the lock of ${this.setUrl} (${this.lost}); nothing more was published. Run it again.`, this.store.url(REMOTE_LOCK));
    }
  }

  private stopRenewing(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stop renewing and remove the lock object, unless it is no longer this run's (then it is another's to remove). */
  async release(): Promise<void> {
    this.stopRenewing();
    await this.renewing;
    if (this.held === null) return;
    const mine = this.lost === null && this.isMine(await this.holder());
    this.held = null;
    if (mine) await this.store.delete(REMOTE_LOCK);
  }
}
