/**
 * The set's index: a SQLite database (SET/xtar-index.sqlite) recording every backup, its volumes and
 * every file version — path, size, mtime, mode, sha256, and which backup and volumes hold its bytes.
 * It is a cache of what the volumes' own records say (`xtar index rebuild` makes it again from them),
 * kept so that an incremental pack diffs the tree against the last backup in SQL, one file at a time,
 * with nothing in memory that grows with the tree.
 *
 * Tables: backups (one row per backup, `complete` once its volumes are in place), volumes, paths
 * (each path once), blobs (each stored blob once: holder backup, size, sha256, crc32, method, parts)
 * and files (one row per file per backup: its path, mtime, mode and blob). Every change is in a
 * transaction; a pack killed midway leaves an incomplete backup that the next writer removes.
 */
import Database from 'better-sqlite3';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { IndexError, XtarError } from '../errors.js';
import { sealedFolder } from '../set/encryption.js';
import type { BackupKind, BlobPart } from '../format/records.js';

export const INDEX_FILE = 'xtar-index.sqlite';

/** Whether the set folder holds an index file (a set copied back from discs has none). */
export async function hasIndex(set: string): Promise<boolean> {
  return stat(join(set, INDEX_FILE)).then(
    () => true,
    () => false,
  );
}
/**
 * Whether the set's index lives only in memory, made from its records at each run: an encrypted set
 * that holds no index file (docs/FORMAT.md, "Encrypted sets"; `pack --index-plain` keeps one). For a
 * pack, `pack` says what it asks: a set it makes encrypted (`encrypting`) is one already, and
 * `indexPlain` keeps (or starts) the index on disk.
 */
export async function indexInMemoryOnly(set: string, pack: { encrypting?: boolean; indexPlain?: boolean } = {}): Promise<boolean> {
  if (pack.indexPlain === true || (await hasIndex(set))) return false;
  return pack.encrypting === true || (await sealedFolder(set)) !== null;
}

const SCHEMA_VERSION = 1;

export interface BackupRow {
  /** Row id (internal). */
  rowid: number;
  id: string;
  /** Position among the set's complete backups, 1 = oldest (null while incomplete). */
  seq: number | null;
  kind: BackupKind;
  base: string | null;
  source: string;
  root: string;
  created: string;
  complete: boolean;
  volumes: number;
  /** Files (and their bytes) in the tree as backed up. */
  files: number;
  bytes: number;
  /** Files (and bytes) whose blobs this backup's volumes hold. */
  storedFiles: number;
  storedBytes: number;
  skippedFiles: number;
  /** sha256 of the structure record's entry lines: equal means no file, folder or link changed. */
  structureSha256: string;
}

/** A file as a backup recorded it, with the blob that holds its bytes (null: pack could not read it). */
export interface FileVersion {
  path: string;
  size: number;
  mtimeNs: bigint;
  mode: number;
  blob: BlobRow | null;
  skipped: string | null;
}

export interface BlobRow {
  id: number;
  /** The backup whose volumes hold it, and the path it was stored under. */
  holder: string;
  holderPath: string;
  size: number;
  sha256: string;
  crc32: number;
  method: 'deflate' | 'store';
  parts: BlobPart[];
}

export interface NewBackup {
  id: string;
  kind: BackupKind;
  base: string | null;
  source: string;
  root: string;
  created: string;
}

/** What a finished backup adds to its row. */
export interface BackupSummary extends Pick<BackupRow, 'files' | 'bytes' | 'storedFiles' | 'storedBytes' | 'skippedFiles' | 'structureSha256'> {
  /** The volumes the backup was written on, and those of them recorded here (all, unless rebuilt from an incomplete set). */
  volumeCount: number;
  volumes: { number: number; bytes: number; files: number }[];
}

export interface VolumeRef {
  backup: string;
  volume: number;
}

interface RawBackup {
  rowid: number;
  id: string;
  seq: number | null;
  kind: string;
  base: string | null;
  source: string;
  root: string;
  created: string;
  complete: number;
  volumes: number;
  files: number;
  bytes: number;
  stored_files: number;
  stored_bytes: number;
  skipped_files: number;
  structure_sha256: string;
}

interface RawVersion {
  path: string;
  size: number;
  /** Nanoseconds as decimal text (SQLite's 64-bit integer, read without BigInt for every column). */
  mtime: string;
  mode: number;
  skipped: string | null;
  blob: number | null;
  holder: string | null;
  holder_path: string | null;
  sha256: string | null;
  crc32: number | null;
  method: string | null;
  parts: string | null;
}

function toBackup(r: RawBackup): BackupRow {
  return {
    rowid: r.rowid,
    id: r.id,
    seq: r.seq,
    kind: r.kind as BackupKind,
    base: r.base,
    source: r.source,
    root: r.root,
    created: r.created,
    complete: r.complete === 1,
    volumes: r.volumes,
    files: r.files,
    bytes: r.bytes,
    storedFiles: r.stored_files,
    storedBytes: r.stored_bytes,
    skippedFiles: r.skipped_files,
    structureSha256: r.structure_sha256,
  };
}

function toVersion(r: RawVersion): FileVersion {
  const blob: BlobRow | null =
    r.blob === null
      ? null
      : {
          id: Number(r.blob),
          holder: r.holder as string,
          holderPath: r.holder_path as string,
          size: Number(r.size),
          sha256: r.sha256 as string,
          crc32: Number(r.crc32),
          method: r.method as 'deflate' | 'store',
          parts: JSON.parse(r.parts as string) as BlobPart[],
        };
  return { path: r.path, size: Number(r.size), mtimeNs: BigInt(r.mtime), mode: Number(r.mode), blob, skipped: r.skipped };
}

const VERSION_COLUMNS = `p.path AS path, f.size AS size, CAST(f.mtime AS TEXT) AS mtime, f.mode AS mode, f.skipped AS skipped, f.blob AS blob,
  hb.id AS holder, hp.path AS holder_path, b.sha256 AS sha256, b.crc32 AS crc32, b.method AS method, b.parts AS parts`;
const VERSION_JOINS = `JOIN paths p ON p.id = f.path_id
  LEFT JOIN blobs b ON b.id = f.blob LEFT JOIN backups hb ON hb.rowid = b.holder LEFT JOIN paths hp ON hp.id = b.path_id`;

/**
 * Rows are written in transactions of this many, each row as it comes: an open transaction, not
 * rows held in memory until a batch is full (thousands of queued rows outlived the main thread's
 * young-generation collections, and V8 grew that generation for them).
 */
const BATCH = 5000;

/**
 * Stored files whose blob and file rows wait to be written together, one statement per table for
 * this many: on 50,000 tiny files 0.25 s of the main thread's CPU instead of 0.38 s with a statement
 * per row. They are written before anything else touches the database (see `db`).
 */
const STORED_ROWS = 32;

interface PendingStored {
  blob: number;
  pathId: number;
  size: number;
  mtimeNs: bigint;
  mode: number;
  sha256: string;
  crc32: number;
  method: string;
  parts: string;
  first: number;
  last: number;
}

const BLOB_COLUMNS = 'id, holder, path_id, sha256, crc32, method, parts, first_volume, last_volume';
const FILE_COLUMNS = 'backup, path_id, size, mtime, mode, blob, skipped';
const rowsOf = (marks: string, n: number): string => Array<string>(n).fill(marks).join(', ');

export class SetIndex {
  /** The database itself; `db` is the way in for everything but the stored files' rows. */
  private readonly raw: Database.Database;
  private readonly pathId: Database.Statement;
  private readonly insertPath: Database.Statement;
  private readonly lookupStmt: Database.Statement;
  private readonly byTimeStmt: Database.Statement;
  private readonly insertBlob: Database.Statement;
  private readonly insertFile: Database.Statement;
  private readonly insertBlobs: Database.Statement;
  private readonly insertFiles: Database.Statement;
  private readonly insertBlobWithId: Database.Statement;
  private readonly maxBlobId: Database.Statement;
  /** Rows written in the open batch's transaction, or waiting in `pending` for it (0: none open). */
  private inBatch = 0;
  /** Stored files of the open batch not written yet, with the blob ids they will get. */
  private pending: PendingStored[] = [];
  /** The id the next pending blob gets (SQLite's own choice, max(id) + 1, taken when the first waits). */
  private nextBlob = 0;
  /** The backup the pending rows belong to. */
  private pendingBackup = -1;
  private readonly blobArgs: unknown[] = [];
  private readonly fileArgs: unknown[] = [];

  /** The database, once every pending row is written: whatever reads or writes next sees them. */
  private get db(): Database.Database {
    if (this.pending.length > 0) this.writePending();
    return this.raw;
  }

  private constructor(readonly file: string) {
    try {
      this.raw = new Database(file);
      // A rollback journal, not WAL: new rows go to the database once (WAL writes each page twice,
      // which made the index's writes 1.11× the set on SMALL instead of 1.09×); as crash-safe.
      this.db.pragma('journal_mode = DELETE');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      // better-sqlite3 builds SQLite with a 16 MB page cache; it filled as the index grew and took a
      // full pack of 200,000 files to 254 MiB peak RSS. Pack reads and writes the index in path
      // order (mostly appends and neighbouring lookups), so a small cache costs little; the
      // operating system caches the file anyway.
      this.db.pragma('cache_size = -4096');
      this.migrate();
    } catch (e) {
      if (e instanceof XtarError) throw e;
      throw new IndexError(`Cannot open the set's index ${file}: ${(e as Error).message}; \`xtar index rebuild ${dirname(file)}\` makes it again from the volumes.`, e);
    }
    this.pathId = this.db.prepare('SELECT id FROM paths WHERE path = ?').pluck();
    this.insertPath = this.db.prepare('INSERT INTO paths(path) VALUES (?)');
    this.lookupStmt = this.db.prepare(`SELECT ${VERSION_COLUMNS} FROM files f ${VERSION_JOINS} WHERE f.backup = ? AND p.path = ?`);
    this.byTimeStmt = this.db
      .prepare(
        `SELECT ${VERSION_COLUMNS} FROM file_times t JOIN files f ON f.backup = t.backup AND f.path_id = t.path_id ${VERSION_JOINS}
         WHERE t.backup = ? AND t.size = ? AND t.mtime = ? ORDER BY p.path LIMIT 1`,
      );
    this.insertBlob = this.db.prepare('INSERT INTO blobs(holder, path_id, sha256, crc32, method, parts, first_volume, last_volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.insertFile = this.db.prepare('INSERT OR REPLACE INTO files(backup, path_id, size, mtime, mode, blob, skipped) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.insertBlobs = this.db.prepare(`INSERT INTO blobs(${BLOB_COLUMNS}) VALUES ${rowsOf('(?, ?, ?, ?, ?, ?, ?, ?, ?)', STORED_ROWS)}`);
    this.insertFiles = this.db.prepare(`INSERT OR REPLACE INTO files(${FILE_COLUMNS}) VALUES ${rowsOf('(?, ?, ?, ?, ?, ?, NULL)', STORED_ROWS)}`);
    this.insertBlobWithId = this.db.prepare(`INSERT INTO blobs(${BLOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.maxBlobId = this.db.prepare('SELECT max(id) FROM blobs').pluck();
  }

  /** Open (creating when missing) the index of a set folder. */
  static open(set: string): SetIndex {
    return new SetIndex(join(set, INDEX_FILE));
  }

  /** Open (creating when missing) an index file by its path. */
  static openFile(file: string): SetIndex {
    return new SetIndex(file);
  }

  close(): void {
    this.db.close();
  }

  /**
   * SQLite's own check of the file (`PRAGMA quick_check`): null when sound, else what it found.
   * About 0.12 s on an index of 200,000 files (67 MB), against the minutes a pack of them takes.
   */
  quickCheck(): string | null {
    const rows = this.db.pragma('quick_check', { simple: false }) as { quick_check: string }[];
    const found = rows.map((r) => r.quick_check).filter((m) => m !== 'ok');
    return found.length === 0 ? null : found.slice(0, 3).join('; ');
  }

  /** Undo a transaction a failed write left open (SQLite may or may not have rolled it back). */
  rollback(): void {
    this.pending.length = 0;
    this.inBatch = 0;
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  private migrate(): void {
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS backups (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        seq INTEGER UNIQUE,
        kind TEXT NOT NULL,
        base TEXT,
        source TEXT NOT NULL,
        root TEXT NOT NULL,
        created TEXT NOT NULL,
        complete INTEGER NOT NULL DEFAULT 0,
        volumes INTEGER NOT NULL DEFAULT 0,
        files INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        stored_files INTEGER NOT NULL DEFAULT 0,
        stored_bytes INTEGER NOT NULL DEFAULT 0,
        skipped_files INTEGER NOT NULL DEFAULT 0,
        structure_sha256 TEXT NOT NULL DEFAULT ''
      );
      CREATE TABLE IF NOT EXISTS volumes (
        backup INTEGER NOT NULL REFERENCES backups(rowid) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        files INTEGER NOT NULL,
        PRIMARY KEY (backup, number)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS paths (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
      CREATE TABLE IF NOT EXISTS blobs (
        id INTEGER PRIMARY KEY,
        holder INTEGER NOT NULL REFERENCES backups(rowid) ON DELETE CASCADE,
        path_id INTEGER NOT NULL REFERENCES paths(id),
        sha256 TEXT NOT NULL,
        crc32 INTEGER NOT NULL,
        method TEXT NOT NULL,
        parts TEXT NOT NULL,
        first_volume INTEGER NOT NULL,
        last_volume INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS blobs_by_holder ON blobs(holder, first_volume, last_volume);
      CREATE TABLE IF NOT EXISTS files (
        backup INTEGER NOT NULL REFERENCES backups(rowid) ON DELETE CASCADE,
        path_id INTEGER NOT NULL REFERENCES paths(id),
        size INTEGER NOT NULL,
        mtime INTEGER NOT NULL,
        mode INTEGER NOT NULL,
        blob INTEGER REFERENCES blobs(id),
        skipped TEXT,
        PRIMARY KEY (backup, path_id)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS files_by_blob ON files(blob);
      -- Rename candidates by size and mtime. Filled once per backup, in key order, when the backup is
      -- complete: an index on files kept up row by row would rewrite pages all over it on every
      -- batch (on 100,000 files, 1.39x the set's bytes written instead of about 1.05x).
      CREATE TABLE IF NOT EXISTS file_times (
        backup INTEGER NOT NULL REFERENCES backups(rowid) ON DELETE CASCADE,
        size INTEGER NOT NULL,
        mtime INTEGER NOT NULL,
        path_id INTEGER NOT NULL,
        PRIMARY KEY (backup, size, mtime, path_id)
      ) WITHOUT ROWID;
    `);
    // Indexes made by the first version of this schema (the same day): move to file_times.
    if (this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'files_by_time'").get() !== undefined) {
      this.db.transaction(() => {
        for (const rowid of this.db.prepare('SELECT DISTINCT backup FROM files').pluck().all() as number[]) this.fillFileTimes(rowid);
        this.db.exec('DROP INDEX files_by_time');
      })();
    }
    const v = this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get() as string | undefined;
    if (v === undefined) this.db.prepare("INSERT INTO meta(key, value) VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
    else if (Number(v) > SCHEMA_VERSION) throw new IndexError(`The set's index ${this.file} was made by a newer xtar (schema ${v}); upgrade xtar, or rebuild the index.`);
  }

  // ---- backups ------------------------------------------------------------------------------------

  /** The set's complete backups, oldest first. */
  backups(): BackupRow[] {
    return (this.db.prepare('SELECT * FROM backups WHERE complete = 1 ORDER BY seq').all() as RawBackup[]).map(toBackup);
  }

  /** Every backup id the index holds, complete or not. */
  ids(): Set<string> {
    return new Set(this.db.prepare('SELECT id FROM backups').pluck().all() as string[]);
  }

  incomplete(): BackupRow[] {
    return (this.db.prepare('SELECT * FROM backups WHERE complete = 0 ORDER BY id').all() as RawBackup[]).map(toBackup);
  }

  backup(id: string): BackupRow | null {
    const r = this.db.prepare('SELECT * FROM backups WHERE id = ?').get(id) as RawBackup | undefined;
    return r ? toBackup(r) : null;
  }

  /** The newest complete backup of a source (of a given kind), or null. */
  latest(source: string, kind?: BackupKind): BackupRow | null {
    const r = (kind === undefined
      ? this.db.prepare('SELECT * FROM backups WHERE complete = 1 AND source = ? ORDER BY seq DESC LIMIT 1').get(source)
      : this.db.prepare('SELECT * FROM backups WHERE complete = 1 AND source = ? AND kind = ? ORDER BY seq DESC LIMIT 1').get(source, kind)) as RawBackup | undefined;
    return r ? toBackup(r) : null;
  }

  /** How many complete backups of a source came after the given one. */
  countAfter(source: string, seq: number): number {
    return this.db.prepare('SELECT count(*) FROM backups WHERE complete = 1 AND source = ? AND seq > ?').pluck().get(source, seq) as number;
  }

  /** Record a backup being written (incomplete until completeBackup). */
  beginBackup(b: NewBackup): number {
    const r = this.db
      .prepare('INSERT INTO backups(id, kind, base, source, root, created) VALUES (?, ?, ?, ?, ?, ?)')
      .run(b.id, b.kind, b.base, b.source, b.root, b.created);
    return Number(r.lastInsertRowid);
  }

  /** Mark a backup complete (its volumes are in place): one transaction. */
  completeBackup(rowid: number, s: BackupSummary): void {
    this.flush();
    this.db.transaction(() => {
      const seq = ((this.db.prepare('SELECT max(seq) FROM backups').pluck().get() as number | null) ?? 0) + 1;
      this.db
        .prepare(
          'UPDATE backups SET complete = 1, seq = ?, volumes = ?, files = ?, bytes = ?, stored_files = ?, stored_bytes = ?, skipped_files = ?, structure_sha256 = ? WHERE rowid = ?',
        )
        .run(seq, s.volumeCount, s.files, s.bytes, s.storedFiles, s.storedBytes, s.skippedFiles, s.structureSha256, rowid);
      this.fillFileTimes(rowid);
      const vol = this.db.prepare('INSERT OR REPLACE INTO volumes(backup, number, bytes, files) VALUES (?, ?, ?, ?)');
      for (const v of s.volumes) vol.run(rowid, v.number, v.bytes, v.files);
    })();
  }

  /** A backup's rename candidates (its files with a blob), added in key order: appended, not scattered. */
  private fillFileTimes(rowid: number): void {
    this.db.prepare('INSERT OR IGNORE INTO file_times SELECT backup, size, mtime, path_id FROM files WHERE backup = ? AND blob IS NOT NULL ORDER BY size, mtime, path_id').run(rowid);
  }

  /** Forget a backup and everything recorded for it (an incomplete one, or before a rebuild of it). */
  dropBackup(rowid: number): void {
    if (this.inBatch > 0) {
      // The open batch's rows are the failed pack's own: they go with it.
      this.pending.length = 0;
      this.inBatch = 0;
      this.db.exec('ROLLBACK');
    }
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM file_times WHERE backup = ?').run(rowid);
      this.db.prepare('DELETE FROM files WHERE backup = ?').run(rowid);
      this.db.prepare('DELETE FROM blobs WHERE holder = ?').run(rowid);
      this.db.prepare('DELETE FROM volumes WHERE backup = ?').run(rowid);
      this.db.prepare('DELETE FROM backups WHERE rowid = ?').run(rowid);
    })();
  }

  // ---- files --------------------------------------------------------------------------------------

  /** A path's version in a backup, or null. */
  lookup(backup: number, path: string): FileVersion | null {
    if (this.pending.length > 0) this.writePending();
    const r = this.lookupStmt.get(backup, path) as RawVersion | undefined;
    return r ? toVersion(r) : null;
  }

  /** The id of the blob a backup stored for a path, or null. */
  blobOf(holderId: string, path: string): number | null {
    this.flush();
    const id = this.db
      .prepare('SELECT b.id FROM blobs b JOIN paths p ON p.id = b.path_id JOIN backups h ON h.rowid = b.holder WHERE h.id = ? AND p.path = ?')
      .pluck()
      .get(holderId, path) as number | undefined;
    return id ?? null;
  }

  /** A stored file of a backup with this size and mtime (a rename candidate), or null. */
  findByTime(backup: number, size: number, mtimeNs: bigint): FileVersion | null {
    if (this.pending.length > 0) this.writePending();
    const r = this.byTimeStmt.get(backup, size, mtimeNs) as RawVersion | undefined;
    return r ? toVersion(r) : null;
  }

  /** Every file of a backup, in path order (streamed). */
  *files(backup: number): Generator<FileVersion> {
    const stmt = this.db.prepare(`SELECT ${VERSION_COLUMNS} FROM files f ${VERSION_JOINS} WHERE f.backup = ? ORDER BY p.path`);
    for (const r of stmt.iterate(backup) as IterableIterator<RawVersion>) yield toVersion(r);
  }

  private idOf(path: string): number {
    const id = this.pathId.get(path) as number | undefined;
    return id ?? Number(this.insertPath.run(path).lastInsertRowid);
  }

  /** Record a blob a backup stored (in the open batch); returns its id. */
  addBlob(holder: number, path: string, b: Omit<BlobRow, 'id' | 'holder' | 'holderPath' | 'size'>): number {
    const volumes = b.parts.map((p) => p.volume);
    return this.batched(() => Number(this.insertBlob.run(holder, this.idOf(path), b.sha256, b.crc32, b.method, JSON.stringify(b.parts), Math.min(...volumes), Math.max(...volumes)).lastInsertRowid));
  }

  /**
   * Record a file a backup stored and its blob (in the open batch), its path looked up once for
   * both rows; returns the blob's id. In a batch of this index's own, the two rows wait in `pending`
   * and are written STORED_ROWS files at a time; inside a caller's transaction they are written now.
   */
  addStored(backup: number, f: { path: string; size: number; mtimeNs: bigint; mode: number }, b: Omit<BlobRow, 'id' | 'holder' | 'holderPath' | 'size'>): number {
    if (this.inBatch === 0) {
      if (this.raw.inTransaction) return this.writeStored(backup, f, b);
      this.db.exec('BEGIN');
    }
    const pathId = this.idOf(f.path);
    const { first, last } = volumeSpan(b.parts);
    if (this.pending.length > 0 && this.pendingBackup !== backup) this.writePending();
    if (this.pending.length === 0) this.nextBlob = ((this.maxBlobId.get() as number | null) ?? 0) + 1;
    this.pendingBackup = backup;
    const blob = this.nextBlob++;
    this.pending.push({ blob, pathId, size: f.size, mtimeNs: f.mtimeNs, mode: f.mode, sha256: b.sha256, crc32: b.crc32, method: b.method, parts: JSON.stringify(b.parts), first, last });
    if (this.pending.length >= STORED_ROWS) this.writePending();
    this.inBatch += 2;
    if (this.inBatch >= BATCH) this.flush();
    return blob;
  }

  /** A stored file's two rows, written now. */
  private writeStored(backup: number, f: { path: string; size: number; mtimeNs: bigint; mode: number }, b: Omit<BlobRow, 'id' | 'holder' | 'holderPath' | 'size'>): number {
    const pathId = this.idOf(f.path);
    const { first, last } = volumeSpan(b.parts);
    const blob = Number(this.insertBlob.run(backup, pathId, b.sha256, b.crc32, b.method, JSON.stringify(b.parts), first, last).lastInsertRowid);
    this.insertFile.run(backup, pathId, f.size, f.mtimeNs, f.mode, blob, null);
    return blob;
  }

  /** Write the pending stored files' rows: STORED_ROWS at a time by one statement per table, the rest one by one. */
  private writePending(): void {
    const backup = this.pendingBackup;
    const rows = this.pending;
    this.pending = [];
    let i = 0;
    for (; i + STORED_ROWS <= rows.length; i += STORED_ROWS) {
      const bArgs = this.blobArgs;
      const fArgs = this.fileArgs;
      bArgs.length = 0;
      fArgs.length = 0;
      for (let j = i; j < i + STORED_ROWS; j++) {
        const r = rows[j] as PendingStored;
        bArgs.push(r.blob, backup, r.pathId, r.sha256, r.crc32, r.method, r.parts, r.first, r.last);
        fArgs.push(backup, r.pathId, r.size, r.mtimeNs, r.mode, r.blob);
      }
      this.insertBlobs.run(bArgs);
      this.insertFiles.run(fArgs);
    }
    for (; i < rows.length; i++) {
      const r = rows[i] as PendingStored;
      this.insertBlobWithId.run(r.blob, backup, r.pathId, r.sha256, r.crc32, r.method, r.parts, r.first, r.last);
      this.insertFile.run(backup, r.pathId, r.size, r.mtimeNs, r.mode, r.blob, null);
    }
  }

  /** Record a file of a backup with the id of the blob holding its bytes (null: pack could not read it). */
  addFile(backup: number, f: { path: string; size: number; mtimeNs: bigint; mode: number; skipped?: string }, blob: number | null): void {
    this.batched(() => this.insertFile.run(backup, this.idOf(f.path), f.size, f.mtimeNs, f.mode, blob, f.skipped ?? null));
  }

  /**
   * Write a row in the open batch (opening one if none is: inside a caller's own transaction the row
   * is simply part of it), committed once BATCH rows are in it.
   */
  private batched<T>(write: () => T): T {
    // Its statements do not go through `db`: the stored files waiting go first.
    if (this.pending.length > 0) this.writePending();
    if (this.inBatch === 0) {
      if (this.db.inTransaction) return write();
      this.db.exec('BEGIN');
    }
    this.inBatch++;
    const r = write();
    if (this.inBatch >= BATCH) this.flush();
    return r;
  }

  /** Commit the open batch, if any. */
  flush(): void {
    if (this.inBatch === 0) return;
    this.inBatch = 0;
    this.db.exec('COMMIT');
  }

  /** Files of `base` whose path is not in `backup` (deleted since), path order, streamed. */
  *deleted(base: number, backup: number): Generator<string> {
    this.flush();
    const stmt = this.db
      .prepare('SELECT p.path FROM files f JOIN paths p ON p.id = f.path_id WHERE f.backup = ? AND NOT EXISTS (SELECT 1 FROM files g WHERE g.backup = ? AND g.path_id = f.path_id) ORDER BY p.path')
      .pluck();
    yield* stmt.iterate(base, backup) as IterableIterator<string>;
  }

  countDeleted(base: number, backup: number): number {
    this.flush();
    return this.db
      .prepare('SELECT count(*) FROM files f WHERE f.backup = ? AND NOT EXISTS (SELECT 1 FROM files g WHERE g.backup = ? AND g.path_id = f.path_id)')
      .pluck()
      .get(base, backup) as number;
  }

  // ---- dry runs ----------------------------------------------------------------------------------

  /** Start noting the paths a dry run saw (a temporary table, not memory). */
  beginSeen(): void {
    this.db.exec('CREATE TEMP TABLE IF NOT EXISTS seen (path TEXT PRIMARY KEY) WITHOUT ROWID; DELETE FROM seen;');
  }

  private seenStmt: Database.Statement | null = null;

  seen(path: string): void {
    const stmt = (this.seenStmt ??= this.db.prepare('INSERT OR IGNORE INTO temp.seen(path) VALUES (?)'));
    this.batched(() => stmt.run(path));
  }

  /** Files of `base` not seen (deleted since), path order, streamed. */
  *unseen(base: number): Generator<string> {
    this.flush();
    const stmt = this.db
      .prepare('SELECT p.path FROM files f JOIN paths p ON p.id = f.path_id WHERE f.backup = ? AND NOT EXISTS (SELECT 1 FROM temp.seen s WHERE s.path = p.path) ORDER BY p.path')
      .pluck();
    yield* stmt.iterate(base) as IterableIterator<string>;
  }

  // ---- cyclic -------------------------------------------------------------------------------------

  /**
   * Choose the files of `base` a cyclic backup refreshes: `share` files whose stored copy is oldest,
   * plus every file stored `maxAge` or more backups before `nextSeq`. Kept in a temporary table.
   */
  chooseRefresh(base: number, share: number, nextSeq: number, maxAge: number): number {
    this.db.exec('CREATE TEMP TABLE IF NOT EXISTS refresh (path TEXT PRIMARY KEY) WITHOUT ROWID; DELETE FROM refresh;');
    const sel = `SELECT p.path FROM files f JOIN paths p ON p.id = f.path_id JOIN blobs b ON b.id = f.blob JOIN backups h ON h.rowid = b.holder WHERE f.backup = ?`;
    this.db.prepare(`INSERT OR IGNORE INTO refresh(path) SELECT path FROM (${sel} ORDER BY h.seq, p.path LIMIT ?)`).run(base, share);
    this.db.prepare(`INSERT OR IGNORE INTO refresh(path) ${sel} AND h.seq <= ?`).run(base, nextSeq - maxAge);
    return this.db.prepare('SELECT count(*) FROM refresh').pluck().get() as number;
  }

  isRefresh(path: string): boolean {
    return this.db.prepare('SELECT 1 FROM temp.refresh WHERE path = ?').pluck().get(path) !== undefined;
  }

  // ---- comparing ---------------------------------------------------------------------------------

  /**
   * Everything the index knows, without its internal ids, in a fixed order: two indexes that give the
   * same answers dump the same (a rebuilt one against the original, in tests).
   */
  dump(): { backups: Omit<BackupRow, 'rowid'>[]; volumes: Record<string, { number: number; bytes: number; files: number }[]>; files: Record<string, unknown[]> } {
    const backups = this.backups();
    const volumes: Record<string, { number: number; bytes: number; files: number }[]> = {};
    const files: Record<string, unknown[]> = {};
    for (const b of backups) {
      volumes[b.id] = this.volumesOf(b.rowid);
      files[b.id] = [...this.files(b.rowid)].map((f) => ({ ...f, mtimeNs: String(f.mtimeNs), blob: f.blob === null ? null : { ...f.blob, id: undefined } }));
    }
    return { backups: backups.map(({ rowid: _rowid, ...rest }) => rest), volumes, files };
  }

  // ---- volumes ------------------------------------------------------------------------------------

  /** A volume deleted from the set (prune): no longer counted, so it is never named again. The backup's files stay recorded. */
  forgetVolume(backupId: string, number: number): void {
    this.db.prepare('DELETE FROM volumes WHERE backup = (SELECT rowid FROM backups WHERE id = ?) AND number = ?').run(backupId, number);
  }

  volumesOf(rowid: number): { number: number; bytes: number; files: number }[] {
    return this.db.prepare('SELECT number, bytes, files FROM volumes WHERE backup = ? ORDER BY number').all(rowid) as { number: number; bytes: number; files: number }[];
  }

  /**
   * The volumes needed to restore the state of each of `keep` (backup row ids): every volume holding
   * a blob one of them uses, and the last volume of each (it carries the whole catalog).
   */
  neededVolumes(keep: readonly number[]): VolumeRef[] {
    if (keep.length === 0) return [];
    const marks = keep.map(() => '?').join(', ');
    const rows = this.db
      .prepare(
        `SELECT DISTINCT h.id AS backup, v.number AS volume FROM (SELECT DISTINCT blob FROM files WHERE backup IN (${marks}) AND blob IS NOT NULL) u
           JOIN blobs b ON b.id = u.blob JOIN backups h ON h.rowid = b.holder
           JOIN volumes v ON v.backup = b.holder AND v.number BETWEEN b.first_volume AND b.last_volume
         UNION
         SELECT h.id, h.volumes FROM backups h WHERE h.rowid IN (${marks})
         ORDER BY 1, 2`,
      )
      .all(...keep, ...keep) as VolumeRef[];
    return rows;
  }
}

/** The first and last volume a blob's parts lie on (the index's volume_first and volume_last). */
function volumeSpan(parts: readonly { volume: number }[]): { first: number; last: number } {
  let first = Infinity;
  let last = -Infinity;
  for (const p of parts) {
    first = Math.min(first, p.volume);
    last = Math.max(last, p.volume);
  }
  return { first, last };
}
