/**
 * `xtar expand-structure`: apply a structure record (from a set, a volume, an .xtar's copy, or a
 * structure file) to a tree restored by hand, after giving back the names a platform's tools changed
 * and maybe renaming and pruning (by-hand.ts). Restoring files from volumes is unpack.ts's job.
 */
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Destination } from '../dest/destination.js';
import { InputError } from '../errors.js';
import { ARCHIVE_SUFFIX, VOLUME_CATALOG } from '../format/layout.js';
import { CATALOG_SUFFIX, STRUCTURE_SUFFIX } from '../format/names.js';
import { AGE_SUFFIX } from '../format/encryption.js';
import { decodeStructureEntry, decodeStructureHeader } from '../format/records.js';
import { applyStructure, type ApplyResult } from './apply-structure.js';
import { placeRenamed, pruneUnlisted, restoreNames } from './by-hand.js';
import { catalogSource, structureSource } from './choose-records.js';
import { checkRecord, expectedDigests, type RecordNote } from '../set/choose-copy.js';
import { locate, type VolumeSource } from '../set/locate.js';
import { ProblemLog, type Problem } from './problem-log.js';
import { RandomReader, ReadSession, type ReadPolicy } from './random-reader.js';
import { readStructureHeader, structureEntries, type RecordSource } from '../set/read-records.js';

export interface ExpandOptions {
  input: string;
  dest: string;
  /**
   * After a by-hand restore of several backups: give renamed files their new names (from the
   * catalog) and remove what the structure record does not list.
   */
  prune?: boolean;
  /** How hard to try a drive that fails sectors (--sector-size, --read-retries). */
  read?: ReadPolicy;
}

export interface ExpandResult {
  dest: string;
  structure: ApplyResult;
  /** Files given back the name a platform's tools changed (a `\` read as `/`, NFC for NFD, ...). */
  names: number;
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
  let notes: RecordNote[] = [];
  const st = await stat(abs).catch(() => null);
  if (st === null) throw new InputError(`${opts.input} does not exist.`, opts.input);
  if (st.isFile() && !abs.endsWith(ARCHIVE_SUFFIX)) {
    // (An encrypted set's records are the same names with .age: read decrypted, with the keys in use.)
    const sealed = abs.endsWith(AGE_SUFFIX) ? AGE_SUFFIX : '';
    const plainName = abs.slice(0, abs.length - sealed.length);
    src = { path: abs, label: opts.input, gzip: plainName.endsWith('.gz') };
    // A record given alone has no copy to fall back on: one whose checksum fails is not applied at all.
    const { state, digest } = await checkRecord(src, decodeStructureHeader, decodeStructureEntry);
    if (state === 'damaged' || (state === 'broken' && digest)) {
      throw new InputError(`${opts.input} is damaged (${state === 'damaged' ? 'its checksum does not match' : 'it does not read whole'}); nothing was applied. Give its volume folder or .xtar instead: the copy inside the archive is checked on its own.`, opts.input);
    }
    // The catalog beside it: catalog.jsonl beside structure.jsonl, or the outer tar's gzip copy beside its own.
    const copy = plainName.endsWith(STRUCTURE_SUFFIX) ? plainName.slice(0, -STRUCTURE_SUFFIX.length) + CATALOG_SUFFIX + sealed : null;
    const beside = copy ?? join(dirname(abs), VOLUME_CATALOG + sealed);
    if (await stat(beside).then((s) => s.isFile(), () => false)) catalog = { path: beside, label: beside, gzip: copy !== null };
  } else {
    // The newest volume: its catalog lists every file of the backup.
    const v = (await locate(opts.input)).at(-1) as VolumeSource;
    reader = await RandomReader.open(v.archive, new ReadSession(opts.read));
    // (A record beside it that is another volume's — its header, or volume.json's digest of it — is named, and its copy used.)
    const choice = await structureSource(v, reader, undefined, (await expectedDigests(v)).structure);
    src = choice?.src ?? null;
    if (choice === null) throw new InputError(`${opts.input} holds no structure record.`, opts.input);
    // Every copy damaged (a checksum that fails, a gzip'd copy that does not inflate): none of it is applied.
    if (src === null) throw new InputError(`${opts.input}: no copy of its structure record checks out (${choice.notes.map((n) => n.reason).join('; ')}); nothing was applied.`, opts.input);
    notes = choice?.notes ?? [];
    catalog = await catalogSource(v, reader);
  }
  const log = new ProblemLog();
  const report = log.add;
  // A record not used (damaged, the copy inside the archive taken instead) is named, as unpack names it.
  for (const n of notes) report(n.path, n.reason, 'header');
  try {
    const dest = new Destination(opts.dest);
    const names = catalog === null ? 0 : await restoreNames(dest, catalog, src, report);
    let renamed = 0;
    let pruned = 0;
    if (opts.prune) {
      if (catalog !== null) renamed = await placeRenamed(dest, catalog, report);
      const header = await readStructureHeader(src);
      let whole = true;
      pruned = await pruneUnlisted(dest, header.root, structureEntries(src, () => void (whole = false)), report, () => whole);
    }
    const structure = await applyStructure(
      structureEntries(src, (where, reason) => report(where, reason, 'damaged')),
      dest,
      { owners: process.getuid?.() === 0, report },
    );
    return { dest: dest.root, structure, names, renamed, pruned, problems: log.problems() };
  } finally {
    await reader?.close();
  }
}
