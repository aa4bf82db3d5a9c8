/**
 * The lookahead between the structure record and the volumes: entries read back from the record
 * become queued items (folder enter/exit, small files already handed to the pool, large files,
 * references to an earlier backup's copy), up to a bound of bytes and items. Writes nothing.
 */
import { decodeStructureEntry, decodeTrailer, type StructureEntry } from '../format/records.js';
import { sourcePathOf } from '../scan/scan.js';
import type { FileVersion } from '../setindex/db.js';
import type { CompressJob } from '../worker/compress-worker.js';
import { SMALL_FILE_MAX, type Ticket } from './compress.js';
import type { PackContext } from './context.js';
import { decide } from './decide.js';
import { RecordLines } from './record-lines.js';

export const LOOKAHEAD_BYTES = 16 * 1024 * 1024;
export const LOOKAHEAD_ITEMS = 2048;

export type Item =
  | { kind: 'enter'; e: StructureEntry; name: string }
  | { kind: 'exit' }
  | { kind: 'small'; e: StructureEntry; name: string; job: CompressJob; ticket: Ticket; prev: FileVersion | null }
  | { kind: 'big'; e: StructureEntry; name: string; job: CompressJob; prev: FileVersion | null }
  | { kind: 'ref'; e: StructureEntry; v: FileVersion };

/** Small files handed to the pool while the scan ran, by path. */
export type EarlyJobs = Map<string, { job: CompressJob; ticket: Ticket }>;

export function mtimeSeconds(ns: bigint): number {
  const s = ns / 1_000_000_000n;
  return Number(ns < 0n && s * 1_000_000_000n !== ns ? s - 1n : s);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The record path of a node's folder ('' at the top). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The compression job of a file of `tree`; `prev`: the earlier copy it may prove the same as. */
export function fileJob(tree: string, e: StructureEntry, prev: FileVersion | null): CompressJob {
  return {
    abs: sourcePathOf(tree, e.path),
    name: baseName(e.path),
    size: e.size ?? 0,
    mtimeSec: mtimeSeconds(e.mtimeNs),
    mode: e.mode,
    ...(prev?.blob ? { sameAs: prev.blob.sha256 } : {}),
  };
}

export class Lookahead {
  private readonly queue: Item[] = [];
  private readonly dirStack: string[] = [];
  /** Bytes of the small files queued and not yet taken. */
  private queuedBytes = 0;
  private sourceDone = false;
  /** The record, when its entries were not kept in memory. */
  private readonly lines: RecordLines | null;
  private taken = 0;

  constructor(
    private readonly ctx: PackContext,
    structurePath: string,
    private readonly early: EarlyJobs,
    /** The record's entries as scanned (Structure.entries), or null to read them from the record. */
    private readonly entries: StructureEntry[] | null = null,
  ) {
    this.lines = entries === null ? new RecordLines(structurePath) : null;
  }

  /** Read the structure record's header: the entries follow. */
  start(): void {
    this.lines?.next();
  }

  /** Close the record (when the pack stops before its end; at its end it closes itself). */
  close(): void {
    this.lines?.close();
  }

  /** The next item, or undefined when every entry has been taken. */
  next(): Item | undefined {
    const item = this.queue.shift();
    if (item !== undefined && item.kind === 'small') this.queuedBytes -= item.job.size;
    return item;
  }

  private nextEntry(): StructureEntry | null {
    if (this.entries !== null) {
      if (this.taken >= this.entries.length) return null;
      const e = this.entries[this.taken] as StructureEntry;
      // Let the entries taken go (the queue holds what it still needs).
      this.entries[this.taken++] = undefined as unknown as StructureEntry;
      return e;
    }
    const line = (this.lines as RecordLines).next();
    if (line === null || decodeTrailer(line) !== null) return null;
    return decodeStructureEntry(line, 'structure record being written');
  }

  /** Queue entries until the lookahead holds its bound of bytes or items, or the record ends. */
  fill(): void {
    while (!this.sourceDone && this.queuedBytes < LOOKAHEAD_BYTES && this.queue.length < LOOKAHEAD_ITEMS) {
      const e = this.nextEntry();
      if (e === null) {
        this.sourceDone = true;
        while (this.dirStack.length > 0) {
          this.dirStack.pop();
          this.queue.push({ kind: 'exit' });
        }
      } else this.enqueue(e);
    }
  }

  private enqueue(e: StructureEntry): void {
    const { queue, dirStack } = this;
    while (dirStack.length > 0 && dirStack[dirStack.length - 1] !== parentOf(e.path)) {
      dirStack.pop();
      queue.push({ kind: 'exit' });
    }
    const name = baseName(e.path);
    if (e.type === 'dir') {
      dirStack.push(e.path);
      queue.push({ kind: 'enter', e, name });
    } else if (e.type === 'file') {
      const pre = this.early.get(e.path);
      if (pre !== undefined) {
        this.early.delete(e.path);
        queue.push({ kind: 'small', e, name, job: pre.job, ticket: pre.ticket, prev: null });
        this.queuedBytes += pre.job.size;
        return;
      }
      const ctx = this.ctx;
      const d = decide(ctx.index, ctx.plan, ctx.checksum, e);
      if (d.kind === 'ref') {
        queue.push({ kind: 'ref', e, v: d.v });
        return;
      }
      const prev = d.kind === 'check' ? d.v : null;
      const size = e.size ?? 0;
      const job = fileJob(ctx.tree, e, prev);
      if (size <= SMALL_FILE_MAX) {
        queue.push({ kind: 'small', e, name, job, ticket: ctx.pool.add(job), prev });
        this.queuedBytes += size;
      } else {
        ctx.pool.flush();
        queue.push({ kind: 'big', e, name, job, prev });
      }
    }
  }
}
