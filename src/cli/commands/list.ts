/** `xtar list SET [--files [GLOB]] [--obsolete]`: call the set listing and the index, render backups and volumes. */
import { eachListedFile, listFiles, listSet, type ListedFile } from '../../set/list.js';
import type { BadLine } from '../../set/read-records.js';
import { narrowedLines, ReadSession, type ReadPolicy } from '../../unpack/random-reader.js';
import { obsoleteVolumes } from '../../setindex/obsolete.js';
import { statusFor, UsageError, type Problem } from '../../errors.js';
import { openIndex } from '../../setindex/heal.js';
import { memoryIndex } from '../../setindex/rebuild.js';
import { indexInMemoryOnly } from '../../setindex/db.js';
import { AGE_SUFFIX } from '../../format/encryption.js';
import { readLines } from '../../util/lines.js';
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
  // The catalog is read through a reader that narrows a failing read down to sectors: a scratched disc costs only the lines on them.
  const session = new ReadSession(a.read);
  // (An encrypted set's catalog.jsonl.age is an age file: decrypted whole as a stream, it cannot be narrowed line by line.)
  const lines = (path: string, bad: BadLine): AsyncIterable<string> => (path.endsWith(AGE_SUFFIX) ? readLines(path) : narrowedLines(path, path, session, bad));
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
        ...(b.volumeCount !== null && b.volumeCount !== b.volumes.length ? { missingVolumes: missing(b.volumeCount, b.volumes.map((v) => v.volume)) } : {}),
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
    if (b.volumeCount !== null && b.volumeCount > b.volumes.length) io.stdout.write(`  missing: volume(s) ${missing(b.volumeCount, b.volumes.map((v) => v.volume)).join(', ')}\n`);
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

function missing(count: number, present: number[]): number[] {
  return Array.from({ length: count }, (_, i) => i + 1).filter((n) => !present.includes(n));
}

async function runObsolete(a: ListArgs, io: Io): Promise<number> {
  const keep = a.keep ?? 1;
  if (!Number.isInteger(keep) || keep < 1) throw new UsageError('--keep must be a whole number of at least 1.');
  await listSet(a.set); // says clearly when this is not a set
  // With --json the index's notes (rebuilt, healed) also go into the object (`notes`); with --json --quiet only there.
  const notes: string[] = [];
  // An encrypted set keeps no index on disk (unless packed with --index-plain): made in memory from its records.
  const sealed = await indexInMemoryOnly(resolve(a.set));
  const index = sealed
    ? await memoryIndex(resolve(a.set))
    : await openIndex(resolve(a.set), (line) => {
        if (a.json) notes.push(line);
        if (!(a.json && a.quiet)) io.stderr.write(`xtar: ${line}\n`);
      });
  try {
    const r = obsoleteVolumes(index, keep);
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
  } finally {
    index.close();
  }
}
