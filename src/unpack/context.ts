/**
 * The one object a restore's stages share: the volumes and their readers, the pool, the sink, the
 * problem log, the counts, and what one stage leaves for the next. The stages themselves live in
 * their own modules (restore-by-catalog.ts, restore-by-walk.ts, ...).
 */
import { TarTracker } from './tar-tracker.js';
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
  readonly restored = new Set<number | string>();
  /**
   * Files whose owner, mode and times were set as they were written (from the structure record, by
   * their record paths): the structure's pass leaves them be.
   */
  readonly metaDone = new Set<string>();
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

  /** Open a reader on each volume. */
  async open(): Promise<void> {
    for (const v of this.volumes) {
      const r = await RandomReader.open(v.archive, this.reads);
      const t = new TarTracker(r.size);
      r.track(t);
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
