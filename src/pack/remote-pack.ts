/**
 * Packing into a set in object storage (`--out s3://BUCKET/PREFIX`): the set's cache folder stands
 * for it (src/set/remote-set.ts) while pack runs as on disc, its archives uploaded in parts as they
 * are written. Around the run: the bucket and the credentials checked first (nothing is written
 * before), the lock object taken, what a killed pack left removed, and after it the index uploaded
 * beside the volumes. What the run reports names the bucket, not the cache.
 */
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { RemoteSet } from '../set/remote-set.js';
import { INDEX_FILE, indexInMemoryOnly } from '../setindex/db.js';
import { indexCoversVolumes } from '../setindex/covers.js';
import { lockSet } from '../set/lock.js';
import { prepareSet } from '../set/prepare-set.js';
import { isUrl, parseStoreUrl } from '../store/s3-url.js';

export interface RemoteOptions {
  out: string;
  /** S3 storage class of the archives (e.g. DEEP_ARCHIVE, GLACIER, STANDARD_IA). */
  storageClass?: string;
  par2?: number;
  iso?: boolean;
  onNote?: (line: string) => void;
  /** Keep a plain index for an encrypted set (docs/FORMAT.md, "Encrypted sets"). */
  indexPlain?: boolean;
  /** Encryption asked for (a new set becomes encrypted: then no index is made for it either). */
  encrypt?: object;
  /** Set by withRemoteSet: the remote set `out` (then its cache folder) stands for. */
  remote?: RemoteSet;
}

/**
 * Run `fn` with `opts.out` the local set folder: for an s3:// set its cache, opened and locked for
 * writing around the run (the index uploaded after a run that succeeded); a folder as given.
 */
export async function withRemoteSet<O extends RemoteOptions, T>(opts: O, fn: (o: O) => Promise<T>): Promise<T> {
  if (opts.remote !== undefined) return fn(opts);
  const loc = parseStoreUrl(opts.out);
  if (loc === null) {
    if (opts.storageClass !== undefined) throw new UsageError('--storage-class is for sets in object storage (--out s3://BUCKET/PREFIX).');
    return fn(opts);
  }
  if (opts.par2 !== undefined || opts.iso) throw new UsageError('--par2 and --iso make files beside each volume on disc; they are not for sets in object storage.');
  const remote = await RemoteSet.open(loc, { ...(opts.storageClass === undefined ? {} : { storageClass: opts.storageClass }), indexFile: INDEX_FILE });
  try {
    await remote.takeLock();
    try {
      const note = opts.onNote ?? ((): void => undefined);
      for (const gone of await remote.cleanupLeftovers()) note(`removed what an interrupted pack left: ${gone}`);
      await prepareSet(remote.local);
      // An encrypted set keeps no index unless asked (its pack makes one in memory): none is made here
      // from the volumes, and none is uploaded.
      if (!(await indexInMemoryOnly(remote.local, { encrypting: opts.encrypt !== undefined, indexPlain: opts.indexPlain === true }))) {
        const unlock = await lockSet(remote.local);
        try {
          await indexCoversVolumes(remote.local, note);
        } finally {
          await unlock();
        }
      }
      const r = await fn({ ...opts, out: remote.local, remote });
      await remote.uploadIndex(INDEX_FILE);
      return presentRemote(r, remote);
    } finally {
      await remote.releaseLock().catch(() => undefined);
    }
  } finally {
    remote.close();
  }
}

/** The local set folder to plan against (a dry run): an s3:// set's cache brought up to date, without a lock. */
export async function plannedSet(out: string): Promise<string> {
  const loc = parseStoreUrl(out);
  if (loc === null) return resolve(out);
  const remote = await RemoteSet.open(loc, { indexFile: INDEX_FILE });
  remote.close();
  return remote.local;
}

/** Every string in `r` naming the cache (the set, its volumes) names the bucket instead. */
function presentRemote<T>(r: T, remote: RemoteSet): T {
  const map = (v: unknown): unknown => {
    if (typeof v === 'string') return v === remote.local || v.startsWith(`${remote.local}/`) ? remote.url + v.slice(remote.local.length) : v;
    if (Array.isArray(v)) return v.map(map);
    if (v instanceof Date || v === null || typeof v !== 'object') return v;
    // (An error, e.g. a source's in packSources' outcomes, stays an error: its message is not an own enumerable property.)
    if (v instanceof Error) {
      v.message = v.message.split(remote.local).join(remote.url);
      const withPath = v as Error & { path?: unknown };
      if (typeof withPath.path === 'string') withPath.path = map(withPath.path);
      return v;
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, map(x)]));
  };
  return map(r) as T;
}

export { isUrl };
