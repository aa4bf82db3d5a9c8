/**
 * The scan, written as the structure record (header, entries, trailer) with its sha256, then its
 * gzip copy; a full backup's first small files are handed to the pool meanwhile. Writes no volume
 * and no index row.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { VOLUME_STRUCTURE } from '../format/layout.js';
import { encodeStructureEntry, encodeStructureHeader, encodeTrailer, RecordDigest, type StructureEntry } from '../format/records.js';
import { scanTree, type ScanOptions, type ScanResult } from '../scan/scan.js';
import { LineWriter } from '../util/lines.js';
import { SMALL_FILE_MAX } from './compress.js';
import type { PackContext } from './context.js';
import { writeGzip, type MemberMaker } from './gzip-record.js';
import { fileJob, LOOKAHEAD_BYTES, type EarlyJobs } from './lookahead.js';

/**
 * Small files of a full backup handed to the pool while the scan runs: on a tree of tiny files, as
 * many as the workers can compress meanwhile (the scan takes ~12 µs a file, a worker ~25 µs); on
 * larger files, as many as half the lookahead's bytes, since their blobs wait in memory until the
 * volume pass takes them (peak RSS on the 200,000-file synthetic tree).
 */
export const EARLY_ITEMS = 16 * 1024;
const EARLY_BYTES = LOOKAHEAD_BYTES / 2;
/** Entries scanned between two yields to the event loop while files are handed to the pool. */
const YIELD_EVERY = 128;

/**
 * The scanned entries are kept for the volume pass while their record lines hold at most this many
 * characters (some 50,000 entries; their objects take about as much memory as their lines): decoding
 * the record again cost a tenth of the main thread's time on a tree of tiny files.
 */
const KEEP_CHARS = 8 * 1024 * 1024;

/** Characters of entry lines gathered before they are hashed and written. */
const LINES_CHUNK = 64 * 1024;

export interface Structure {
  scan: ScanResult;
  /** The structure record in the work folder, and (once gzipStructure ran) its gzip copy. */
  path: string;
  gzPath: string;
  /** Of the entry lines only: the index compares it to tell an unchanged tree. */
  sha256: string;
  /** Of the record's bytes before its trailer (header included), as the trailer says: volume.json repeats it. */
  recordSha256: string;
  early: EarlyJobs;
  /**
   * The entries as scanned, in record order, when the record is small enough to keep (KEEP_CHARS):
   * the volume pass takes them instead of decoding the record again. Null: read the record.
   */
  entries: StructureEntry[] | null;
}

export async function writeStructure(ctx: PackContext): Promise<Structure> {
  const { opts, plan, pool } = ctx;
  const path = join(ctx.workDir, VOLUME_STRUCTURE);
  const structure = await LineWriter.create(path);
  let headerWritten = false;
  let scanFiles = 0;
  let scanBytes = 0;
  const hash = createHash('sha256');
  const record = new RecordDigest();
  const stamp = { backup: ctx.backupId, created: ctx.createdIso, kind: plan.kind, ...(plan.base === null ? {} : { base: plan.base.id }) };
  // A full backup's first small files are compressed while the scan still runs, so the workers are
  // not idle until the structure record is complete; the volume pass picks them up by path.
  const early: EarlyJobs = new Map();
  let earlyBytes = 0;
  let entries = 0;
  const compressEarly = (e: StructureEntry): void => {
    const size = e.size ?? 0;
    if (plan.base !== null || e.type !== 'file' || size > SMALL_FILE_MAX) return;
    if (earlyBytes + size > EARLY_BYTES || early.size >= EARLY_ITEMS) return;
    const job = fileJob(ctx.tree, e, null);
    early.set(e.path, { job, ticket: pool.add(job) });
    earlyBytes += size;
  };
  let lines = '';
  let kept: StructureEntry[] | null = [];
  let keptChars = 0;
  const writeLines = async (): Promise<void> => {
    hash.update(lines);
    record.bytes(lines);
    await structure.raw(lines);
    lines = '';
  };
  const scan = await scanTree(
    ctx.tree,
    async (e) => {
      compressEarly(e);
      // The scan runs without a pause between its lstat calls: the workers' answers, and the batches
      // waiting for a free worker, are handled only when it yields to the event loop.
      if (++entries % YIELD_EVERY === 0 && plan.base === null && early.size < EARLY_ITEMS && earlyBytes < EARLY_BYTES) await setImmediate();
      if (!headerWritten) {
        const header = encodeStructureHeader({ ...stamp, root: e.path });
        record.line(header);
        await structure.line(header);
        headerWritten = true;
      }
      // Lines are hashed and written a chunk at a time: per line, the calls cost more than the bytes.
      const line = `${encodeStructureEntry(e)}\n`;
      lines += line;
      if (kept !== null) {
        kept.push(e);
        keptChars += line.length;
        if (keptChars > KEEP_CHARS) kept = null;
      }
      if (lines.length >= LINES_CHUNK) await writeLines();
      if (e.type === 'file') {
        scanFiles++;
        scanBytes += e.size ?? 0;
        if (scanFiles % 1000 === 0) opts.onProgress?.({ phase: 'scan', files: scanFiles, bytes: scanBytes, totalFiles: 0, totalBytes: 0 });
      }
    },
    { ...(opts.exclude === undefined ? {} : { exclude: opts.exclude }), ...(opts.select === undefined ? {} : { select: opts.select }), ...(opts.changedSinceNs === undefined ? {} : { changedSinceNs: opts.changedSinceNs }), leaveOut: setLeftOut(ctx.set, ctx.tree) },
  );
  await writeLines();
  const recordSha256 = record.hex();
  await structure.line(encodeTrailer(scan.entries, recordSha256));
  await structure.close();
  pool.flush();
  return { scan, path, gzPath: `${path}.gz`, sha256: hash.digest('hex'), recordSha256, early, entries: kept };
}

/** The set, left out of a backup of a folder that holds it (as GNU tar leaves out its own archive). */
export function setLeftOut(set: string, tree: string): NonNullable<ScanOptions['leaveOut']> {
  return { path: set, reason: `the set ${set} is inside ${tree} and is left out of the backup` };
}

/** The structure record's gzip copy, which goes into every volume's archive. */
export async function gzipStructure(st: Structure, make?: MemberMaker): Promise<void> {
  await writeGzip(createReadStream(st.path), st.gzPath, make);
}
