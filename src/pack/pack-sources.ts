/**
 * Several sources in one run (`xtar pack A B C --out SET`): each source is its own backup in the set,
 * made by pack() one after another under the set's lock as separate runs would be, so each restores
 * alone (`unpack --source`). A source that fails (not there, unreadable) is an outcome of its own and
 * the others still run; an interruption or a usage error ends the whole run. With `chown`, what each
 * backup wrote is handed to that owner before the result is returned. After the folders, each
 * command of `commands` is a source too (`command:NAME`, its standard output the file NAME): one
 * that fails is that source's outcome, as a folder that is not there. `dryRunSources` is the same
 * run as `pack --dry-run`: each source's plan in turn, a command named and not run.
 */
import { resolve } from 'node:path';
import { EXIT_FATAL, EXIT_OK, EXIT_SOME_SKIPPED, InterruptedError, UsageError, XtarError } from '../errors.js';
import { chownWritten, type Owner } from '../set/chown.js';
import { checkCommandSpec, commandSourceId, dryRunCommand, packCommand, type CommandSpec } from './command-source.js';
import { dryRun, type DryExcluded, type DryItem, type DryRunResult } from './dry-run.js';
import { checkPackOptions } from './options.js';
import { pack, type PackOptions, type PackResult } from './pack.js';
import { withRemoteSet } from './remote-pack.js';

export interface PackSourcesOptions extends Omit<PackOptions, 'source'> {
  /** The folders (or files) to back up, each into a backup of its own, in this order. */
  sources: readonly string[];
  /** Commands whose standard output is a source each (`command:NAME`), packed after the folders (command-source.ts). */
  commands?: readonly CommandSpec[];
  /** Owner of everything the run writes in the set (src/set/chown.ts). */
  chown?: Owner;
  /** Called before each source is packed (a command's as `command:NAME`, its index counting on after the folders). */
  onSource?: (source: string, index: number) => void;
}

/** One source's end: its backup (or that nothing changed), or the error that stopped it. */
export type SourceOutcome = { source: string; result: PackResult; error?: undefined } | { source: string; error: unknown; result?: undefined };

export interface PackSourcesResult {
  set: string;
  outcomes: SourceOutcome[];
  started: Date;
  ended: Date;
  /** 0 every source packed with nothing skipped; 1 something skipped or changed, or some source failed; 2 every source failed (README "Exit status"). */
  status: number;
}

/** The problems of a packed source: files skipped and files that changed as they were read. */
export function problemCount(r: PackResult): number {
  return r.skipped.length + r.changed.length;
}

/** The exit status of a run of several sources (see PackSourcesResult.status). */
export function statusOf(outcomes: readonly SourceOutcome[]): number {
  const failed = outcomes.filter((o) => o.error !== undefined);
  if (outcomes.length > 0 && failed.length === outcomes.length) {
    // Every source failed: the run's status is its first error's (2, or 130 if interrupted).
    const e = failed[0]!.error;
    return e instanceof XtarError ? e.exitCode : EXIT_FATAL;
  }
  if (failed.length > 0) return EXIT_SOME_SKIPPED;
  return outcomes.some((o) => o.result !== undefined && problemCount(o.result) > 0) ? EXIT_SOME_SKIPPED : EXIT_OK;
}

export async function packSources(opts: PackSourcesOptions): Promise<PackSourcesResult> {
  checkPackOptions(opts);
  return withRemoteSet(opts, packAll);
}

async function packAll(opts: PackSourcesOptions): Promise<PackSourcesResult> {
  const commands = opts.commands ?? [];
  if (opts.sources.length === 0 && commands.length === 0) throw new UsageError('Name at least one folder to back up (or a `sources:` list in the config).');
  checkPackOptions(opts);
  for (const c of commands) checkCommandSpec(c);
  const started = new Date();
  const outcomes: SourceOutcome[] = [];
  const { sources, commands: _, chown, onSource, ...common } = opts;
  const all: (string | CommandSpec)[] = [...sources, ...commands];
  for (const [i, item] of all.entries()) {
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new InterruptedError('SIGINT');
    const source = typeof item === 'string' ? item : commandSourceId(item.name);
    onSource?.(source, i);
    try {
      const result = typeof item === 'string' ? await pack({ ...common, source }) : await packCommand(item, common);
      if (chown !== undefined) await chownAfter(result, chown);
      outcomes.push({ source, result });
    } catch (e) {
      // What ends every source alike ends the run: a wrong option, or the user's Ctrl-C.
      if (e instanceof UsageError || e instanceof InterruptedError) throw e;
      outcomes.push({ source, error: e });
    }
  }
  return { set: resolve(opts.out), outcomes, started, ended: new Date(), status: statusOf(outcomes) };
}

export interface DryRunSourcesOptions extends Omit<PackSourcesOptions, 'chown'> {
  /** Each change of the source being planned, and each path its selection leaves out (dryRun's). */
  onItem?: (i: DryItem) => void;
  onExcluded?: (x: DryExcluded) => void;
  /** Called once each source is planned (or failed), before the next begins. */
  onOutcome?: (o: DryOutcome, index: number) => void;
}

/** One source's plan, or the error that stopped it; `command` for a command's source (named, not run: its output is not known). */
export type DryOutcome = { source: string; result: DryRunResult; command?: CommandSpec; error?: undefined } | { source: string; error: unknown; result?: undefined; command?: CommandSpec };

export interface DryRunSourcesResult {
  outcomes: DryOutcome[];
  /** As a pack of the sources: 0 every source planned, 1 some failed, 2 every one did. */
  status: number;
}

/** `pack --dry-run` of every source in turn (the folders, then the commands): a source that fails is its own outcome, and the others are still planned. */
export async function dryRunSources(opts: DryRunSourcesOptions): Promise<DryRunSourcesResult> {
  checkPackOptions(opts);
  const { sources, commands = [], onSource, onItem = (): void => undefined, onExcluded, onOutcome, ...common } = opts;
  const outcomes: DryOutcome[] = [];
  for (const [i, item] of [...sources, ...commands].entries()) {
    const source = typeof item === 'string' ? item : commandSourceId(item.name);
    const command = typeof item === 'string' ? {} : { command: item };
    onSource?.(source, i);
    let o: DryOutcome;
    try {
      o = { source, ...command, result: typeof item === 'string' ? await dryRun({ ...common, source }, onItem, onExcluded) : await dryRunCommand(item, common) };
    } catch (e) {
      // What ends every source alike ends the run: a wrong option, or the user's Ctrl-C.
      if (e instanceof UsageError || e instanceof InterruptedError) throw e;
      o = { source, ...command, error: e };
    }
    outcomes.push(o);
    onOutcome?.(o, i);
  }
  const failed = outcomes.filter((o) => o.error !== undefined).length;
  return { outcomes, status: failed > 0 && failed === outcomes.length ? EXIT_FATAL : failed > 0 ? EXIT_SOME_SKIPPED : EXIT_OK };
}

/** --chown's pass over one backup; a failure says the backup itself was made. */
async function chownAfter(r: PackResult, owner: Owner): Promise<void> {
  try {
    await chownWritten(r.set, r.volumes.flatMap((v) => (v.iso === undefined ? [v.path] : [v.path, v.iso])), owner);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const made = r.nothingChanged ? 'no backup was needed' : `backup ${r.backupId} was made`;
    throw new XtarError(`${made}, but --chown ${owner.uid}${owner.gid === undefined ? '' : `:${owner.gid}`} failed (${err.code ?? err.message}${err.path ? `: ${err.path}` : ''})`, { code: err.code ?? 'ECHOWN', cause: e, ...(err.path ? { path: err.path } : {}) });
  }
}
