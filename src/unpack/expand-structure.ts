/**
 * `xtar expand-structure`: apply a structure record (from a set, a volume, an .xtar's copy, or a
 * structure file) to a tree restored by hand, maybe renaming and pruning first (by-hand.ts). Restoring
 * files from volumes is unpack.ts's job.
 */
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Destination } from '../dest/destination.js';
import { InputError } from '../errors.js';
import { ARCHIVE_SUFFIX, VOLUME_CATALOG } from '../format/layout.js';
import { applyStructure, type ApplyResult } from './apply-structure.js';
import { placeRenamed, pruneUnlisted } from './by-hand.js';
import { catalogSource, structureSource } from './choose-records.js';
import { locate, type VolumeSource } from '../set/locate.js';
import { ProblemLog, type Problem } from './problem-log.js';
import { RandomReader } from './random-reader.js';
import { readStructureHeader, structureEntries, type RecordSource } from '../set/read-records.js';

export interface ExpandOptions {
  input: string;
  dest: string;
  /**
   * After a by-hand restore of several backups: give renamed files their new names (from the
   * catalog) and remove what the structure record does not list.
   */
  prune?: boolean;
}

export interface ExpandResult {
  dest: string;
  structure: ApplyResult;
  /** With prune: files copied from the path an earlier backup stored them under, and paths removed. */
  renamed: number;
  pruned: number;
  problems: Problem[];
}

/** Apply a structure record (from a set, a volume, an .xtar's copy, or a structure file) to --dest. */
export async function expandStructure(opts: ExpandOptions): Promise<ExpandResult> {
  const abs = resolve(opts.input);
  let src: RecordSource | null = null;
  let catalog: RecordSource | null = null;
  let reader: RandomReader | null = null;
  const st = await stat(abs).catch(() => null);
  if (st === null) throw new InputError(`${opts.input} does not exist.`, opts.input);
  if (st.isFile() && !abs.endsWith(ARCHIVE_SUFFIX)) {
    src = { path: abs, label: opts.input, gzip: abs.endsWith('.gz') };
    const beside = join(dirname(abs), VOLUME_CATALOG);
    if (await stat(beside).then((s) => s.isFile(), () => false)) catalog = { path: beside, label: beside };
  } else {
    // The newest volume: its catalog lists every file of the backup.
    const v = (await locate(opts.input)).at(-1) as VolumeSource;
    reader = await RandomReader.open(v.archive);
    src = (await structureSource(v, reader))?.src ?? null;
    if (src === null) throw new InputError(`${opts.input} holds no structure record.`, opts.input);
    catalog = await catalogSource(v, reader);
  }
  const log = new ProblemLog();
  const report = log.add;
  try {
    const dest = new Destination(opts.dest);
    let renamed = 0;
    let pruned = 0;
    if (opts.prune) {
      if (catalog !== null) renamed = await placeRenamed(dest, catalog, report);
      const header = await readStructureHeader(src);
      pruned = await pruneUnlisted(dest, header.root, structureEntries(src, () => undefined), report);
    }
    const structure = await applyStructure(
      structureEntries(src, (where, reason) => report(where, reason, 'damaged')),
      dest,
      { owners: process.getuid?.() === 0, report },
    );
    return { dest: dest.root, structure, renamed, pruned, problems: log.problems() };
  } finally {
    await reader?.close();
  }
}
