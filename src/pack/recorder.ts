/**
 * Recording a backup in the set's index: its row, and a row per file — stored, referring to an
 * earlier backup's copy, or skipped — with the counts the summary reports. Writes no volume.
 */
import type { CatalogFile, StructureEntry } from '../format/records.js';
import type { Skipped } from '../scan/scan.js';
import type { BackupSummary, FileVersion, NewBackup, SetIndex } from '../setindex/db.js';

function fileRow(e: StructureEntry): { path: string; size: number; mtimeNs: bigint; mode: number } {
  return { path: e.path, size: e.size ?? 0, mtimeNs: e.mtimeNs, mode: e.mode };
}

export class IndexRecorder {
  storedFiles = 0;
  storedBytes = 0;
  unchangedFiles = 0;
  renamedFiles = 0;
  skippedFiles = 0;
  /** The base's paths of the files renamed (or copied) since. */
  private readonly renamedFrom = new Set<string>();
  /** Files pack could not read, in the order met. */
  readonly skipped: Skipped[] = [];
  /** The index row of the backup being written (-1: none yet, or done): dropped if the pack fails. */
  private row = -1;

  constructor(private readonly index: SetIndex) {}

  get backupRow(): number {
    return this.row;
  }

  begin(b: NewBackup): void {
    this.row = this.index.beginBackup(b);
  }

  /** A file whose bytes this backup stored, where `line` says. */
  stored(e: StructureEntry, line: CatalogFile, size: number): void {
    this.index.addStored(this.row, fileRow(e), { sha256: line.sha256, crc32: line.crc32, method: line.method, parts: line.parts });
    this.storedFiles++;
    this.storedBytes += size;
  }

  /**
   * A file whose bytes `v`'s blob holds, `v` being the base backup's version it matched. It was
   * renamed (or copied) since the base when that version stood under another path — not when the
   * blob merely keeps the name it was first stored under (the reference line's `as`), which every
   * later backup would count again.
   */
  referenced(e: StructureEntry, v: FileVersion): void {
    this.index.addFile(this.row, fileRow(e), (v.blob as NonNullable<FileVersion['blob']>).id);
    this.unchangedFiles++;
    if (v.path !== e.path) {
      this.renamedFiles++;
      this.renamedFrom.add(v.path);
    }
  }

  /** Of the base's paths that backup `row` lacks, those renamed to a path it has: moved, not deleted. */
  renamedAway(row: number): number {
    let n = 0;
    for (const path of this.renamedFrom) if (this.index.lookup(row, path) === null) n++;
    return n;
  }

  /** A file pack could not read. */
  skip(e: StructureEntry, reason: string): void {
    this.skipped.push({ path: e.path, reason });
    this.skippedFiles++;
    this.index.addFile(this.row, { ...fileRow(e), skipped: reason }, null);
  }

  /** The backup is written: its summary completes its row. */
  complete(s: Omit<BackupSummary, 'storedFiles' | 'storedBytes' | 'skippedFiles'>): void {
    this.index.completeBackup(this.row, { ...s, storedFiles: this.storedFiles, storedBytes: this.storedBytes, skippedFiles: this.skippedFiles });
    this.row = -1;
  }

  /** The row is no longer this recorder's to complete or drop (its volumes are in place: recover.ts imports it). */
  forget(): void {
    this.row = -1;
  }

  /** Remove the backup's row and its files' rows, if any (the pack failed, or made no backup). */
  drop(): void {
    if (this.row >= 0) this.index.dropBackup(this.row);
    this.row = -1;
  }
}
