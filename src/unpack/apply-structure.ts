/**
 * Applying the structure record to a tree under --dest: makes empty folders, then sets owners (as
 * root), modes and times — folders last, deepest first, so a read-only folder still gets its
 * contents; regular files' metadata goes to the worker pool when there is one, except for the files
 * whose writer set it already (unpack passes their lines over: restore-structure.ts). Used by unpack after
 * the data, and by expand-structure after a by-hand restore. Never follows a symlink on the way to a
 * path. Symlinks, hard links, FIFOs and devices are made in make-nodes.ts. What the Destination's
 * policy kept in place (--keep-old-files, --keep-newer-files) is left as it is, metadata and all.
 */
import { entryErrorMessage, entryProblem, isFatalIoError, type ProblemKind as AnyProblemKind } from '../errors.js';
import type { StructureEntry } from '../format/records.js';
import { KeptFileError, type Destination } from '../dest/destination.js';
import { lstatOrNull, setFileMeta, setMetaAt, type FileMeta, type FileMetaFound } from '../dest/file-meta.js';
import { fileMetaOf } from './structure-cursor.js';
import { makeNode, type NodeContext } from './make-nodes.js';

/** The problems applying a structure can meet. */
export type ProblemKind = Extract<AnyProblemKind, 'missing' | 'refused' | 'failed'>;

export type Report = (path: string, reason: string, kind: ProblemKind) => void;

export interface ApplyOptions {
  /** Set owners (only possible as root; otherwise owners are skipped quietly). */
  owners: boolean;
  report: Report;
  /** Paths whose absence is already explained (e.g. a damaged file already reported): not reported again. */
  expectedMissing?: (path: string) => boolean;
  /**
   * Where regular files get their metadata: worker threads (unpack's extraction pool) while this
   * thread reads on. Without it, on this thread, entry by entry.
   */
  files?: FileMetaSink;
  /**
   * A report function for a problem the sink finds later, keeping the place of the entry applied
   * now (so problems are listed in the order one thread would find them). Default: `report`.
   */
  reportLater?: () => Report;
}

/** Sets regular files' metadata, maybe later and on other threads (see ApplyOptions.files). */
export interface FileMetaSink {
  /**
   * Set the metadata of the file at `abs` (the checked path of `components`); `settled` is told what
   * was found there, or the error, once known. A second file at a queued path waits for the first.
   */
  setFileMeta(components: readonly string[], abs: string, meta: FileMeta, settled: (r: FileMetaFound | { error: unknown }) => void): Promise<void>;
  /** Before this thread makes the folder at `components`: wait for the queued files it could meet. */
  clearWayForDir(components: readonly string[]): Promise<void>;
  /** Before this thread replaces what is at `components`: wait for the queued files it could meet. */
  clearWayForFile(components: readonly string[]): Promise<void>;
  /** Every queued file is done, and `settled` told, when this returns. */
  settle(): Promise<void>;
}

/** Folders whose metadata waits (see StructureApplier.closing) at most: then the files queued inside them are settled first. */
const CLOSING_DIRS = 1024;

export interface ApplyResult {
  dirs: number;
  files: number;
  symlinks: number;
  hardlinks: number;
  fifos: number;
  devices: number;
}

interface OpenDir {
  path: string;
  abs: string;
  e: StructureEntry;
}

export function applyStructure(entries: AsyncIterable<StructureEntry>, dest: Destination, opts: ApplyOptions): Promise<ApplyResult> {
  return new StructureApplier(dest, opts).run(entries);
}

/** One application of a structure record: its counts, the open folders, and those waiting to be closed. */
class StructureApplier implements NodeContext {
  readonly result: ApplyResult = { dirs: 0, files: 0, symlinks: 0, hardlinks: 0, fifos: 0, devices: 0 };
  /** Folders entered and not yet left, outermost first. */
  private readonly stack: OpenDir[] = [];
  /**
   * Folders left, deepest first, whose metadata is still to be set: after the files queued inside
   * them (a read-only or unsearchable folder would bar them), so the sink is settled first.
   */
  private closing: OpenDir[] = [];

  constructor(
    readonly dest: Destination,
    readonly opts: ApplyOptions,
  ) {}

  async run(entries: AsyncIterable<StructureEntry>): Promise<ApplyResult> {
    for await (const e of entries) {
      this.dest.stopIfInterrupted();
      this.leaveDirsAbove(e.path);
      if (this.closing.length >= CLOSING_DIRS) await this.closeWaiting();
      try {
        await this.one(e);
      } catch (err) {
        this.reportError(e.path, err, this.opts.report);
      }
    }
    while (this.stack.length > 0) this.closing.push(this.stack.pop() as OpenDir);
    await this.closeWaiting();
    return this.result;
  }

  /** Leaving folders: everything inside them is done (or queued), so their own metadata comes next. */
  private leaveDirsAbove(path: string): void {
    const stack = this.stack;
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as OpenDir;
      if (path.startsWith(`${top.path}/`)) break;
      this.closing.push(stack.pop() as OpenDir);
    }
  }

  /** Apply one entry. Runs once per file on the thread that limits unpack: nothing per file beyond what a file needs. */
  private async one(e: StructureEntry): Promise<void> {
    const parts = e.path.split('/');
    const files = this.opts.files;
    if (e.type === 'dir') {
      await files?.clearWayForDir(parts);
      this.enterDir(e, parts);
      return;
    }
    await files?.clearWayForDir(parts.slice(0, -1));
    this.dest.ensureDir(parts.slice(0, -1));
    const abs = this.dest.pathOf(parts);
    if (e.type === 'file') {
      // A file kept by the policy (--keep-old-files, --keep-newer-files) keeps its own metadata too.
      if (this.dest.kept.size > 0 && this.dest.kept.has(e.path)) return;
      if (files === undefined) this.fileSettled(e, this.opts.report)(setFileMeta(abs, this.metaOf(e)));
      else await files.setFileMeta(parts, abs, this.metaOf(e), this.fileSettled(e, this.opts.reportLater?.() ?? this.opts.report));
      return;
    }
    // Anything else replaces what is at its path: not while a file there waits for its metadata.
    await files?.clearWayForFile(parts);
    if (this.dest.existing !== 'overwrite' && this.keepsNode(e, abs)) return;
    await makeNode(this, e, abs);
  }

  /** Whether the policy keeps what is at `abs` (not a folder) instead of the node `e`: listed, as for a file. */
  private keepsNode(e: StructureEntry, abs: string): boolean {
    const st = lstatOrNull(abs);
    if (st === null || st.isDirectory()) return false;
    const old = this.dest.existing === 'keep-old';
    if (!old && st.mtimeMs * 1e6 < Number(e.mtimeNs)) return false;
    this.dest.kept.add(e.path);
    if (old) this.opts.report(e.path, new KeptFileError(e.path, true).message, 'refused');
    return true;
  }

  /** Make (or check) the folder; its metadata waits until it is left (see `closing`). */
  private enterDir(e: StructureEntry, parts: readonly string[]): void {
    const abs = this.dest.ensureDir(parts);
    this.stack.push({ path: e.path, abs, e });
    this.result.dirs++;
  }

  /** Set the metadata of every folder waiting, once the files queued inside them are settled. */
  private async closeWaiting(): Promise<void> {
    await this.opts.files?.settle();
    const dirs = this.closing;
    this.closing = [];
    for (const d of dirs) this.closeDir(d);
  }

  private closeDir(d: OpenDir): void {
    try {
      this.setMeta(d.abs, d.e, false);
    } catch (err) {
      if (isFatalIoError(err)) throw err;
      this.opts.report(d.path, `cannot set metadata: ${entryErrorMessage(err)}`, 'failed');
    }
  }

  /** What to do once a regular file's metadata is set (or not): count it or list the problem. */
  private fileSettled(e: StructureEntry, report: Report): (r: FileMetaFound | { error: unknown }) => void {
    return (r) => {
      if (r === 'done') this.result.files++;
      else if (r === 'missing') {
        if (!this.opts.expectedMissing?.(e.path)) report(e.path, 'the file is missing', 'missing');
      } else if (r === 'not-a-file') report(e.path, 'something other than a regular file is in its place', 'refused');
      else this.reportError(e.path, r.error, report);
    };
  }

  /** An entry's error, listed as one thread's loop lists it; fatal I/O errors end the run. */
  private reportError(path: string, err: unknown, report: Report): void {
    const p = entryProblem(path, err, 'restore');
    report(p.path, p.reason, p.kind);
  }

  /** An entry's owner (as root), mode and time, as they are set. */
  private metaOf(e: StructureEntry): FileMeta {
    return fileMetaOf(e, this.opts.owners);
  }

  setMeta(abs: string, e: StructureEntry, isLink: boolean): void {
    setMetaAt(abs, this.metaOf(e), isLink);
  }
}
