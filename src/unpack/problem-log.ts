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
  /**
   * The problems of files left out because the volume holding them was not given, by backup and
   * volume number (null: the target backup; 'after': a volume after the newest given, which one
   * unknown): listed with the rest, and grouped here so that a volume can be named once with its count.
   */
  readonly onAbsentVolume = new Map<string, { backup: string | null; volume: number | 'after'; problems: Problem[] }>();

  /** `report` as a function of its own (for callbacks). */
  readonly add: ReportProblem = (path, reason, kind) => this.report(path, reason, kind);

  /** The place of a problem that may be found later (see report's `order`). */
  place(): number {
    return this.nextOrder++;
  }

  /** List a problem: next in order, or at a place taken earlier. */
  report(path: string, reason: string, kind: Problem['kind'], order = this.nextOrder++): Problem {
    const problem: Problem = { path, reason, kind };
    this.found.push({ order, problem });
    this.paths.add(path);
    return problem;
  }

  /** List a file as missing because `volume` (of the target backup, or of `backup`), which holds it, was not given (grouped by volume too). */
  reportOnAbsentVolume(path: string, reason: string, volume: number | 'after', backup: string | null = null): void {
    const problem = this.report(path, reason, 'missing');
    const key = `${backup ?? ''}:${volume}`;
    const group = this.onAbsentVolume.get(key);
    if (group === undefined) this.onAbsentVolume.set(key, { backup, volume, problems: [problem] });
    else group.problems.push(problem);
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
