/** `xtar list SET [--files [GLOB]] [--obsolete]`: call the set listing and the index, render backups and volumes. */
import { eachListedFile, listFiles, listSet, missingVolumes, type ListedFile } from '../../set/list.js';
import { catalogReader, ReadSession, type ReadPolicy } from '../../unpack/random-reader.js';
import { obsoleteInSet } from '../../setindex/maintain.js';
import { statusFor, type Problem } from '../../errors.js';
import { join, resolve } from 'node:path';
import { humanBytes, printJson, printProblems, type Io } from '../output/render.js';
import { reportProblems } from '../output/json.js';
import { formatTime, zoneFor } from '../../util/time.js';
import { withSets } from './remote-args.js';

export interface ListArgs {
  set: string;
  /** undefined: no file list; '' (flag without a value): every file; else a glob. */
  files: string | undefined;
  json: boolean;
  /** List the volumes no longer needed (to restore the newest state, or the last `keep` backups). */
  obsolete?: boolean;
  keep?: number;
  /** Times in UTC instead of local time (src/util/time.ts). */
  utc?: boolean | undefined;
  quiet?: boolean;
  /** How hard to try a drive that fails sectors (--sector-size, --read-retries). */
  read?: ReadPolicy;
}

export async function runList(a: ListArgs, io: Io): Promise<number> {
  return withSets([a.set], io, ([set], io2) => listIn({ ...a, set: set as string }, io2));
}

async function listIn(a: ListArgs, io: Io): Promise<number> {
  if (a.obsolete) return runObsolete(a, io);
  // Records that cannot be used (a scratched disc's unreadable volume.json or catalog) are named, and the run exits 1.
  const problems: Problem[] = [];
  const report = (p: Problem): void => void problems.push(p);
  const backups = await listSet(a.set, report);
  const glob = a.files === undefined || a.files === '' ? undefined : a.files;
  const withFiles = a.files !== undefined;
  const files = new Map<string, Awaited<ReturnType<typeof listFiles>>>();
  const lines = catalogReader(new ReadSession(a.read));
  if (a.json) {
    // (--json prints one object, so its file list is held whole; the text listing below streams.)
    if (withFiles) for (const b of backups) files.set(b.id, await listFiles(a.set, b.id, glob, report, lines));
    printJson(io, 'list', {
      backups: backups.map((b) => ({
        id: b.id,
        kind: b.kind,
        base: b.base,
        source: b.source,
        created: b.created,
        files: b.files,
        bytes: b.bytes,
        volumes: b.volumes.map((v) => ({ volume: v.volume, path: v.path, bytes: v.bytes, archiveBytes: v.archiveBytes, recordBytes: v.recordBytes, files: v.files })),
        ...(missingVolumes(b).length > 0 ? { missingVolumes: missingVolumes(b) } : {}),
        ...(withFiles ? { fileList: files.get(b.id) } : {}),
      })),
      ...(problems.length > 0 ? { problems } : {}),
    });
    reportProblems(io, { json: true, quiet: a.quiet === true }, problems.length, () => undefined);
    return statusFor(problems.length);
  }
  for (const b of backups) {
    const on = b.base === null ? '' : ` on ${b.base}`;
    const created = Number.isNaN(Date.parse(b.created)) ? b.created : formatTime(Date.parse(b.created), zoneFor(a.utc));
    io.stdout.write(`${b.id}  ${b.kind}${on}  ${created}  ${b.files} files  ${humanBytes(b.bytes)}  ${b.volumes.length} volume(s)${b.source === null ? '' : `  of ${b.source}`}\n`);
    // As pack's summary: the archive, and the whole folder the disc must hold (the records beside the archive).
    for (const v of b.volumes) io.stdout.write(`  volume ${v.volume}: archive ${humanBytes(v.archiveBytes)}, folder ${humanBytes(v.bytes)} (records ${humanBytes(v.recordBytes)}), ${v.files} files  ${v.path}\n`);
    const missing = missingVolumes(b);
    if (missing.length > 0) io.stdout.write(`  missing: volume(s) ${missing.join(', ')}\n`);
    if (withFiles) await writeFiles(io, eachListedFile(a.set, b.id, glob, report, lines));
  }
  printProblems(io, problems);
  return statusFor(problems.length);
}

/** The file lines of one backup, as the catalog names them: written as read, waiting while stdout's buffer is full (a million lines never sit in memory). */
async function writeFiles(io: Io, files: AsyncIterable<ListedFile>): Promise<void> {
  let chunk = '';
  for await (const f of files) {
    const where = `${f.backup === undefined ? '' : `${f.backup} `}${f.volumes.join('+')}`;
    chunk += `    ${where.padStart(5)}  ${f.path}\n`;
    if (chunk.length >= 64 * 1024) {
      const room = io.stdout.write(chunk);
      chunk = '';
      if (!room) await new Promise<void>((resolve) => io.stdout.once('drain', () => resolve()));
    }
  }
  if (chunk !== '') io.stdout.write(chunk);
}

async function runObsolete(a: ListArgs, io: Io): Promise<number> {
  const keep = a.keep ?? 1;
  // With --json the index's notes (rebuilt, healed) also go into the object (`notes`); with --json --quiet only there.
  const notes: string[] = [];
  const r = await obsoleteInSet(resolve(a.set), keep, (line) => {
    if (a.json) notes.push(line);
    if (!(a.json && a.quiet)) io.stderr.write(`xtar: ${line}\n`);
  });
  if (a.json) printJson(io, 'list-obsolete', { keep, kept: r.kept, obsolete: r.obsolete.map((v) => ({ ...v, path: join(resolve(a.set), v.name) })), bytes: r.bytes, notes });
  else {
    const what = keep === 1 ? 'the newest state' : `the last ${keep} backups`;
    if (r.obsolete.length === 0) io.stdout.write(`every volume is still needed to restore ${what}\n`);
    else {
      io.stdout.write(`${r.obsolete.length} volume(s), ${humanBytes(r.bytes)}, are not needed to restore ${what} (discs that can be reused):\n`);
      for (const v of r.obsolete) io.stdout.write(`  ${v.name}  ${humanBytes(v.bytes)}\n`);
    }
  }
  return 0;
}
