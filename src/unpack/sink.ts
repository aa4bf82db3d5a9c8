/**
 * Where a restore's files go: a WriteSink writes them under a Destination and applies the structure
 * record there; a VerifySink writes nothing, checking every blob and reading the record through.
 * Reading and checking the blobs is the stages' (and extract.ts's) job.
 */
import { entryProblem } from '../errors.js';
import type { Destination } from '../dest/destination.js';
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
  /** Once every file is done: apply the structure record from `src` (its result), or only read it through (null). */
  finishStructure(ctx: RestoreContext, src: RecordSource): Promise<ApplyResult | null>;
}

export class WriteSink implements Sink {
  readonly root: string;

  constructor(readonly dest: Destination) {
    this.root = dest.root;
  }

  async makeDirs(path: readonly string[], files: FileMetaSink, log: ProblemLog): Promise<void> {
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

  /** Nothing to make: no await per file. */
  makeDirs(_path: readonly string[], _files: FileMetaSink, _log: ProblemLog): undefined {
    return undefined;
  }

  async finishStructure(ctx: RestoreContext, src: RecordSource): Promise<null> {
    await checkStructureRecord(ctx, src);
    return null;
  }
}
