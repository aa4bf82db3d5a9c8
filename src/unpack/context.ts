/**
 * The one object a restore's stages share: the volumes and their readers, the pool, the sink, the
 * problem log, the counts, and what one stage leaves for the next. The stages themselves live in
 * their own modules (restore-by-catalog.ts, restore-by-walk.ts, ...).
 */
import { OffsetTally, TarTracker } from './tar-tracker.js';
import type { StructureFacts, OwnCatalogs } from './choose-records.js';
import type { ExtractPool } from './extract-pool.js';
import type { SplitFile } from './join-splits.js';
import type { VolumeSource } from '../set/locate.js';
import { ProblemLog } from './problem-log.js';
import { RandomReader, ReadSession } from './random-reader.js';
import type { RecordSource } from '../set/read-records.js';
import type { BackupChoice, PathFilter } from './select.js';
import type { Sink } from './sink.js';

export interface Progress {
  files: number;
  bytes: number;
  totalBytes: number;
}

/**
 * A blob's key in RestoreContext.restored: its volume and its offset there in one number (no string
 * per file) while they fit exactly — offsets below 2^40 (a TiB), volumes below 2^13 — else as text.
 */
export function blobKey(volume: number, offset: number): number | string {
  return volume < 2 ** 13 && offset < 2 ** 40 ? volume * 2 ** 40 + offset : `${volume}:${offset}`;
}

/**
 * RestoreContext.restored: blobKeys, the numbers in one ascending array (a catalog lists its blobs in
 * archive order) with a Set only for those that come out of order and the keys that are text —
 * 200,000 blobs are 1.6 MB of Float64Array, not ~8 MB of hash table and boxed numbers.
 */
export class BlobKeySet {
  private keys = new Float64Array(0);
  private n = 0;
  private readonly others = new Set<number | string>();

  /** Whether `key` was not in the set yet. */
  add(key: number | string): boolean {
    if (typeof key === 'number' && (this.n === 0 || key > (this.keys[this.n - 1] as number))) {
      if (this.n === this.keys.length) {
        const grown = new Float64Array(Math.max(1024, this.keys.length * 2));
        grown.set(this.keys);
        this.keys = grown;
      }
      this.keys[this.n++] = key;
      return true;
    }
    if (this.has(key)) return false;
    this.others.add(key);
    return true;
  }

  has(key: number | string): boolean {
    return (typeof key === 'number' && this.indexOf(key) >= 0) || (this.others.size > 0 && this.others.has(key));
  }

  delete(key: number | string): boolean {
    if (this.others.delete(key)) return true;
    const i = typeof key === 'number' ? this.indexOf(key) : -1;
    if (i < 0) return false;
    this.keys.copyWithin(i, i + 1, this.n);
    this.n--;
    return true;
  }

  /** Its place in the ascending array, or -1. */
  private indexOf(key: number): number {
    let lo = 0;
    let hi = this.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[mid] as number;
      if (k === key) return mid;
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

/** A set of line numbers (from 0 to a few billion) as a bitmap growing to the highest: 1 bit per line. */
export class LineSet {
  private bits = new Uint32Array(0);
  size = 0;

  add(n: number): void {
    const w = n >>> 5;
    if (w >= this.bits.length) {
      const grown = new Uint32Array(Math.max(w + 1, this.bits.length * 2, 256));
      grown.set(this.bits);
      this.bits = grown;
    }
    const m = 1 << (n & 31);
    if (((this.bits[w] as number) & m) === 0) {
      this.bits[w] = (this.bits[w] as number) | m;
      this.size++;
    }
  }

  has(n: number): boolean {
    const w = n >>> 5;
    return w < this.bits.length && ((this.bits[w] as number) & (1 << (n & 31))) !== 0;
  }

  /** Whether `n` was in the set (it no longer is). */
  delete(n: number): boolean {
    if (!this.has(n)) return false;
    const w = n >>> 5;
    this.bits[w] = (this.bits[w] as number) & ~(1 << (n & 31));
    this.size--;
    return true;
  }
}

export class RestoreContext {
  readonly log = new ProblemLog();
  /** A reader per volume of `volumes`, in the same order (once open()ed). */
  readonly readers: RandomReader[] = [];
  /** Per reader: the tar headers followed in what the restore read (restore-by-walk.ts skips the walk when they say all). */
  readonly trackers: TarTracker[] = [];
  /** Readers by volume number (a bare .xtar whose name carries no number counts as volume 1). */
  readonly byVolume = new Map<number, RandomReader>();
  /** Readers of earlier backups' volumes (an incremental's unchanged files), opened when first needed. */
  readonly refReaders = new Map<string, RandomReader>();

  /** How hard to try sectors the drive fails (unpack/verify --sector-size, --read-retries), and those given up. */
  reads = new ReadSession();

  files = 0;
  bytes = 0;
  /** Bytes of the archives in blobs that failed their checks. */
  damagedBytes = 0;
  /** Archives of which not even the first header could be read. */
  unreadableArchives = 0;
  /** Volumes whose tar walk was skipped: the catalog restore accounted for them whole (restore-by-walk.ts). */
  walkSkipped = 0;

  /** The structure record chosen (null: none found), and what it says before restoring. */
  structureSrc: RecordSource | null = null;
  /** No structure record because every copy found fails its checksum (not because there is none). */
  structureDamaged = false;
  readonly facts: StructureFacts;
  totalBytes = 0;
  readonly isSparse = (path: string): boolean => this.facts.sparse.has(path);

  /** Blobs restored by a catalog, by blobKey (the tar walk skips them). */
  readonly restored = new BlobKeySet();
  /** The offsets in `restored`, per volume, tallied: compared with each volume's TarTracker (restore-by-walk.ts). */
  readonly restoredTally = new Map<number, OffsetTally>();
  /**
   * Files whose owner, mode and times were set as they were written (from the structure record), by
   * the number of their line there: the structure's pass leaves them be. A bit per line, not a path
   * per file — held from the first file written to the structure's pass (200,000 paths: ~40 MiB of RSS).
   */
  readonly metaDone = new LineSet();
  /**
   * Record paths of files written again without metadata while metaDone may hold an earlier write of
   * them (a path named twice): the structure's pass sets theirs after all. Empty on the good path.
   */
  readonly metaRedo = new Set<string>();
  /** Volumes whose catalog read whole: the tar walk restores nothing more from them. */
  readonly trusted = new Set<number>();
  /** Files pack could not read (listed as skipped in a catalog). */
  readonly packSkipped = new Set<string>();
  /** Split files the tar walk found parts of, by path. */
  readonly splits = new Map<string, SplitFile>();
  /** Split files that cannot be restored, with why. */
  readonly incompleteSplits = new Map<string, string>();
  /** Volume numbers given, and those the manifest says exist but were not. */
  readonly present: ReadonlySet<number>;
  readonly missingVolumes: number[];

  constructor(
    readonly sink: Sink,
    readonly pool: ExtractPool,
    /** The target backup's volumes to read, in order. */
    readonly volumes: readonly VolumeSource[],
    /** Earlier backups' volumes given, by backup:volume. */
    readonly others: BackupChoice['others'],
    readonly filter: PathFilter,
    readonly catalogs: OwnCatalogs,
    facts: StructureFacts,
    /** How many volumes the backup has (from a manifest), or null. */
    readonly expected: number | null,
    readonly keepDamaged: boolean,
    readonly onProgress: ((p: Progress) => void) | undefined,
    /** Told each restored file's path (unpack -v); undefined costs nothing per file. */
    readonly onFile: ((path: string) => void) | undefined = undefined,
  ) {
    this.facts = facts;
    this.present = new Set(volumes.map((v) => v.volume).filter((n): n is number => n !== null));
    this.missingVolumes = expected === null ? [] : Array.from({ length: expected }, (_, i) => i + 1).filter((n) => !this.present.has(n));
  }

  /** Note the blob at `offset` of `volume` restored by a catalog (false: it was already). */
  addRestored(volume: number, offset: number): boolean {
    if (!this.restored.add(blobKey(volume, offset))) return false;
    let t = this.restoredTally.get(volume);
    if (t === undefined) this.restoredTally.set(volume, (t = new OffsetTally()));
    t.add(offset);
    return true;
  }

  /** Take back addRestored (a hinted blob that failed where its catalog said: the walk is to find it). */
  deleteRestored(volume: number, offset: number): void {
    if (this.restored.delete(blobKey(volume, offset))) this.restoredTally.get(volume)?.remove(offset);
  }

  /** Open a reader on each volume. */
  async open(): Promise<void> {
    for (const v of this.volumes) {
      const r = await RandomReader.open(v.archive, this.reads);
      const t = new TarTracker(r.size);
      // An archive in object storage, of which only some files are restored: only their blobs are
      // fetched (restore-by-walk.ts), so nothing follows the tar between them.
      if (!(r.isRemote && !this.filter.all)) r.track(t);
      this.trackers.push(t);
      this.readers.push(r);
    }
    this.volumes.forEach((v, i) => this.byVolume.set(v.volume ?? 1, this.readers[i] as RandomReader));
  }

  /** Stop the pool (after what it holds is written), then close every reader. */
  async close(): Promise<void> {
    await this.pool.close();
    for (const r of this.readers) await r.close();
    for (const r of this.refReaders.values()) await r.close();
  }
}
