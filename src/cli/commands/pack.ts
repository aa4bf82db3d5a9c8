/**
 * `xtar pack SRC… --out SET`: parse nothing, call packSources() (one backup per source), render each
 * result; then, for an unattended run, the report by mail and the line of --log.
 */
import { resolve } from 'node:path';
import { InterruptedError, UsageError } from '../../errors.js';
import type { MailSettings } from '../../config/mail-settings.js';
import type { BackupKind } from '../../format/records.js';
import type { DryExcluded, DryItem, DryRunResult } from '../../pack/dry-run.js';
import type { PackOptions, PackResult } from '../../pack/pack.js';
import { dryRunSources, packSources, type PackSourcesResult } from '../../pack/pack-sources.js';
import { commandSourceId, shellWords, type CommandSpec } from '../../pack/command-source.js';
import { parseOwner } from '../../set/chown.js';
import { isUrl } from '../../store/s3-url.js';
import type { SelectionOptions } from '../../scan/select.js';
import { humanBytes, printJson, printNotes, printProblems, progressBar, type Io } from '../output/render.js';
import { describeFailure, statusFor } from '../output/exit.js';
import { errorJson, JSON_VERSION, reportProblems, type PackJson, type PackSourcesJson } from '../output/json.js';

export interface PackArgs {
  /** The folders to back up, each into a backup of its own. */
  sources: string[];
  /** Commands whose standard output is a source each (`command:NAME`), after the folders. */
  commands?: CommandSpec[];
  out: string;
  jobs?: number | undefined;
  level: number;
  /** What to leave out (src/scan/select.ts), --exclude included. */
  select: SelectionOptions;
  json: boolean;
  quiet: boolean;
  volumeSize?: number | undefined;
  par2?: number | undefined;
  /** S3 storage class of the archives, for an s3:// set. */
  storageClass?: string;
  changedSinceNs?: bigint | undefined;
  iso?: boolean;
  mode?: BackupKind | undefined;
  fullEvery?: number;
  fullAfterMs?: number;
  split?: number;
  checksum?: boolean;
  /** Bundle small files, this many at most to a bundle (--bundle, --bundle-files). */
  bundle?: number;
  dryRun?: boolean;
  /** Print each stored file's path on stdout (tar -v). */
  verbose?: boolean;
  /** `UID[:GID]`: the owner of what the run writes (--chown). */
  chown?: string;
  /** Append one line per run to this file (--log). */
  log?: string;
  /** Send the run's summary (the config's `mail:` block). */
  mail?: MailSettings | null;
  /** Encryption (cli/keys.ts packEncryption): what to make, how to open the set's key, --index-plain. */
  encrypt?: PackOptions['encrypt'];
  keys?: PackOptions['keys'];
  indexPlain?: boolean;
}

export async function runPack(a: PackArgs, io: Io): Promise<number> {
  const owner = a.chown === undefined ? undefined : parseOwner(a.chown);
  // A bar per source: the one of the source before is stopped (cleared) when the next starts.
  let bar = progressBar(!a.quiet && !a.json, 'pack');
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => ac.abort(new InterruptedError(sig));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // With --json the notes also go into the object (`notes`; each source's its own); with --json --quiet only there.
  // Every source's name, the commands' as `command:NAME` after the folders (as packSources runs them).
  const names = sourceNames(a);
  const notesBy: string[][] = names.map(() => []);
  let current = 0;
  const noteLines = !(a.json && a.quiet);
  const started = new Date();
  let result: PackSourcesResult | undefined;
  try {
    const options: PackOptions = {
      ...packOptionsOf(a, a.sources[0] ?? '', ac.signal, (p) => {
        if (p.phase === 'pack') bar.update(p.bytes, p.totalBytes, p.files);
      }),
      onNote: (line) => {
        if (a.json) notesBy[current]?.push(line);
        if (noteLines) io.stderr.write(`xtar: ${line}\n`);
      },
      ...(a.verbose ? { onStored: (path: string) => io.stdout.write(`${path}\n`) } : {}),
    };
    if (a.dryRun) return await runDryRuns(options, a, io, notesBy, (i) => (current = i));
    const { source: _, ...common } = options;
    const onSource = (_source: string, i: number): void => {
      if (i > 0) {
        bar.stop();
        bar = progressBar(!a.quiet && !a.json, 'pack');
      }
      current = i;
    };
    result = await packSources({ ...common, sources: a.sources, ...(a.commands === undefined ? {} : { commands: a.commands }), ...(owner === undefined ? {} : { chown: owner }), onSource });
    bar.stop();
  } catch (e) {
    bar.stop();
    // An error that ended the whole run (interrupted, say) is still reported and logged; a usage error only said.
    if (!(e instanceof UsageError)) await reportRun(a, io, { error: e, started });
    throw e;
  } finally {
    bar.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const several = names.length > 1;
  const json = new SourcesJson(io, several);
  for (const [i, o] of result.outcomes.entries()) {
    if (several && !a.quiet && !a.json) io.stdout.write(`source ${o.source}:\n`);
    if (o.result !== undefined) renderPack(o.result, a, io, notesBy[i] ?? [], json.emitFor(o.source));
    else if (several) failSource(o.source, o.error, a, io, json);
  }
  if (a.json && several) json.print(result.set, result.status);
  await reportRun(a, io, { result });
  // One source that failed fails the run as before (its error, exit 2); of several, the status says (PackSourcesResult.status).
  const only = result.outcomes.length === 1 ? result.outcomes[0] : undefined;
  if (only?.error !== undefined) throw only.error;
  return result.status;
}

/**
 * After the run: the report by mail (when the config asks for one) and the line of --log. Neither can
 * change the exit status or the backup: a mail that cannot be sent is a warning on stderr and in the log.
 */
async function reportRun(a: PackArgs, io: Io, run: { result: PackSourcesResult } | { error: unknown; started: Date }): Promise<void> {
  if ((a.mail ?? null) === null && a.log === undefined) return;
  const { summarize, summarizeFailure } = await import('../../report/summary.js');
  const { reportRun: report } = await import('../../report/report-run.js');
  const summary = 'result' in run ? summarize(run.result) : summarizeFailure(isUrl(a.out) ? a.out : resolve(a.out), sourceNames(a), run.started, run.error, describeFailure(run.error).status);
  const { warnings } = await report(summary, { mail: a.mail ?? null, ...(a.log === undefined ? {} : { log: a.log }) });
  for (const w of warnings) io.stderr.write(`xtar: ${w}\n`);
}

/** The run's sources by name: the folders, then each command as `command:NAME`. */
function sourceNames(a: PackArgs): string[] {
  return [...a.sources, ...(a.commands ?? []).map((c) => commandSourceId(c.name))];
}

/** The library's options from the command's arguments. */
function packOptionsOf(a: PackArgs, source: string, signal: AbortSignal, onProgress: NonNullable<PackOptions['onProgress']>): PackOptions {
  return {
    source,
    out: a.out,
    level: a.level,
    select: a.select,
    signal,
    ...(a.volumeSize === undefined ? {} : { volumeSize: a.volumeSize }),
    ...(a.par2 === undefined ? {} : { par2: a.par2 }),
    ...(a.storageClass === undefined ? {} : { storageClass: a.storageClass }),
    ...(a.changedSinceNs === undefined ? {} : { changedSinceNs: a.changedSinceNs }),
    ...(a.iso ? { iso: true } : {}),
    ...(a.jobs === undefined ? {} : { jobs: a.jobs }),
    ...(a.mode === undefined ? {} : { mode: a.mode }),
    ...(a.fullEvery === undefined ? {} : { fullEvery: a.fullEvery }),
    ...(a.fullAfterMs === undefined ? {} : { fullAfterMs: a.fullAfterMs }),
    ...(a.split === undefined ? {} : { split: a.split }),
    ...(a.checksum ? { checksum: true } : {}),
    ...(a.bundle === undefined ? {} : { bundle: a.bundle }),
    ...(a.encrypt === undefined ? {} : { encrypt: a.encrypt }),
    ...(a.keys === undefined ? {} : { keys: a.keys }),
    ...(a.indexPlain ? { indexPlain: true } : {}),
    onProgress,
  };
}

/** What a pack made (or that it made nothing), as text or one JSON object; the problems on stderr; the exit status. */
function renderPack(r: PackResult, a: PackArgs, io: Io, notes: string[], emit: (body: PackJson) => void): number {
  if (r.nothingChanged) {
    if (a.json) emit({ dryRun: false, nothingChanged: true, set: r.set, backup: null, base: r.base, files: r.files, bytes: r.bytes, skipped: r.skipped, ignored: r.ignored, notes });
    else if (!a.quiet) io.stdout.write(`nothing changed since backup ${r.base}: no backup made\n`);
    // Files that still cannot be read (as in that backup) are still reported.
    reportProblems(io, a, r.skipped.length, () => printProblems(io, r.skipped));
    if (!(a.json && a.quiet)) printNotes(io, r.ignored);
    return statusFor(r.skipped.length);
  }
  const problems = [...r.skipped, ...r.changed.map((path) => ({ path, reason: 'file changed as we read it' }))];
  reportProblems(io, a, problems.length, () => printProblems(io, problems));
  if (!(a.json && a.quiet)) printNotes(io, r.ignored);
  if (a.json) {
    const { set, backupId: backup, kind, base, reason, storedFiles, storedBytes, unchangedFiles, renamedFiles, deletedFiles, root, files, dirs, entries, bytes, archiveBytes, bytesWritten, volumes, skipped, changed, ignored } = r;
    emit({ dryRun: false, nothingChanged: false, set, backup, kind, base, reason, storedFiles, storedBytes, unchangedFiles, renamedFiles, deletedFiles, root, files, dirs, entries, bytes, archiveBytes, bytesWritten, volumes, skipped, changed, ignored, notes });
  } else if (!a.quiet) {
    const ratio = r.bytes > 0 ? ` (${((100 * r.archiveBytes) / r.bytes).toFixed(1)}% of ${humanBytes(r.bytes)})` : '';
    if (r.kind === 'full') io.stdout.write(`full backup ${r.backupId} (${r.reason})\n`);
    else {
      io.stdout.write(`${r.kind} backup ${r.backupId} on ${r.base} (${r.reason}): ${r.storedFiles} file(s) stored, ${r.unchangedFiles} unchanged`);
      io.stdout.write(`${r.renamedFiles ? ` (${r.renamedFiles} renamed)` : ''}, ${r.deletedFiles} deleted\n`);
    }
    // The folders are what goes on the disc: each also carries the structure record and the catalog of every file so far.
    const folders = r.volumes.reduce((n, v) => n + v.bytes, 0);
    io.stdout.write(`packed ${r.files} files, ${r.dirs} folders into ${r.volumes.length} volume(s): archive ${humanBytes(r.archiveBytes)}${ratio}, folders ${humanBytes(folders)} (records ${humanBytes(r.recordBytes)})\n`);
    for (const v of r.volumes) io.stdout.write(`  ${v.path}\n${v.iso === undefined ? '' : `  ${v.iso}\n`}`);
  }
  return statusFor(problems.length);
}

/** `pack --dry-run` of each source in turn (dryRunSources): each change shown as it is found, then the source's plan; of several, one that fails is named. */
async function runDryRuns(options: PackOptions, a: PackArgs, io: Io, notesBy: string[][], onSource: (i: number) => void): Promise<number> {
  const several = sourceNames(a).length > 1;
  const json = new SourcesJson(io, several);
  let items: DryItem[] = [];
  let excluded: DryExcluded[] = [];
  const { source: _, ...common } = options;
  const r = await dryRunSources({
    ...common,
    sources: a.sources,
    ...(a.commands === undefined ? {} : { commands: a.commands }),
    onSource: (source, i) => {
      onSource(i);
      items = [];
      excluded = [];
      if (several && !a.quiet && !a.json) io.stdout.write(`source ${source}:\n`);
    },
    onItem: (i) => {
      if (a.json) items.push(i);
      else if (!a.quiet) io.stdout.write(`${i.change.padEnd(9)} ${i.path}${i.from !== undefined ? ` (was ${i.from})` : ''}\n`);
    },
    // What the selection leaves out, with the rule and its source; a folder once.
    onExcluded: (x) => {
      if (a.json) excluded.push(x);
      else if (!a.quiet) io.stdout.write(`excluded  ${x.path} (${x.rule})\n`);
    },
    onOutcome: (o, i) => {
      if (o.result === undefined) {
        if (several) failSource(o.source, o.error, a, io, json);
      } else if (o.command !== undefined) renderCommandPlan(o.command, o.source, o.result, a, io, notesBy[i] ?? [], json.emitFor(o.source));
      else renderDryRun(o.result, a, io, notesBy[i] ?? [], items, excluded, json.emitFor(o.source));
    },
  });
  // One source that failed fails the run with its error (exit 2), as a pack of it would.
  const only = r.outcomes.length === 1 ? r.outcomes[0] : undefined;
  if (only?.error !== undefined) throw only.error;
  if (a.json && several) json.print(resolve(a.out), r.status);
  return r.status;
}

/** A command's source in a dry run: named with the backup its output would go into, not run (its output, and so whether it changed, is not known). */
function renderCommandPlan(command: CommandSpec, source: string, r: DryRunResult, a: PackArgs, io: Io, notes: string[], emit: (body: PackJson) => void): void {
  const line = `would run ${shellWords(command.argv)} and store its output as ${command.name} in ${r.kind === 'incremental' ? 'an' : 'a'} ${r.kind} backup${r.base ? ` on ${r.base}` : ''} (${r.reason}), unless it is the same as in the newest backup of ${source} (not run in a dry run)`;
  if (a.json) emit({ dryRun: true, nothingChanged: false, set: resolve(a.out), ...r, items: [], excluded: [], notes: [...notes, line] });
  else if (!a.quiet) io.stdout.write(`${line}\n`);
}

/** One of several sources failed: its sentence on stderr, and its entry in the JSON. */
function failSource(source: string, error: unknown, a: PackArgs, io: Io, json: SourcesJson): void {
  if (!(a.json && a.quiet)) io.stderr.write(`xtar: ${source}: ${describeFailure(error).message}\n`);
  json.failed(source, error);
}

/**
 * With --json, one object for the run: one source's `pack` object as it always was, or for several
 * a `pack-sources` object holding each source's `pack` object or its error (docs/json/pack-sources.schema.json).
 */
class SourcesJson {
  private readonly entries: PackSourcesJson['sources'] = [];
  constructor(
    private readonly io: Io,
    private readonly several: boolean,
  ) {}
  emitFor(source: string): (body: PackJson) => void {
    return (body) => {
      if (!this.several) printJson(this.io, 'pack', body);
      else this.entries.push({ source, pack: { xtar: 'pack', jsonVersion: JSON_VERSION, ...body }, error: null });
    };
  }
  failed(source: string, error: unknown): void {
    this.entries.push({ source, pack: null, error: errorJson('pack', error).error });
  }
  print(set: string, status: number): void {
    printJson(this.io, 'pack-sources', { set, status, sources: this.entries });
  }
}

/** `pack --dry-run` of a folder: its plan (its changes were shown as found), or one JSON object with them. */
function renderDryRun(r: DryRunResult, a: PackArgs, io: Io, notes: string[], items: DryItem[], excluded: DryExcluded[], emit: (body: PackJson) => void): void {
  if (!(a.json && a.quiet)) printNotes(io, r.ignored);
  if (a.json) emit({ dryRun: true, nothingChanged: false, set: resolve(a.out), ...r, items, excluded, notes });
  else if (!a.quiet) {
    io.stdout.write(`would make ${r.kind === "incremental" ? "an" : "a"} ${r.kind} backup${r.base ? ` on ${r.base}` : ''} (${r.reason}): store ${r.storedFiles} of ${r.files} files (${humanBytes(r.storedBytes)})`);
    io.stdout.write(`, ${r.renamedFiles} renamed, ${r.metadataFiles} with new metadata only, ${r.deletedFiles} deleted\n`);
  }
}
