/**
 * Where a restore's files go: a WriteSink writes them under a Destination and applies the structure
 * record there; a VerifySink writes nothing, checking every blob and reading the record through; a
 * DryRunSink checks as a VerifySink does and lists what unpack would write, replace or keep.
 * Reading and checking the blobs is the stages' (and extract.ts's) job.
 */
import { entryProblem, UnsafePathError } from '../errors.js';
import type { Destination } from '../dest/destination.js';
import { lstatOrNull } from '../dest/file-meta.js';
import type { ApplyResult, FileMetaSink } from './apply-structure.js';
import type { RestoreContext } from './context.js';
import type { ProblemLog } from './problem-log.js';
import type { RecordSource } from '../set/read-records.js';
import { applyStructureRecord, checkStructureRecord } from './restore-structure.js';

export interface Sink {
  /** Where blobs become files; null: each is only checked. */
  readonly dest: Destination | null;
  /** The folder restored into, as the result names it. */
  readonly root: string;
  /**
   * Make the folder at `path` (a catalog's, before a file goes in it), listing what is refused: a
   * promise to await, or undefined when there is nothing to do (no await per file then).
   */
  makeDirs(path: readonly string[], files: FileMetaSink, log: ProblemLog): Promise<void> | undefined;
  /** A dry run's listing of what would be written (null: none, files are written or only checked). */
  readonly dryRun: DryRunSink | null;
  /** Once every file is done: apply the structure record from `src` (its result), or only read it through (null). */
  finishStructure(ctx: RestoreContext, src: RecordSource): Promise<ApplyResult | null>;
}

export class WriteSink implements Sink {
  readonly root: string;
  readonly dryRun = null;

  constructor(readonly dest: Destination) {
    this.root = dest.root;
  }

  makeDirs(path: readonly string[], files: FileMetaSink, log: ProblemLog): Promise<void> | undefined {
    // A folder this run made or checked already: nothing to wait for, nothing to do (no await per file).
    if (this.dest.knowsDir(path)) return undefined;
    return this.makeNewDirs(path, files, log);
  }

  private async makeNewDirs(path: readonly string[], files: FileMetaSink, log: ProblemLog): Promise<void> {
    await files.clearWayForDir(path);
    try {
      this.dest.ensureDir(path);
    } catch (e) {
      const p = entryProblem(path.join('/'), e, 'create the folder');
      log.report(p.path, p.reason, p.kind);
    }
  }

  finishStructure(ctx: RestoreContext, src: RecordSource): Promise<ApplyResult> {
    return applyStructureRecord(ctx, src, this.dest);
  }
}

export class VerifySink implements Sink {
  readonly dest = null;

  /** `root`: only named in the result; nothing is written there (or anywhere). */
  constructor(readonly root: string) {}

  get dryRun(): DryRunSink | null {
    return null;
  }

  /** Nothing to make: no await per file. */
  makeDirs(_path: readonly string[], _files: FileMetaSink, _log: ProblemLog): undefined {
    return undefined;
  }

  async finishStructure(ctx: RestoreContext, src: RecordSource): Promise<null> {
    await checkStructureRecord(ctx, src);
    return null;
  }
}

/** What a dry run found: record paths that would be written new, would replace a file there, or would be kept (the policy). */
export interface DryRunListing {
  write: string[];
  replace: string[];
  keep: string[];
}

/**
 * A dry run of unpack: every blob is checked, as by a VerifySink, and nothing is written; each file
 * that would be written is listed by what is at its path now (looked at through `dest`, never made).
 */
export class DryRunSink extends VerifySink {
  readonly listing: DryRunListing = { write: [], replace: [], keep: [] };

  constructor(readonly target: Destination) {
    super(target.root);
  }

  override get dryRun(): DryRunSink {
    return this;
  }

  /** What writing the file at `components`, dated `mtimeSec` by the archive, would do to what is there. */
  verdict(components: readonly string[], mtimeSec: number): keyof DryRunListing {
    const abs = this.target.pathOf(components);
    const st = lstatOrNull(abs);
    if (st === null) return 'write';
    if (st.isDirectory()) throw new UnsafePathError(`Refused ${components.join('/')}: a folder of that name is in the way.`, components.join('/'));
    return st.mtimeMs / 1000 >= this.target.keepIf(mtimeSec) ? 'keep' : 'replace';
  }

  /** A file checked whole: list it. */
  add(path: string, verdict: keyof DryRunListing): void {
    this.listing[verdict].push(path);
  }
}
