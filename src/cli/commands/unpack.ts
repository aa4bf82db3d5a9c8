/** `xtar unpack` and `xtar expand-structure`: call the library, list problems, render the result. */
import { expandStructure } from '../../unpack/expand-structure.js';
import { unpack, type RestorePlan, type UnpackResult } from '../../unpack/unpack.js';
import { DestinationError, KeptFileError, UNPACK_STOPPED, type ExistingPolicy } from '../../dest/destination.js';
import { EXIT_FATAL, InterruptedError, type Problem } from '../../errors.js';
import type { DryRunListing } from '../../unpack/sink.js';
import type { Progress } from '../../unpack/context.js';
import type { ReadPolicy } from '../../unpack/random-reader.js';
import { verify } from '../../unpack/verify.js';
import { splitInputs } from '../../set/locate.js';
import type { OpenedSets } from '../../set/remote-set.js';
import { withSets } from './remote-args.js';
import { humanBytes, printJson, printProblems, progressBar, type Io } from '../output/render.js';
import { statusFor } from '../output/exit.js';
import { reportProblems } from '../output/json.js';

export interface UnpackArgs {
  inputs: string[];
  dest: string;
  json: boolean;
  quiet: boolean;
  keepDamaged?: boolean;
  backup?: string | undefined;
  source?: string | undefined;
  at?: Date | undefined;
  jobs?: number | undefined;
  existing?: ExistingPolicy;
  dryRun?: boolean;
  /** List each file's path on stdout as it is restored (tar -v). */
  verbose?: boolean;
  read?: ReadPolicy;
}

/** Which backup a restore reads, and the volumes it needs — before it starts, so the right discs are at hand. */
function describePlan(io: Io, p: RestorePlan): void {
  if (p.backup === null) return;
  const missing = p.volumes.filter((v) => v.path === null);
  const name = (v: RestorePlan['volumes'][number]): string => `${v.backup ?? ''}-vol${String(v.volume).padStart(3, '0')}`;
  io.stdout.write(`restoring backup ${p.backup} (${p.kind}); it needs ${p.volumes.length} volume(s): ${p.volumes.map(name).join(', ')}\n`);
  if (missing.length > 0) io.stdout.write(`not given (insert these discs for the rest): ${missing.map(name).join(', ')}\n`);
}

export async function runUnpack(a: UnpackArgs, io: Io): Promise<number> {
  return withSets(a.inputs, io, (inputs, io2, sets) => unpackIn({ ...a, inputs }, io2, sets));
}

/** What a restore from object storage fetched (records when the set was opened, then archive ranges), against what it restored. */
function fetchedJson(sets: OpenedSets, atOpen: number): { fetched?: { bytes: number; records: number; archives: number } } {
  if (sets.remotes.length === 0) return {};
  const bytes = sets.fetched();
  return { fetched: { bytes, records: atOpen, archives: bytes - atOpen } };
}

async function unpackIn(a: UnpackArgs, io: Io, sets: OpenedSets): Promise<number> {
  const atOpen = sets.fetched();
  // (With -v the file list is the progress.)
  const bar = progressBar(!a.quiet && !a.json && a.dryRun !== true && a.verbose !== true, 'unpack');
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => ac.abort(new InterruptedError(sig, UNPACK_STOPPED));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { inputs, paths } = await splitInputs(a.inputs);
    const r = await unpack({
      inputs,
      paths,
      dest: a.dest,
      keepDamaged: a.keepDamaged === true,
      ...(a.backup === undefined ? {} : { backup: a.backup }),
      ...(a.source === undefined ? {} : { source: a.source }),
      ...(a.at === undefined ? {} : { at: a.at }),
      ...(a.jobs === undefined ? {} : { jobs: a.jobs }),
      existing: a.existing ?? 'overwrite',
      ...(a.read === undefined ? {} : { read: a.read }),
      dryRun: a.dryRun === true,
      signal: ac.signal,
      ...(a.verbose === true && !a.json && a.dryRun !== true ? { onFile: (path: string) => io.stdout.write(`${path}\n`) } : {}),
      onPlan: (p) => {
        if (!a.quiet && !a.json) describePlan(io, p);
      },
      // No progress object per file when nothing shows it.
      ...(a.quiet || a.json || a.dryRun === true || a.verbose === true ? {} : { onProgress: (p: Progress) => bar.update(p.bytes, p.totalBytes, p.files) }),
    });
    bar.stop();
    const { shown, listed } = groupNotGiven(r, a.verbose === true);
    reportProblems(io, a, listed, () => {
      printProblems(io, shown);
      for (const g of r.notGiven) io.stderr.write(`xtar: ${g.problem.reason}\n`);
      printUnreadable(io, r);
      // Kept by --keep-newer-files: named, as GNU tar warns, but not a problem (--keep-old-files' are problems, above).
      if (a.existing === 'keep-newer') for (const k of r.kept) io.stderr.write(`xtar: ${k}: ${new KeptFileError(k, false).message}\n`);
    });
    // As GNU tar: each path or glob that matches nothing is named, and the run fails (2) once it has restored what did match.
    if (!(a.json && a.quiet)) for (const p of r.notFound) io.stderr.write(`xtar: ${p}: not found in ${r.plan.backup === null ? 'the archives given' : `backup ${r.plan.backup}`}\n`);
    if (r.dryRun !== undefined) renderDryRun(io, a, r.dryRun, r.dest, r.problems);
    else if (a.json) printJson(io, 'unpack', { dryRun: false, dest: r.dest, backup: r.plan.backup, kind: r.plan.kind, volumes: r.plan.volumes, files: r.files, bytes: r.bytes, structure: r.structure, kept: r.kept, notFound: r.notFound, problems: r.problems, ...unreadableJson(r), ...fetchedJson(sets, atOpen) });
    else if (!a.quiet) io.stdout.write(`restored ${r.files} files (${humanBytes(r.bytes)}) into ${r.dest}${r.kept.length ? `; kept ${r.kept.length} already there` : ''}${listed ? `; ${listed} problem(s) listed above` : ''}${r.notFound.length ? `; ${r.notFound.length} path(s) not found` : ''}\n`);
    const f = fetchedJson(sets, atOpen).fetched;
    if (f !== undefined && !a.quiet && !a.json && r.dryRun === undefined) {
      io.stdout.write(`fetched ${humanBytes(f.bytes)} from ${sets.remotes.map((x) => x.url).join(', ')} (records ${humanBytes(f.records)}, archive ranges ${humanBytes(f.archives)}) for ${humanBytes(r.bytes)} restored\n`);
    }
    return r.notFound.length > 0 ? EXIT_FATAL : statusFor(r.problems.length + r.unreadableSectors.length);
  } catch (e) {
    // The destination failed (full, ...): the files it cost are listed before the sentence that ends the run.
    // With --json they are in the error object instead (src/cli/output/json.ts).
    if (e instanceof DestinationError && !a.json) printProblems(io, e.problems);
    throw e;
  } finally {
    bar.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The sectors the drive could not read, one line per archive file, and the time spent retrying (nothing when every read succeeded). */
function printUnreadable(io: Io, r: UnpackResult): void {
  if (r.unreadableSectors.length === 0) return;
  const byFile = new Map<string, UnpackResult['unreadableSectors']>();
  for (const u of r.unreadableSectors) byFile.set(u.file, [...(byFile.get(u.file) ?? []), u]);
  for (const [file, ranges] of byFile) {
    const bytes = ranges.reduce((n, u) => n + u.length, 0);
    io.stderr.write(`xtar: ${file}: ${humanBytes(bytes)} unreadable (the drive failed these sectors): bytes ${ranges.map((u) => `${u.offset}–${u.offset + u.length - 1}`).join(', ')}\n`);
  }
  io.stderr.write(`xtar: ${r.retrySeconds.toFixed(1)} s spent retrying unreadable sectors\n`);
}

/** The JSON keys for unreadable sectors: present only when a read failed. */
function unreadableJson(r: UnpackResult): { unreadable?: UnpackResult['unreadableSectors']; retrySeconds?: number } {
  return r.unreadableSectors.length === 0 ? {} : { unreadable: r.unreadableSectors, retrySeconds: r.retrySeconds };
}

/** `unpack --dry-run`: each file that would be written, by what it would do; nothing was written. */
function renderDryRun(io: Io, a: UnpackArgs, d: DryRunListing, dest: string, problems: readonly Problem[]): void {
  if (a.json) {
    printJson(io, 'unpack', { dryRun: true, dest, ...d, problems });
    return;
  }
  if (a.quiet) return;
  const keptAs = a.existing === 'keep-old' ? 'refuse (already there)' : 'keep (already there, as new or newer)';
  for (const p of d.write) io.stdout.write(`write    ${p}\n`);
  for (const p of d.replace) io.stdout.write(`replace  ${p}\n`);
  for (const p of d.keep) io.stdout.write(`${keptAs}  ${p}\n`);
  io.stdout.write(`dry run: would write ${d.write.length} new file(s) and replace ${d.replace.length} in ${dest}${d.keep.length ? `, and leave ${d.keep.length} already there` : ''}; nothing was written\n`);
}

export interface ExpandArgs {
  input: string;
  dest: string;
  prune?: boolean;
  json: boolean;
  quiet: boolean;
  read?: ReadPolicy;
}

export async function runExpandStructure(a: ExpandArgs, io: Io): Promise<number> {
  const r = await expandStructure({ input: a.input, dest: a.dest, prune: a.prune === true, ...(a.read === undefined ? {} : { read: a.read }) });
  reportProblems(io, a, r.problems.length, () => printProblems(io, r.problems));
  if (a.json) printJson(io, 'expand-structure', { dest: r.dest, structure: r.structure, names: r.names, renamed: r.renamed, pruned: r.pruned, problems: r.problems });
  else if (!a.quiet) {
    const s = r.structure;
    if (a.prune) io.stdout.write(`renamed ${r.renamed} file(s) to their new names, removed ${r.pruned} path(s) deleted since\n`);
    io.stdout.write(`applied structure to ${r.dest}: ${s.dirs} folders, ${s.files} files, ${s.symlinks} symlinks, ${s.hardlinks} hard links, ${s.fifos} FIFOs, ${s.devices} devices\n`);
  }
  return statusFor(r.problems.length);
}

export interface VerifyArgs {
  inputs: string[];
  json: boolean;
  quiet: boolean;
  jobs?: number | undefined;
  read?: ReadPolicy;
}

/**
 * `xtar verify`: read everything, check every blob (CRC and sha256), every tar header and both
 * records; name each damaged file, and show which folders lost what.
 */
export async function runVerify(a: VerifyArgs, io: Io): Promise<number> {
  return withSets(a.inputs, io, (inputs, io2) => verifyIn({ ...a, inputs }, io2));
}

async function verifyIn(a: VerifyArgs, io: Io): Promise<number> {
  const bar = progressBar(!a.quiet && !a.json, 'verify');
  let r;
  try {
    r = await verify({ inputs: a.inputs, ...(a.jobs === undefined ? {} : { jobs: a.jobs }), ...(a.read === undefined ? {} : { read: a.read }), onProgress: (p) => bar.update(p.bytes, p.totalBytes, p.files) });
  } finally {
    bar.stop();
  }
  // (gaps: of a set folder, the volumes its newest backups need that are not in the set.)
  const { damaged, unreadable, chainGaps: gaps } = r;
  const { shown, listed } = groupNotGiven(r, false);
  reportProblems(io, a, listed + gaps.length, () => {
    printProblems(io, shown);
    for (const g of r.notGiven) io.stderr.write(`xtar: ${g.problem.reason}\n`);
    for (const g of gaps) io.stderr.write(`xtar: ${g.message}\n`);
    printUnreadable(io, r);
  });
  if (a.json) {
    printJson(io, 'verify', { intact: r.files, bytes: r.bytes, damaged: damaged.map((p) => p.path), damagedBytes: r.damagedBytes, problems: r.problems, chainGaps: gaps, ...unreadableJson(r) });
  } else if (!a.quiet) {
    if (r.problems.length === 0) io.stdout.write(`all ${r.files} files intact (${humanBytes(r.bytes)})\n`);
    else {
      const notes = r.problems.length - damaged.length;
      io.stdout.write(`${r.files} files intact (${humanBytes(r.bytes)}); ${damaged.length} damaged${notes ? `, ${notes} other note(s) above` : ''}\n`);
      if (r.damagedBytes > 0) io.stdout.write(`the damaged files' blobs take ${humanBytes(r.damagedBytes)} of the archive\n`);
      // Which folders lost what, most hit first.
      const byDir = new Map<string, string[]>();
      for (const p of damaged) {
        const i = p.path.lastIndexOf('/');
        const dir = i < 0 ? '.' : p.path.slice(0, i);
        byDir.set(dir, [...(byDir.get(dir) ?? []), p.path.slice(i + 1)]);
      }
      for (const [dir, names] of [...byDir.entries()].sort((x, y) => y[1].length - x[1].length)) {
        io.stdout.write(`  ${dir}/  ${names.length} damaged: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}\n`);
      }
    }
    if (gaps.length > 0) io.stdout.write(`the set's newest backup cannot be restored in full: ${gaps.length} volume(s) it needs are not in the set (named above)\n`);
  }
  if (unreadable) return 2;
  // Volumes not given (or files on them) are reported, but are not damage — unless the input is a
  // set that lacks a volume its newest backup needs: then it cannot be restored in full.
  return statusFor(r.problems.filter((p) => p.kind !== 'missing').length + gaps.length + r.unreadableSectors.length);
}

export interface RepairArgs {
  inputs: string[];
  json: boolean;
  quiet: boolean;
}

export async function runRepair(a: RepairArgs, io: Io): Promise<number> {
  return withSets(a.inputs, io, (inputs, io2) => repairIn({ ...a, inputs }, io2));
}

async function repairIn(a: RepairArgs, io: Io): Promise<number> {
  const { repair } = await import('../../unpack/repair.js');
  const r = await repair(a.inputs);
  const damaged = r.after.problems.filter((p) => p.kind === 'damaged');
  reportProblems(io, a, r.after.problems.length, () => printProblems(io, r.after.problems));
  if (a.json) printJson(io, 'repair', { volumes: r.volumes, intact: r.after.files, damaged: damaged.map((p) => p.path), problems: r.after.problems });
  else if (!a.quiet) {
    for (const v of r.volumes) io.stdout.write(`${v.path}: ${v.outcome}\n`);
    io.stdout.write(r.after.problems.length === 0 ? `all ${r.after.files} files intact\n` : `${r.after.files} files intact; ${damaged.length} still damaged\n`);
  }
  return statusFor(r.after.problems.filter((p) => p.kind !== 'missing').length);
}

/**
 * The problems as text shows them: the files on a volume not given fold into that volume's one line
 * (each file listed with -v); the rest one per line. `listed`: the lines that makes.
 */
function groupNotGiven(r: Pick<UnpackResult, 'problems' | 'notGiven'>, verbose: boolean): { shown: Problem[]; listed: number } {
  const grouped = new Set<Problem>(r.notGiven.flatMap((g) => (verbose ? [g.problem] : [g.problem, ...g.files])));
  const shown = r.problems.filter((p) => !grouped.has(p));
  return { shown, listed: shown.length + r.notGiven.length };
}
