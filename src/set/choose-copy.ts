/**
 * Which copy of a record to believe: a volume's own file (structure.jsonl, catalog.jsonl) when it
 * checks, else the copy inside its .xtar when that does; one pass over a record says whether it reads
 * whole and its digest matches, gathering what a stage asks for meanwhile. Shared by unpack (through
 * src/unpack/choose-records.ts, which finds the copies with its failing-sector reader) and by
 * `index rebuild` (src/setindex/rebuild.ts). Where the copies lie, and what is done with the lines of
 * the record chosen, is the callers' business.
 */
import { XtarError } from '../errors.js';
import { decodeTrailer, RecordDigest } from '../format/records.js';
import { checkVolumeManifest } from './manifest.js';
import { INFLATE_FAILED, readLineBatches } from '../util/lines.js';
import { firstMissing } from './rescue-map.js';
import type { VolumeSource } from './locate.js';
import { otherOwner, type RecordSource } from './read-records.js';
import { standInReader } from '../store/remote-files.js';

/** A problem a choice of records found, for the restore to list (kind 'header'). */
export interface RecordNote {
  path: string;
  reason: string;
}

/** What one pass over a record found. */
export type RecordState =
  /** Read whole, its entry count right, and its digest matches (revision 2.1 records). */
  | 'checked'
  /** Read whole, and carries no digest — nor was one expected (a record written before revision 2.1). */
  | 'legacy'
  /** Read whole, but its digest or count does not match, or it lacks the digest its volume.json expects. */
  | 'damaged'
  /** Does not read whole: unreadable, a line that does not decode, or no end line. */
  | 'broken'
  /**
   * Read whole and sound, but another volume's or backup's: its header names another backup (or, a
   * catalog, another volume), or its digest is not the one this volume's volume.json records — a
   * record copied into the wrong folder. Never believed here, whatever it holds.
   */
  | 'foreign';

/** What one pass over a record found; `why` says what made it another volume's ('foreign'). */
export interface RecordCheck {
  state: RecordState;
  digest: boolean;
  why?: string;
}

/** How a record that was not used is named in a problem (`name`: the plain file's). */
function noteFor(name: string, c: RecordCheck, copy: boolean): string {
  const what = copy ? `the copy of ${name} inside the archive` : name;
  if (c.state === 'foreign') return `${what} is not this volume's record (${c.why ?? ''})`;
  return `${what} is damaged (${c.state === 'damaged' ? 'its checksum does not match' : 'it does not read whole: cut short, or a line does not decode'})`;
}

/** The digests a volume's volume.json gives its records (none when it is absent, damaged or older). */
export async function expectedDigests(v: VolumeSource): Promise<{ structure?: string; catalog?: string }> {
  if (v.dir === null) return {};
  const m = (await checkVolumeManifest(v.dir, v)).manifest;
  return { ...(m?.structureSha256 === undefined ? {} : { structure: m.structureSha256 }), ...(m?.catalogSha256 === undefined ? {} : { catalog: m.catalogSha256 }) };
}

/**
 * The choice both records make: the plain file when it checks (or is whole and from before
 * digests), else the copy (`copyOf`) when it does; `notes` name each that failed (as `name`; `more`
 * is added to the copy's). With nothing chosen, `either` is what there is and `digestSeen` whether any copy (or
 * volume.json's `expected`) had a digest — then nothing of it may be believed.
 */
export async function chooseCopy<T>(
  plain: RecordSource | null,
  copyOf: () => Promise<RecordSource | null>,
  decodeHeader: (line: string, where: string) => unknown,
  decodeEntry: (line: string, where: string) => T,
  gather: Gatherer<T> | undefined,
  expected: string | undefined,
  name: string,
  more: string,
): Promise<{ chosen: RecordSource | null; checked: boolean; notes: RecordNote[]; either: RecordSource | null; digestSeen: boolean }> {
  const notes: RecordNote[] = [];
  let digestSeen = expected !== undefined;
  // Another volume's record is never what there is of this one's, not even as hints.
  let either = plain;
  if (plain) {
    const c = await checkRecord(plain, decodeHeader, decodeEntry, gather, expected);
    if (c.state === 'checked' || c.state === 'legacy') return { chosen: plain, checked: c.state === 'checked', notes, either: plain, digestSeen };
    digestSeen ||= c.digest;
    if (c.state === 'foreign') either = null;
    notes.push({ path: plain.path, reason: noteFor(name, c, false) });
  }
  const copy = await copyOf();
  if (copy) {
    const c = await checkRecord(copy, decodeHeader, decodeEntry, gather);
    digestSeen ||= c.digest;
    if (c.state === 'checked' || (c.state === 'legacy' && !digestSeen)) {
      for (const n of notes) n.reason += '; the copy inside the archive was used';
      return { chosen: copy, checked: c.state === 'checked', notes, either: copy, digestSeen };
    }
    if (digestSeen || c.state === 'foreign') notes.push({ path: copy.path, reason: `${noteFor(name, c, true)}${more}` });
    if (c.state !== 'foreign') either ??= copy;
  }
  return { chosen: null, checked: false, notes, either, digestSeen };
}

/** Collects what a pass over a record finds; cleared when a pass over another record begins. */
export interface Gatherer<T> {
  clear(): void;
  add(entry: T): void;
  /** add() from an entry's line undecoded: the pass is made without decoding, and again decoding only if the record does not check. */
  addLine?(line: string): void;
}

/**
 * One pass over a record: whether it reads whole, its count right and its digest matching the one
 * its trailer carries (`expected`, from volume.json, when the trailer carries none). Its entries
 * are gathered meanwhile, until a line does not decode. `digest`: whether a digest was found (or
 * the record is a gzip'd copy that does not inflate: gzip's own CRC-32 failed, nothing is believed).
 * Without `gather`, a record that checks is read once without decoding its entries.
 */
export async function checkRecord<T>(
  src: RecordSource,
  decodeHeader: (line: string, where: string) => unknown,
  decodeEntry: (line: string, where: string) => T,
  gather?: Gatherer<T>,
  expected?: string,
): Promise<RecordCheck> {
  // Nothing to gather: a record whose digest matches holds the lines pack wrote, which decode; they
  // are decoded once, by the pass that uses them. Any other outcome is decided as ever, decoding.
  // A gatherer that takes lines undecoded is given them in the same pass (kept if the record checks).
  if (gather === undefined || gather.addLine !== undefined) {
    const quick = await readRecord(src, decodeHeader, null, gather, expected);
    if (quick.state === 'checked' || quick.state === 'foreign') return quick;
  }
  return readRecord(src, decodeHeader, decodeEntry, gather, expected);
}

/** checkRecord's pass; `decodeEntry` null: the entry lines are only digested. */
async function readRecord<T>(
  src: RecordSource,
  decodeHeader: (line: string, where: string) => unknown,
  decodeEntry: ((line: string, where: string) => T) | null,
  gather: Gatherer<T> | undefined,
  expected: string | undefined,
): Promise<RecordCheck> {
  let n = 0;
  let broken = false;
  // What makes it another volume's record, if anything (its header, or its digest against volume.json's).
  let foreign: string | undefined;
  // A header of a newer version ends the run (upgrade xtar) — if the record checks: one flipped bit
  // can turn a version 1 into a 9, and that is damage, not a newer record.
  let newer: unknown = null;
  const digest = new RecordDigest();
  gather?.clear();
  // An archive of a set in object storage: its stand-in holds zeros, the object the bytes (ranged GETs).
  const via = await standInReader(src.path);
  try {
    // Known unreadable, or bytes of it missing from a rescued copy (its map): never checked as though whole.
    if (src.unreadable === true || (await firstMissing(src.path, src.range?.start, src.range?.end)) !== null) return { state: 'broken', digest: expected !== undefined };
    for await (const batch of readLineBatches(src.path, src.range, src.gzip, via)) {
      // (Hashed a read's lines at a time, up to the trailer: one call for many lines, not two per line.)
      for (let i = 0; i < batch.length; i++) {
        const line = batch[i] as string;
        if (n++ === 0) {
          try {
            foreign = otherOwner(decodeHeader(line, src.label), src.owner);
          } catch (e) {
            if (e instanceof XtarError && e.code === 'EVERSION') newer = e;
            broken = true;
          }
          continue;
        }
        const t = decodeTrailer(line);
        if (t !== null) {
          digest.lines(batch, 0, i);
          const sum = t.sha256 ?? expected;
          const good = t.sha256 !== undefined && t.entries === n - 2 && digest.hex() === t.sha256;
          if (newer !== null && (good || sum === undefined)) throw newer;
          if (broken) return { state: 'broken', digest: sum !== undefined };
          // Sound in itself, but not the record volume.json (checked by its own sum) says this volume has.
          if (good && expected !== undefined && t.sha256 !== expected) foreign ??= "its checksum is not the one this volume's volume.json records";
          if (foreign !== undefined && (good || sum === undefined)) return { state: 'foreign', digest: sum !== undefined, why: foreign };
          if (sum === undefined) return { state: 'legacy', digest: false };
          return { state: good ? 'checked' : 'damaged', digest: true };
        }
        if (broken) continue;
        if (decodeEntry === null) {
          gather?.addLine?.(line);
          continue;
        }
        try {
          const entry = decodeEntry(line, src.label);
          gather?.add(entry);
        } catch {
          broken = true;
        }
      }
      digest.lines(batch, 0, batch.length);
    }
  } catch (e) {
    if (e === newer) throw e;
    // A gzip'd copy that does not inflate failed gzip's own check: none of it is believed, digest or not.
    return { state: 'broken', digest: expected !== undefined || (e as NodeJS.ErrnoException).code === INFLATE_FAILED };
  } finally {
    await via?.close();
  }
  return { state: 'broken', digest: expected !== undefined };
}
