/** `xtar pack SRC --out SET`: parse nothing, call pack(), render the result. */
import { resolve } from 'node:path';
import { InterruptedError } from '../../errors.js';
import type { BackupKind } from '../../format/records.js';
import { dryRun, type DryExcluded, type DryItem } from '../../pack/dry-run.js';
import type { SelectionOptions } from '../../scan/select.js';
import { pack, type PackOptions, type PackResult } from '../../pack/pack.js';
import { humanBytes, printJson, printNotes, printProblems, progressBar, type Io } from '../output/render.js';
import { statusFor } from '../output/exit.js';
import { reportProblems } from '../output/json.js';

export interface PackArgs {
  src: string;
  out: string;
  jobs?: number | undefined;
  level: number;
  /** What to leave out (src/scan/select.ts), --exclude included. */
  select: SelectionOptions;
  json: boolean;
  quiet: boolean;
  volumeSize?: number | undefined;
  par2?: number | undefined;
  changedSinceNs?: bigint | undefined;
  iso?: boolean;
  mode?: BackupKind | undefined;
  fullEvery?: number;
  fullAfterMs?: number;
  split?: number;
  checksum?: boolean;
  dryRun?: boolean;
  /** Print each stored file's path on stdout (tar -v). */
  verbose?: boolean;
}

export async function runPack(a: PackArgs, io: Io): Promise<number> {
  const bar = progressBar(!a.quiet && !a.json, 'pack');
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => ac.abort(new InterruptedError(sig));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // With --json the notes also go into the object (`notes`); with --json --quiet only there.
  const notes: string[] = [];
  const noteLines = !(a.json && a.quiet);
  try {
    const options: PackOptions = {
      ...packOptionsOf(a, ac.signal, (p) => {
        if (p.phase === 'pack') bar.update(p.bytes, p.totalBytes, p.files);
      }),
      onNote: (line) => {
        if (a.json) notes.push(line);
        if (noteLines) io.stderr.write(`xtar: ${line}\n`);
      },
      ...(a.verbose ? { onStored: (path: string) => io.stdout.write(`${path}\n`) } : {}),
    };
    if (a.dryRun) return await runDryRun(options, a, io, notes);
    const r = await pack(options);
    bar.stop();
    return renderPack(r, a, io, notes);
  } finally {
    bar.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The library's options from the command's arguments. */
function packOptionsOf(a: PackArgs, signal: AbortSignal, onProgress: NonNullable<PackOptions['onProgress']>): PackOptions {
  return {
    source: a.src,
    out: a.out,
    level: a.level,
    select: a.select,
    signal,
    ...(a.volumeSize === undefined ? {} : { volumeSize: a.volumeSize }),
    ...(a.par2 === undefined ? {} : { par2: a.par2 }),
    ...(a.changedSinceNs === undefined ? {} : { changedSinceNs: a.changedSinceNs }),
    ...(a.iso ? { iso: true } : {}),
    ...(a.jobs === undefined ? {} : { jobs: a.jobs }),
    ...(a.mode === undefined ? {} : { mode: a.mode }),
    ...(a.fullEvery === undefined ? {} : { fullEvery: a.fullEvery }),
    ...(a.fullAfterMs === undefined ? {} : { fullAfterMs: a.fullAfterMs }),
    ...(a.split === undefined ? {} : { split: a.split }),
    ...(a.checksum ? { checksum: true } : {}),
    onProgress,
  };
}

/** What a pack made (or that it made nothing), as text or one JSON object; the problems on stderr; the exit status. */
function renderPack(r: PackResult, a: PackArgs, io: Io, notes: string[]): number {
  if (r.nothingChanged) {
    if (a.json) printJson(io, 'pack', { dryRun: false, nothingChanged: true, set: r.set, backup: null, base: r.base, files: r.files, bytes: r.bytes, skipped: r.skipped, ignored: r.ignored, notes });
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
    printJson(io, 'pack', { dryRun: false, nothingChanged: false, set, backup, kind, base, reason, storedFiles, storedBytes, unchangedFiles, renamedFiles, deletedFiles, root, files, dirs, entries, bytes, archiveBytes, bytesWritten, volumes, skipped, changed, ignored, notes });
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

/** `pack --dry-run`: the plan and each change, one per line (or one JSON object). */
async function runDryRun(options: PackOptions, a: PackArgs, io: Io, notes: string[]): Promise<number> {
  const items: DryItem[] = [];
  const excluded: DryExcluded[] = [];
  const r = await dryRun(
    options,
    (i) => {
      if (a.json) items.push(i);
      else if (!a.quiet) io.stdout.write(`${i.change.padEnd(9)} ${i.path}${i.from !== undefined ? ` (was ${i.from})` : ''}\n`);
    },
    // What the selection leaves out, with the rule and its source; a folder once.
    (x) => {
      if (a.json) excluded.push(x);
      else if (!a.quiet) io.stdout.write(`excluded  ${x.path} (${x.rule})\n`);
    },
  );
  if (!(a.json && a.quiet)) printNotes(io, r.ignored);
  if (a.json) printJson(io, 'pack', { dryRun: true, nothingChanged: false, set: resolve(a.out), ...r, items, excluded, notes });
  else if (!a.quiet) {
    io.stdout.write(`would make ${r.kind === "incremental" ? "an" : "a"} ${r.kind} backup${r.base ? ` on ${r.base}` : ''} (${r.reason}): store ${r.storedFiles} of ${r.files} files (${humanBytes(r.storedBytes)})`);
    io.stdout.write(`, ${r.renamedFiles} renamed, ${r.metadataFiles} with new metadata only, ${r.deletedFiles} deleted\n`);
  }
  return 0;
}
