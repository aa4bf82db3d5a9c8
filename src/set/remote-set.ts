/**
 * A set in S3-compatible object storage (`s3://BUCKET/PREFIX`), seen through a local cache folder
 * that is a set folder like any other: every complete volume's records (structure.jsonl,
 * catalog.jsonl, README.txt, volume.json) fetched once, and in place of its .xtar a sparse stand-in
 * of the archive's size registered with its object, so every reader fetches only the archive bytes
 * it reads, with ranged GETs (src/store/remote-files.ts). The set's SQLite index is an object beside
 * the volumes, fetched when the cached copy is not the one in the bucket.
 *
 * In the bucket a volume is the same files as on a disc, as objects `PREFIX/VOLUME/FILE`; it counts
 * only once its volume.json is there, which a pack writes last. A pack writes the archive as a
 * multipart upload (src/store/multipart-writer.ts) and the records after it; one that fails aborts
 * its uploads and deletes what it wrote; the next pack removes what a killed one left (uploads in
 * progress, objects of a volume without volume.json). The lock is an object (`xtar.lock`) with a
 * lease, renewed while the run lasts; see remote-lock.ts.
 */
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { LeaseLock } from './remote-lock.js';
import { join } from 'node:path';
import { ARCHIVE_SUFFIX, PARTIAL_PREFIX, parseVolumeName, SET_MARKER, VOLUME_MANIFEST, VOLUME_STRUCTURE } from '../format/layout.js';
import { KEY_FILE, parseRecipients, RECIPIENTS_FILE } from '../format/encryption.js';
import type { SealedFolder } from './encryption.js';

/**
 * The set folder's own files besides the marker: an encrypted set's recipients and key files
 * (docs/FORMAT.md, "Encrypted sets"). They travel with the set, so that a pack from another machine
 * finds the set encrypted and encrypts to the same recipients.
 */
const SET_FILES: readonly string[] = [RECIPIENTS_FILE, KEY_FILE];
import { MultipartWriter } from '../store/multipart-writer.js';
// (The S3 SDK is loaded only when a set is in object storage: a command on a folder never pays for it.)
import type { ObjectStore, StoredObject } from '../store/object-store.js';
import { registerRemoteFile, remoteFileAt } from '../store/remote-files.js';
import { parseStoreUrl, type S3Location } from '../store/s3-url.js';


/** Where cached sets live: $XDG_CACHE_HOME/xtar, else ~/.cache/xtar. */
export function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache'), 'xtar');
}

interface CacheState {
  /** The ETag of the index object the cached index was fetched as (or written as). */
  indexEtag?: string;
}

export class RemoteSet {
  /** The local set folder standing for the remote set. */
  readonly local: string;
  private readonly stateFile: string;
  private lock: LeaseLock | null = null;

  private constructor(
    readonly store: ObjectStore,
    readonly where: S3Location,
    cacheDir: string,
    /** Storage class of the archives (`--storage-class`); records stay in the default class, so listing and planning a restore never wait. */
    readonly storageClass: string | undefined,
  ) {
    this.local = join(cacheDir, 'set');
    this.stateFile = join(cacheDir, 'state.json');
  }

  /** Open `loc` (checking the bucket and the credentials first) and bring its cache up to date. */
  static async open(loc: S3Location, opts: { storageClass?: string; indexFile?: string } = {}): Promise<RemoteSet> {
    const store = new (await import('../store/object-store.js')).ObjectStore(loc);
    await store.check();
    const host = store.endpoint === undefined ? 'aws' : new URL(store.endpoint).host.replace(/[^A-Za-z0-9.-]/g, '_');
    const cacheDir = join(cacheRoot(), 's3', host, loc.bucket, loc.prefix === '' ? '_' : `_${loc.prefix}`);
    const r = new RemoteSet(store, loc, cacheDir, opts.storageClass);
    await mkdir(r.local, { recursive: true });
    await r.sync(opts.indexFile);
    return r;
  }

  /**
   * An encrypted set's recipients and key file read straight from the bucket, without bringing the
   * cache up to date (so a command can open the key before it reads anything); null for a plain set.
   */
  static async sealedFolder(loc: S3Location): Promise<SealedFolder | null> {
    const store = new (await import('../store/object-store.js')).ObjectStore(loc);
    try {
      await store.check();
      const rec = await store.get(RECIPIENTS_FILE);
      if (rec === null) return null;
      return { recipients: parseRecipients(rec.toString('utf8'), `${loc.url}/${RECIPIENTS_FILE}`), keyFile: await store.get(KEY_FILE) };
    } finally {
      store.destroy();
    }
  }

  get url(): string {
    return this.where.url;
  }

  private async state(): Promise<CacheState> {
    try {
      return JSON.parse(await readFile(this.stateFile, 'utf8')) as CacheState;
    } catch {
      return {};
    }
  }

  private async saveState(s: CacheState): Promise<void> {
    await writeFile(this.stateFile, JSON.stringify(s));
  }

  /**
   * Bring the cache up to the bucket: fetch the records of every complete volume not cached, drop
   * cached volumes the bucket no longer holds, fetch the index when the bucket's is another, and
   * register every archive's stand-in.
   */
  private async sync(indexFile?: string): Promise<void> {
    const objects = await this.store.list();
    const byVolume = new Map<string, StoredObject[]>();
    let marker: StoredObject | undefined;
    const setFiles: string[] = [];
    let index: StoredObject | undefined;
    for (const o of objects) {
      const slash = o.name.indexOf('/');
      if (slash < 0) {
        if (o.name === SET_MARKER) marker = o;
        if (SET_FILES.includes(o.name)) setFiles.push(o.name);
        if (indexFile !== undefined && o.name === indexFile) index = o;
        continue;
      }
      const vol = o.name.slice(0, slash);
      if (parseVolumeName(vol) === null || o.name.indexOf('/', slash + 1) >= 0) continue;
      const list = byVolume.get(vol) ?? [];
      list.push({ ...o, name: o.name.slice(slash + 1) });
      byVolume.set(vol, list);
    }
    if (marker !== undefined && !(await exists(join(this.local, SET_MARKER)))) {
      await writeFile(join(this.local, SET_MARKER), (await this.store.get(SET_MARKER)) ?? '');
    }
    for (const name of setFiles) {
      if (await exists(join(this.local, name))) continue;
      const bytes = await this.store.get(name);
      if (bytes !== null) await writeFile(join(this.local, name), bytes);
    }
    const complete = new Set<string>();
    for (const [vol, files] of byVolume) {
      const manifest = files.find((f) => f.name === VOLUME_MANIFEST);
      if (manifest === undefined) continue; // not whole (being written, or left by a pack that was killed)
      complete.add(vol);
      await this.cacheVolume(vol, files, manifest);
    }
    for (const name of await readdir(this.local)) {
      if (parseVolumeName(name) !== null && !complete.has(name)) await rm(join(this.local, name), { recursive: true, force: true });
    }
    if (indexFile !== undefined) {
      const st = await this.state();
      const localIndex = join(this.local, indexFile);
      if (index === undefined) {
        // No index in the bucket: the one cached (if any) stands; a lost one is rebuilt from the volumes.
      } else if (st.indexEtag !== index.etag || !(await exists(localIndex))) {
        const bytes = await this.store.get(indexFile);
        if (bytes !== null) {
          for (const side of ['-wal', '-shm', '-journal']) await rm(localIndex + side, { force: true });
          const tmp = `${localIndex}.fetching`;
          await writeFile(tmp, bytes);
          await rename(tmp, localIndex);
          await this.saveState({ ...st, indexEtag: index.etag });
        }
      }
    }
  }

  /** A complete volume in the cache: its records fetched (once), its archive a registered stand-in. */
  private async cacheVolume(vol: string, files: readonly StoredObject[], manifest: StoredObject): Promise<void> {
    const dir = join(this.local, vol);
    const archive = files.find((f) => f.name.endsWith(ARCHIVE_SUFFIX));
    const cachedManifest = await stat(join(dir, VOLUME_MANIFEST)).catch(() => null);
    if (cachedManifest === null || cachedManifest.size !== manifest.size) {
      const tmp = join(this.local, `${PARTIAL_PREFIX}fetch-${vol}`);
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp);
      const manifestBytes = (await this.store.get(`${vol}/${VOLUME_MANIFEST}`)) ?? Buffer.alloc(0);
      for (const f of files) {
        if (f === archive) await standIn(join(tmp, f.name), f.size);
        else if (f.name === VOLUME_MANIFEST) await writeFile(join(tmp, f.name), manifestBytes);
        else if (f.name === VOLUME_STRUCTURE && (await this.sameStructure(vol, manifestBytes, f.size, join(tmp, f.name)))) continue;
        else await writeFile(join(tmp, f.name), (await this.store.get(`${vol}/${f.name}`)) ?? '');
      }
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    }
    if (archive !== undefined) {
      const path = join(dir, archive.name);
      if ((await stat(path).catch(() => null))?.size !== archive.size) await standIn(path, archive.size);
      registerRemoteFile(path, { store: this.store, name: `${vol}/${archive.name}`, size: archive.size });
    }
  }

  /**
   * Every volume of a backup carries the same structure record (on disc, hard links to one file): one
   * already cached whose volume.json names the same digest and size is linked at `to`, not fetched again.
   */
  private async sameStructure(vol: string, manifest: Buffer, size: number, to: string): Promise<boolean> {
    const digest = structureDigest(manifest);
    const backup = parseVolumeName(vol)?.backupId;
    if (digest === undefined || backup === undefined) return false;
    for (const other of await readdir(this.local)) {
      if (other === vol || parseVolumeName(other)?.backupId !== backup) continue;
      const theirs = await readFile(join(this.local, other, VOLUME_MANIFEST)).catch(() => null);
      if (theirs === null || structureDigest(theirs) !== digest) continue;
      const from = join(this.local, other, VOLUME_STRUCTURE);
      if ((await stat(from).catch(() => null))?.size !== size) continue;
      await link(from, to).catch(() => copyFile(from, to));
      return true;
    }
    return false;
  }

  /** The multipart upload of a volume's archive. */
  archiveOut(vol: string, archive: string): Promise<MultipartWriter> {
    return MultipartWriter.create(this.store, `${vol}/${archive}`, this.storageClass);
  }

  /**
   * Upload the records of the volumes whose archives are uploaded (each volume's files from its local
   * folder `dir`, all but the archive), then every volume.json: only then do the volumes count.
   */
  async publishVolumes(vols: readonly { name: string; dir: string }[]): Promise<void> {
    await this.checkLock();
    if (!(await this.store.head(SET_MARKER))) await this.store.put(SET_MARKER, await readFile(join(this.local, SET_MARKER)));
    for (const name of SET_FILES) {
      const local = join(this.local, name);
      if ((await exists(local)) && !(await this.store.head(name))) await this.store.put(name, await readFile(local));
    }
    for (const v of vols) {
      for (const f of (await readdir(v.dir)).sort()) {
        if (f === VOLUME_MANIFEST || f.endsWith(ARCHIVE_SUFFIX)) continue;
        await this.uploadFile(`${v.name}/${f}`, join(v.dir, f));
      }
    }
    for (const v of vols) await this.store.put(`${v.name}/${VOLUME_MANIFEST}`, await readFile(join(v.dir, VOLUME_MANIFEST)));
  }

  /** After publishVolumes and the local rename: the cached volume's archive becomes its stand-in. */
  async cachePublished(vol: string, archive: string, size: number): Promise<void> {
    const path = join(this.local, vol, archive);
    await standIn(path, size);
    registerRemoteFile(path, { store: this.store, name: `${vol}/${archive}`, size });
  }

  /** A file of any size, streamed with the SDK's multipart helper. */
  private async uploadFile(name: string, path: string): Promise<void> {
    try {
      const { Upload } = await import('@aws-sdk/lib-storage');
      const up = new Upload({ client: this.store.client, params: { Bucket: this.store.bucket, Key: this.store.key(name), Body: createReadStream(path) }, partSize: 8 * 1024 * 1024, queueSize: 2 });
      await up.done();
      this.store.sent += (await stat(path)).size;
    } catch (e) {
      this.store.fail(e, `writing ${this.store.url(name)}`);
    }
  }

  /** Delete every object of a volume (a pack that failed, or prune): volume.json first, so it stops counting at once. */
  async removeVolume(vol: string): Promise<string[]> {
    const names = (await this.store.list(`${vol}/`)).map((o) => o.name);
    names.sort((a, b) => Number(b.endsWith(`/${VOLUME_MANIFEST}`)) - Number(a.endsWith(`/${VOLUME_MANIFEST}`)));
    for (const n of names) await this.store.delete(n);
    return names;
  }

  /** Delete a volume from the bucket (prune) and from the cache: what was deleted, by URL. */
  async dropVolume(vol: string): Promise<string[]> {
    const names = await this.removeVolume(vol);
    await rm(join(this.local, vol), { recursive: true, force: true });
    return names.map((n) => this.store.url(n));
  }

  /** What a pack that was killed left: multipart uploads in progress, and volumes without volume.json. Removed; their names returned. */
  async cleanupLeftovers(): Promise<string[]> {
    const gone: string[] = [];
    for (const u of await this.store.uploadsInProgress()) {
      await this.store.abortUpload(u.name, u.uploadId);
      gone.push(`${this.store.url(u.name)} (an upload in progress)`);
    }
    const byVolume = new Map<string, string[]>();
    for (const o of await this.store.list()) {
      const slash = o.name.indexOf('/');
      if (slash < 0 || parseVolumeName(o.name.slice(0, slash)) === null) continue;
      const list = byVolume.get(o.name.slice(0, slash)) ?? [];
      list.push(o.name.slice(slash + 1));
      byVolume.set(o.name.slice(0, slash), list);
    }
    for (const [vol, files] of byVolume) {
      if (files.includes(VOLUME_MANIFEST)) continue;
      await this.removeVolume(vol);
      gone.push(`${this.store.url(vol)}/ (a volume without volume.json)`);
    }
    return gone;
  }

  /** Upload the set's index (closed, so its file is whole) and remember which copy the cache holds. */
  async uploadIndex(indexFile: string): Promise<void> {
    const path = join(this.local, indexFile);
    if (!(await exists(path))) return;
    await this.uploadFile(indexFile, path);
    const head = await this.store.head(indexFile);
    if (head !== null) await this.saveState({ ...(await this.state()), indexEtag: head.etag });
  }

  /** Take the set's lock across machines (remote-lock.ts): kept by renewing its lease until released. */
  async takeLock(): Promise<void> {
    const lock = new LeaseLock(this.store, this.url);
    await lock.take();
    this.lock = lock;
  }

  /** Throws when this run no longer holds the lock it took (see LeaseLock.check); nothing when it took none. */
  async checkLock(): Promise<void> {
    await this.lock?.check();
  }

  async releaseLock(): Promise<void> {
    const lock = this.lock;
    this.lock = null;
    await lock?.release();
  }

  close(): void {
    this.store.destroy();
  }
}

/** The structure record's digest a volume.json names, if any. */
function structureDigest(manifest: Buffer): string | undefined {
  try {
    const d = (JSON.parse(manifest.toString('utf8')) as { structureSha256?: unknown }).structureSha256;
    return typeof d === 'string' ? d : undefined;
  } catch {
    return undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null)) !== null;
}

/** A sparse file of `size` bytes: an archive's stand-in (its reads go to the object). */
async function standIn(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}

/**
 * A command's set arguments: each s3:// URL opened as its cached set folder (a path stays as given;
 * an unknown scheme is an error). `show` turns the cache's paths in a text back into the URLs.
 */
export class OpenedSets {
  private constructor(private readonly byArg: Map<string, RemoteSet>) {}

  static async open(args: readonly string[], opts: { indexFile?: string } = {}): Promise<OpenedSets> {
    const byArg = new Map<string, RemoteSet>();
    try {
      for (const a of args) {
        const loc = parseStoreUrl(a);
        if (loc !== null && !byArg.has(a)) byArg.set(a, await RemoteSet.open(loc, opts));
      }
    } catch (e) {
      for (const r of byArg.values()) r.close();
      throw e;
    }
    return new OpenedSets(byArg);
  }

  get remotes(): RemoteSet[] {
    return [...this.byArg.values()];
  }

  path(arg: string): string {
    return this.byArg.get(arg)?.local ?? arg;
  }

  paths(args: readonly string[]): string[] {
    return args.map((a) => this.path(a));
  }

  show(text: string): string {
    let t = text;
    for (const r of this.byArg.values()) t = t.split(r.local).join(r.url);
    return t;
  }

  /** Bytes fetched from the stores so far (records and archive ranges). */
  fetched(): number {
    return this.remotes.reduce((n, r) => n + r.store.fetched, 0);
  }

  close(): void {
    for (const r of this.byArg.values()) r.close();
  }
}

/** True when the path is an archive stand-in of a remote set. */
export function isRemoteStandIn(path: string): boolean {
  return remoteFileAt(path) !== undefined;
}

