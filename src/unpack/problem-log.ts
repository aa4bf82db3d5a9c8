/**
 * The problems a restore lists, in the order one thread would find them: a problem found later (by
 * a worker, or once the pool settles) takes the place its file had. Finding problems is the stages' job.
 */
import type { Problem } from '../errors.js';

export type { Problem };

export type ReportProblem = (path: string, reason: string, kind: Problem['kind']) => void;

export class ProblemLog {
  private readonly found: { order: number; problem: Problem }[] = [];
  private nextOrder = 0;
  private readonly paths = new Set<string>();

  /** `report` as a function of its own (for callbacks). */
  readonly add: ReportProblem = (path, reason, kind) => this.report(path, reason, kind);

  /** The place of a problem that may be found later (see report's `order`). */
  place(): number {
    return this.nextOrder++;
  }

  /** List a problem: next in order, or at a place taken earlier. */
  report(path: string, reason: string, kind: Problem['kind'], order = this.nextOrder++): void {
    this.found.push({ order, problem: { path, reason, kind } });
    this.paths.add(path);
  }

  /** Whether a problem was listed for this path. */
  has(path: string): boolean {
    return this.paths.has(path);
  }

  /** Every problem listed, in order. */
  problems(): Problem[] {
    return this.found.sort((a, b) => a.order - b.order).map((f) => f.problem);
  }
}
