/**
 * `xtar unpack` and `xtar expand-structure`: restore files from volumes under --dest, then apply the
 * structure record. Refused, damaged and missing entries are listed; the rest is restored.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { entryErrorMessage, InputError, isFatalIoError, XtarError } from '../errors.js';
import { ARCHIVE_SUFFIX, VOLUME_CATALOG, VOLUME_MANIFEST } from '../format/layout.js';
import { placeRenamed, pruneUnlisted } from './by-hand.js';
import { partBaseMatches } from '../format/names.js';
import { decodeCatalogHeader, decodeCatalogLine, decodeStructureEntry, decodeStructureHeader, decodeTrailer, type BackupKind, type CatalogFile, type CatalogLine, type StructureEntry } from '../format/records.js';
import { chooseBackup, PathFilter, volumeKey } from './select.js';
import { parseLocalHeader, trailerLength } from '../format/zip.js';
import { applyStructure, type ApplyResult, type ProblemKind } from './apply-structure.js';
import { Destination } from '../dest/destination.js';
import { concatOf, readBlob, sliceOf, streamBlob, type ByteSource, type ExtractedFile, type ExtractOptions } from './extract.js';
import { ExtractPool, type Outcome } from './extract-pool.js';
import { locate, type VolumeSource } from './locate.js';
import { RandomReader } from './random-reader.js';
import { catalogLines, readStructureHeader, structureEntries, type RecordSource } from './read-records.js';
import { readLines } from '../util/lines.js';
import { walkArchive, topLevelRecords } from './walk-archive.js';

export interface Problem {
  path: string;
  reason: string;
  /** damaged: a file's own bytes; header: a tar header or record around files (they may still be restored). */
  kind: ProblemKind | 'damaged' | 'header';
}

export interface UnpackOptions {
  inputs: readonly string[];
  dest: string;
  /** Check every blob without writing anything (xtar verify). */
  verifyOnly?: boolean;
  /** Write damaged files as NAME.damaged instead of leaving them out. */
  keepDamaged?: boolean;
  onProgress?: (p: { files: number; bytes: number; totalBytes: number }) => void;
  /** Restore the state as of this backup (default: the newest given). */
  backup?: string;
  /** Restore the state of the newest backup made at or before this time. */
  at?: Date;
  /** Only these paths or globs (and everything below a folder that matches). */
  paths?: readonly string[];
  /** Called before anything is read: the backup chosen and every volume it needs, present or not. */
  onPlan?: (p: RestorePlan) => void;
  /** Threads that inflate, check and write small files (default: the number of cores). */
  jobs?: number;
}

export interface NeededVolume {
  backup: string | null;
  volume: number;
  /** Where it is, or null when it was not given. */
  path: string | null;
}

export interface RestorePlan {
  backup: string | null;
  kind: BackupKind;
  volumes: NeededVolume[];
}

export interface UnpackResult {
  /** The backup restored and the volumes it needed. */
  plan: RestorePlan;
  dest: string;
  files: number;
  bytes: number;
  /** Bytes of the archives taken by blobs that failed their checks. */
  damagedBytes: number;
  structure: ApplyResult | null;
  problems: Problem[];
}

/**
 * Choose the structure record: the volume's own file when it reads whole, else the copy inside its
 * .xtar. With `facts`, the pass that checks a record is whole also gathers them (started afresh
 * for each record tried); `whole` says whether the record chosen was checked so, its facts complete.
 */
async function structureSource(v: VolumeSource, r: RandomReader, facts?: StructureFacts): Promise<{ src: RecordSource; whole: boolean } | null> {
  const plain: RecordSource | null = v.structure === null ? null : { path: v.structure, label: v.structure };
  if (plain && (await recordIsWhole(plain, decodeStructureHeader, decodeStructureEntry, facts))) return { src: plain, whole: true };
  const recs = await topLevelRecords(r);
  const s = recs.structure;
  const copy: RecordSource | null = s ? { path: v.archive, range: { start: s.start, end: s.start + s.size }, label: `${v.archive} (structure copy)`, gzip: true } : null;
  if (copy && (await recordIsWhole(copy, decodeStructureHeader, decodeStructureEntry, facts))) return { src: copy, whole: true };
  const either = plain ?? copy;
  return either === null ? null : { src: either, whole: false };
}

/**
 * What unpack needs from the structure record before restoring: the sparse files, the bytes of the
 * files (for progress: the whole backup, as a lone volume finishes early), and, with paths given, the
 * folders above the selected entries (kept for their modes and times).
 */
class StructureFacts implements Gatherer<StructureEntry> {
  sparse = new Set<string>();
  totalBytes = 0;
  keepDirs = new Set<string>();

  constructor(private readonly filter: PathFilter) {}

  clear(): void {
    this.sparse.clear();
    this.totalBytes = 0;
    this.keepDirs.clear();
  }

  add(e: StructureEntry): void {
    if (!this.filter.selects(e.path)) return;
    if (e.sparse) this.sparse.add(e.path);
    if (e.type === 'file') this.totalBytes += e.size ?? 0;
    if (!this.filter.all) for (let i = e.path.indexOf('/'); i > 0; i = e.path.indexOf('/', i + 1)) this.keepDirs.add(e.path.slice(0, i));
  }
}

async function catalogSource(v: VolumeSource, r: RandomReader): Promise<RecordSource | null> {
  if (v.catalog !== null) return { path: v.catalog, label: v.catalog };
  return catalogCopy(v, r);
}

async function catalogCopy(v: VolumeSource, r: RandomReader): Promise<RecordSource | null> {
  const recs = await topLevelRecords(r);
  const c = recs.catalog;
  return c ? { path: v.archive, range: { start: c.start, end: c.start + c.size }, label: `${v.archive} (catalog copy)`, gzip: true } : null;
}

interface SplitFile {
  dir: string[];
  base: string;
  parts: Map<number, { r: RandomReader; start: number; size: number; volume: number | null }>;
}

async function readManifest(v: VolumeSource): Promise<{ volumes: number } | null> {
  if (v.dir === null) return null;
  try {
    const m = JSON.parse(await readFile(join(v.dir, VOLUME_MANIFEST), 'utf8')) as { volumes?: unknown };
    return typeof m.volumes === 'number' && Number.isInteger(m.volumes) && m.volumes > 0 ? { volumes: m.volumes } : null;
  } catch {
    return null;
  }
}

interface Restore {
  plan: RestorePlan;
  /** The target's volumes to read, in order. */
  own: VolumeSource[];
}

/** The volumes (of this backup or earlier ones) holding the bytes of the selected files a catalog lists. */
class Holders implements Gatherer<CatalogLine> {
  /** By backup:volume, in the order first met. */
  readonly found = new Map<string, { backup: string | null; volume: number }>();

  constructor(
    private readonly filter: PathFilter,
    private readonly target: string | null,
  ) {}

  clear(): void {
    this.found.clear();
  }

  add(c: CatalogLine): void {
    if ('skipped' in c || !this.filter.selects(c.path)) return;
    const backup = c.backup ?? this.target;
    for (const p of c.parts) {
      const key = volumeKey(backup, p.volume);
      if (!this.found.has(key)) this.found.set(key, { backup, volume: p.volume });
    }
  }
}

/**
 * Which volumes a restore needs: from the target backup's catalogs, every volume holding a selected
 * file's bytes (its own, or an earlier backup's), and its newest volume given (for the records).
 */
async function planRestore(choice: ReturnType<typeof chooseBackup>, filter: PathFilter, catalogs: OwnCatalogs): Promise<Restore> {
  const { target, own, others } = choice;
  const needed = new Map<string, NeededVolume>();
  const need = (backup: string | null, volume: number): void => {
    const key = volumeKey(backup, volume);
    if (needed.has(key)) return;
    const v = backup === target ? own.find((o) => (o.volume ?? 1) === volume) : others.get(key);
    needed.set(key, { backup, volume, path: v ? (v.dir ?? v.archive) : null });
  };
  let kind: BackupKind = 'full';
  const newest = own[own.length - 1];
  if (newest !== undefined && newest.structure !== null) {
    kind = (await readStructureHeader({ path: newest.structure, label: newest.structure }).catch(() => null))?.kind ?? 'full';
  }
  // The newest whole catalog.jsonl lists the volumes before it too; where it is damaged, each
  // volume's own lines come from the copy inside its .xtar.
  let catalogRead = false;
  for (const v of [...own].reverse()) {
    const r = await RandomReader.open(v.archive);
    try {
      const holders = new Holders(filter, target);
      const { cat, gathered } = await catalogs.of(v, r, holders);
      if (cat === null || cat.complete === false) continue;
      if (!gathered) for await (const c of catalogLines(cat, () => undefined)) holders.add(c);
      for (const h of holders.found.values()) need(h.backup, h.volume);
      catalogRead = true;
      if (cat.range === undefined) break;
    } finally {
      await r.close();
    }
  }
  // Without a readable catalog every volume given is read (the tar walk finds what it can).
  const ownNeeded = catalogRead && !filter.all ? own.filter((v) => needed.has(volumeKey(target, v.volume)) || v === newest) : own;
  for (const v of ownNeeded) need(target, v.volume ?? 1);
  const volumes = [...needed.values()].sort((a, b) => (a.backup ?? '').localeCompare(b.backup ?? '') || a.volume - b.volume);
  return { plan: { backup: target, kind, volumes }, own: ownNeeded };
}

export async function unpack(opts: UnpackOptions): Promise<UnpackResult> {
  const given: VolumeSource[] = [];
  for (const input of opts.inputs) given.push(...(await locate(input, true)));
  // The same volume given twice (a set and one of its folders) is read once.
  const seen = new Set<string>();
  const volumesGiven = given.filter((v) => (seen.has(v.archive) ? false : (seen.add(v.archive), true)));
  const choice = chooseBackup(volumesGiven, { ...(opts.backup === undefined ? {} : { backup: opts.backup }), ...(opts.at === undefined ? {} : { at: opts.at }) });
  const filter = new PathFilter(opts.paths ?? []);
  const catalogs = new OwnCatalogs();
  const restore = await planRestore(choice, filter, catalogs);
  opts.onPlan?.(restore.plan);
  const unique = restore.own;
  const dest = new Destination(opts.dest);
  // Problems are listed in the order a run on one thread would find them: a small file's is found
  // by a worker, later, and takes the place its file had when it was read.
  const found: { order: number; problem: Problem }[] = [];
  let nextOrder = 0;
  const reported = new Set<string>();
  const report = (path: string, reason: string, kind: Problem['kind'], order = nextOrder++): void => {
    found.push({ order, problem: { path, reason, kind } });
    reported.add(path);
  };
  const pool = new ExtractPool(opts.verifyOnly ? null : dest, opts.jobs);
  let files = 0;
  let bytes = 0;
  /** Bytes of the archives in blobs that failed their checks. */
  let damagedBytes = 0;
  let structure: ApplyResult | null = null;
  const readers: RandomReader[] = [];
  const refReaders = new Map<string, RandomReader>();
  const splits = new Map<string, SplitFile>();
  let expected: number | null = null;
  for (const v of unique) expected ??= (await readManifest(v))?.volumes ?? null;
  const present = new Set(unique.map((v) => v.volume).filter((n): n is number => n !== null));
  const missingVolumes = expected === null ? [] : Array.from({ length: expected }, (_, i) => i + 1).filter((n) => !present.has(n));
  const incompleteSplits = new Map<string, string>();

  try {
    let sSrc: RecordSource | null = null;
    const facts = new StructureFacts(filter);
    let factsWhole = false;
    const packSkipped = new Set<string>();
    for (const v of unique) readers.push(await RandomReader.open(v.archive));
    // The threads (if the archives are worth them) boot while the records are read.
    pool.startFor(readers.reduce((n, r) => n + r.size, 0));
    for (const [i, v] of unique.entries()) {
      if (sSrc !== null) break;
      const found = await structureSource(v, readers[i] as RandomReader, facts);
      sSrc = found?.src ?? null;
      factsWhole = found?.whole ?? false;
    }
    // A structure record that does not read whole was not gathered from: read what it holds.
    if (sSrc && !factsWhole) {
      facts.clear();
      for await (const e of structureEntries(sSrc, () => undefined)) facts.add(e);
    }
    const { sparse, keepDirs } = facts;
    const totalBytes = facts.totalBytes;
    const selected = async function* (entries: AsyncIterable<StructureEntry>): AsyncGenerator<StructureEntry> {
      for await (const e of entries) if (filter.selects(e.path) || (e.type === 'dir' && keepDirs.has(e.path))) yield e;
    };

    const isSparse = (p: string): boolean => sparse.has(p);
    /**
     * Restore (or check) one blob. A small one is finished by the pool, maybe later: its outcome is
     * counted and its problem listed then, in its place (`order`).
     */
    const extractOne = async (src: ByteSource, size: number, dir: string[], entry: string, more: { nameOk?: (entry: string, inner: string) => boolean; sha256?: string; saveAs?: string } = {}): Promise<void> => {
      const shown = [...dir, entry].join('/');
      const order = nextOrder++;
      const outcome: Outcome = {
        done: (f: ExtractedFile): void => {
          files++;
          bytes += f.size;
          opts.onProgress?.({ files, bytes, totalBytes: Math.max(totalBytes, bytes) });
        },
        failed: (e: unknown): void => {
          if (e instanceof XtarError && e.code !== 'EUNSAFE') damagedBytes += size;
          if (e instanceof XtarError) report(stripZip(e.path ?? shown), e.message, e.code === 'EUNSAFE' ? 'refused' : 'damaged', order);
          else if (isFatalIoError(e)) throw e;
          else report(stripZip(shown), `cannot write the file: ${entryErrorMessage(e)}`, 'failed', order);
        },
      };
      // Properties set one by one, not spread in: this runs once per file, on the thread that limits unpack.
      const o: ExtractOptions = { dest: opts.verifyOnly ? null : dest, dir, entry, isSparse, keepDamaged: opts.keepDamaged === true };
      if (more.nameOk) o.nameMatches = more.nameOk;
      if (more.sha256 !== undefined) o.sha256 = more.sha256;
      if (more.saveAs !== undefined) o.saveAs = more.saveAs;
      let b: Awaited<ReturnType<typeof readBlob>>;
      try {
        b = await readBlob(src, size, o);
      } catch (e) {
        outcome.failed(e);
        return;
      }
      if ('blob' in b) {
        await pool.add(b, outcome);
        return;
      }
      // Large (or kept when damaged): streamed by this thread, as ever.
      await pool.clearWayForFile([...dir, b.name]);
      let f: ExtractedFile;
      try {
        f = await streamBlob(b, o);
      } catch (e) {
        outcome.failed(e);
        return;
      }
      outcome.done(f);
    };

    // Newest volume first: a whole catalog.jsonl covers the volumes before it (stop there); a copy
    // inside an .xtar holds only its own volume's lines. So no line is read twice.
    const restoreReferenced = async (): Promise<void> => {
      for (const [i, v] of [...unique.entries()].reverse()) {
        const { cat } = await catalogs.of(v, readers[i] as RandomReader);
        if (!cat) continue;
        for await (const c of catalogLines(cat, () => undefined)) {
          if ('skipped' in c || c.backup === undefined || !filter.selects(c.path)) continue;
          await restoreRef(c);
        }
        if (cat.complete !== false && cat.range === undefined) break;
      }
    };
    const restoreRef = async (c: CatalogFile): Promise<void> => {
      const holder = c.backup as string;
      const parts: { r: RandomReader; start: number; size: number }[] = [];
      const absent: number[] = [];
      for (const p of c.parts) {
        const key = volumeKey(holder, p.volume);
        let r = refReaders.get(key);
        const v = choice.others.get(key);
        if (r === undefined && v !== undefined) {
          r = await RandomReader.open(v.archive);
          refReaders.set(key, r);
        }
        if (r === undefined) absent.push(p.volume);
        else parts.push({ r, start: p.offset, size: p.length });
      }
      if (absent.length > 0) {
        report(c.path, `its bytes are in backup ${holder}, volume ${[...new Set(absent)].join(', ')}, which was not given`, 'missing');
        return;
      }
      const comps = c.path.split('/');
      const name = comps[comps.length - 1] as string;
      const stored = (c.as ?? c.path).slice((c.as ?? c.path).lastIndexOf('/') + 1);
      if (!opts.verifyOnly) await dirsFromCatalog(dest, pool, comps.slice(0, -1), report);
      const total = parts.reduce((n, p) => n + p.size, 0);
      const src = parts.length === 1 ? sliceOf(parts[0]!.r, parts[0]!.start) : concatOf(parts);
      await extractOne(src, total, comps.slice(0, -1), name, { nameOk: (_e, inner) => inner === stored, sha256: c.sha256, saveAs: name });
    };

    // Readers by volume number (a bare .xtar whose name carries no number counts as volume 1).
    const byVolume = new Map<number, RandomReader>();
    unique.forEach((v, i) => byVolume.set(v.volume ?? 1, readers[i] as RandomReader));

    // 1. The catalogs say where every blob lies: restore by them, whatever happened to the tar headers.
    //    Each file is restored with the volume of its last part, from all its parts.
    //    The files pack could not read are noted on the way (from catalog.jsonl, as the structure's
    //    list of missing files is explained by it), and whether any file's bytes are an earlier backup's.
    const restored = new Set<string>();
    const trusted = new Set<number>();
    let referenced = false;
    for (const [i, v] of unique.entries()) {
      const r = readers[i] as RandomReader;
      const number = v.volume ?? 1;
      const { cat: own } = await catalogs.of(v, r);
      const plain = await catalogSource(v, r);
      const skipsFromOwn = own !== null && plain !== null && own.path === plain.path && own.range?.start === plain.range?.start;
      if (plain && !skipsFromOwn) for await (const c of catalogLines(plain, () => undefined)) if ('skipped' in c) packSkipped.add(c.path);
      if (!own) continue;
      let badLines = 0;
      for await (const c of catalogLines(own, (where, reason) => {
        badLines++;
        report(where, reason, 'header');
      })) {
        if ('skipped' in c) {
          if (skipsFromOwn) packSkipped.add(c.path);
          continue;
        }
        if (c.backup !== undefined) {
          referenced ||= filter.selects(c.path);
          continue;
        }
        if (!filter.selects(c.path)) continue;
        const last = c.parts[c.parts.length - 1];
        if (last === undefined || last.volume !== number) continue;
        for (const p of c.parts) restored.add(`${p.volume}:${p.offset}`);
        const comps = c.path.split('/');
        const name = comps[comps.length - 1] as string;
        const missingVols = c.parts.map((p) => p.volume).filter((n) => !byVolume.has(n));
        if (missingVols.length > 0) {
          incompleteSplits.set(c.path, `split across volumes ${c.parts.map((p) => p.volume).join(', ')}: insert volume ${[...new Set(missingVols)].join(', ')}`);
          continue;
        }
        const parts = c.parts.map((p) => ({ r: byVolume.get(p.volume) as RandomReader, start: p.offset, size: p.length }));
        const total = parts.reduce((n, p) => n + p.size, 0);
        if (!opts.verifyOnly) await dirsFromCatalog(dest, pool, comps.slice(0, -1), report);
        const src = parts.length === 1 ? sliceOf(parts[0]!.r, parts[0]!.start) : concatOf(parts);
        await extractOne(src, total, comps.slice(0, -1), name, { nameOk: (_e, inner) => inner === name, sha256: c.sha256 });
      }
      if (badLines === 0 && own.complete !== false) trusted.add(number);
    }

    // 1b. Files whose bytes an earlier backup holds (an incremental's unchanged files): from the
    //     newest catalog, read where it says, checked against its sha256 like any other.
    //     (Only when a catalog read above named one: restoreReferenced reads the same catalogs.)
    if (referenced) await restoreReferenced();

    // 2. The tars themselves: every header is read (and damage reported); what no catalog covered is
    //    restored from them, and parts of files whose last part is on a volume not given are gathered.
    for (const [i, v] of unique.entries()) {
      const r = readers[i] as RandomReader;
      const number = v.volume ?? 1;
      const catalogTrusted = trusted.has(number);
      await walkArchive(r, {
        dir: async (path) => {
          if (!catalogTrusted && !opts.verifyOnly) await dirsFromCatalog(dest, pool, path, report);
        },
        blob: async (dir, entry, start, size) => {
          if (catalogTrusted || restored.has(`${number}:${start}`)) return;
          await extractOne(sliceOf(r, start), size, dir, entry);
        },
        part: async (dir, base, index, start, size) => {
          if (restored.has(`${number}:${start}`)) return;
          const key = [...dir, base].join('/');
          const s = splits.get(key) ?? { dir, base, parts: new Map() };
          s.parts.set(index, { r, start, size, volume: v.volume });
          splits.set(key, s);
        },
        record: async () => undefined,
        problem: (path, reason, kind) => report(path, reason, kind === 'damaged' ? 'header' : kind),
      });
    }

    // Split files found by walking (no catalog): complete when parts 1..n are all here and add up to the whole zip.
    for (const s of splits.values()) {
      const indexes = [...s.parts.keys()].sort((a, b) => a - b);
      const parts = indexes.map((i) => s.parts.get(i) as { r: RandomReader; start: number; size: number; volume: number | null });
      const shown = stripZip([...s.dir, s.base].join('/'));
      const total = parts.reduce((n, p) => n + p.size, 0);
      let whole: number | null = null;
      if (indexes[0] === 1) {
        try {
          const first = parts[0] as { r: RandomReader; start: number; size: number };
          const h = parseLocalHeader(Buffer.from(await first.r.read(first.start, Math.min(first.size, 30 + 65535 * 2))));
          whole = h.headerLength + h.info.compressedSize + trailerLength(h);
        } catch {
          whole = null;
        }
      }
      const contiguous = indexes.every((n, k) => n === k + 1);
      if (contiguous && whole !== null && whole === total) {
        await extractOne(concatOf(parts), total, s.dir, s.base, { nameOk: partBaseMatches });
        continue;
      }
      // Parts lie one per volume on consecutive volumes: the volume of part j follows from any part's.
      const known = indexes.map((n, k) => ({ n, v: parts[k]?.volume ?? null })).find((x) => x.v !== null);
      const need: number[] = [];
      const maxIndex = indexes[indexes.length - 1] as number;
      if (known) for (let j = 1; j <= maxIndex; j++) if (!s.parts.has(j)) need.push((known.v as number) - known.n + j);
      const after = whole !== null && total >= whole ? null : known ? (known.v as number) - known.n + maxIndex + 1 : null;
      const guess = [...need.map((n) => `volume ${n}`), ...(after !== null && (expected === null || after <= expected) ? [`volume ${after}${expected === null ? ' and maybe later ones' : after < expected ? ` (and maybe up to ${expected})` : ''}`] : [])];
      incompleteSplits.set(shown, `split across volumes and incomplete here${guess.length ? `: insert ${guess.join(', ')}` : ''}`);
    }

    // Every file is written (and its problems listed) before the structure is applied.
    await pool.settle();
    if (sSrc && opts.verifyOnly) {
      for await (const e of structureEntries(sSrc, (where, reason) => report(where, reason, 'header'))) void e;
      for (const [path, why] of incompleteSplits) report(path, why, 'missing');
    } else if (sSrc) {
      const missingFiles = new Set<string>();
      const applyReport =
        (order?: number) =>
        (path: string, reason: string, kind: ProblemKind): void => {
          if (kind === 'missing' && missingVolumes.length + splits.size > 0 && reason === 'the file is missing') missingFiles.add(path);
          else report(path, reason, kind, order);
        };
      // Files' owners, modes and times are set by the pool's threads (if it runs) while the record is read on.
      structure = await applyStructure(selected(structureEntries(sSrc, (where, reason) => report(where, reason, 'header'))), dest, {
        owners: process.getuid?.() === 0,
        report: applyReport(),
        reportLater: () => applyReport(nextOrder++),
        expectedMissing: (p) => reported.has(p) || packSkipped.has(p) || incompleteSplits.has(p),
        files: pool,
      });
      if (missingFiles.size + incompleteSplits.size > 0) await explainMissing(missingFiles, incompleteSplits, unique, readers, present, report);
    } else {
      for (const [path, why] of incompleteSplits) report(path, why, 'missing');
      report(unique[0]?.archive ?? '', 'no structure record was found: files were restored without folders, links, modes, owners or times', 'missing');
    }
    if (missingVolumes.length > 0) {
      report(unique[0]?.dir ?? '', `volume(s) ${missingVolumes.join(', ')} of ${expected} were not given: insert them to restore the rest`, 'missing');
    }
  } finally {
    await pool.close();
    for (const r of readers) await r.close();
    for (const r of refReaders.values()) await r.close();
  }
  const problems = found.sort((a, b) => a.order - b.order).map((f) => f.problem);
  return { plan: restore.plan, dest: dest.root, files, bytes, damagedBytes, structure, problems };
}

/** Name the volumes holding files that are missing, from the newest catalog at hand (it covers volumes 1..N). */
async function explainMissing(
  missing: Set<string>,
  splits: Map<string, string>,
  volumes: readonly VolumeSource[],
  readers: readonly RandomReader[],
  present: ReadonlySet<number>,
  report: (path: string, reason: string, kind: Problem['kind']) => void,
): Promise<void> {
  const last = volumes.length - 1;
  const v = volumes[last] as VolumeSource;
  const cSrc = await catalogSource(v, readers[last] as RandomReader);
  const newest = v.volume ?? 0;
  if (cSrc) {
    for await (const c of catalogLines(cSrc, () => undefined)) {
      if ('skipped' in c) continue;
      const on = [...new Set(c.parts.map((p) => p.volume))].filter((n) => !present.has(n));
      if (missing.delete(c.path)) report(c.path, on.length > 0 ? `on volume ${on.join(', ')}, which was not given` : 'the file is missing', 'missing');
      else if (splits.delete(c.path)) {
        const all = c.parts.map((p) => p.volume).join(', ');
        report(c.path, `split across volumes ${all}: insert volume ${on.join(', ')}`, 'missing');
      }
    }
  }
  for (const path of missing) report(path, `on a volume after volume ${newest}, which was not given`, 'missing');
  for (const [path, why] of splits) report(path, why, 'missing');
}

async function dirsFromCatalog(dest: Destination, pool: ExtractPool, path: readonly string[], report: (path: string, reason: string, kind: Problem['kind']) => void): Promise<void> {
  await pool.clearWayForDir(path);
  try {
    dest.ensureDir(path);
  } catch (e) {
    if (e instanceof XtarError) report(path.join('/'), e.message, 'refused');
    else if (isFatalIoError(e)) throw e;
    else report(path.join('/'), `cannot create the folder: ${entryErrorMessage(e)}`, 'failed');
  }
}

/** ownCatalog for each volume, decided once per run: deciding reads the whole record. */
class OwnCatalogs {
  private readonly chosen = new Map<VolumeSource, Promise<OwnCatalog | null>>();

  /**
   * With `lines`, when the choice is made by this call, the lines of each record tried are gathered
   * meanwhile; `gathered` says whether they are those of the record chosen, read whole.
   */
  async of(v: VolumeSource, r: RandomReader, lines?: Gatherer<CatalogLine>): Promise<{ cat: OwnCatalog | null; gathered: boolean }> {
    const known = this.chosen.get(v);
    if (known !== undefined) return { cat: await known, gathered: false };
    const choosing = ownCatalog(v, r, lines);
    this.chosen.set(v, choosing);
    const cat = await choosing;
    return { cat, gathered: lines !== undefined && cat !== null && cat.complete !== false };
  }
}

type OwnCatalog = RecordSource & { complete?: boolean };

/**
 * The catalog lines of a volume's own files: its catalog.jsonl when that reads cleanly to its end
 * line, else the copy inside its .xtar. `complete` is false when the record was cut short.
 */
async function ownCatalog(v: VolumeSource, r: RandomReader, lines?: Gatherer<CatalogLine>): Promise<OwnCatalog | null> {
  if (v.catalog !== null && (await recordIsWhole({ path: v.catalog, label: v.catalog }, decodeCatalogHeader, decodeCatalogLine, lines))) return { path: v.catalog, label: v.catalog };
  const copy = await catalogCopy(v, r);
  if (copy && (await recordIsWhole(copy, decodeCatalogHeader, decodeCatalogLine, lines))) return copy;
  if (v.catalog !== null) return { path: v.catalog, label: v.catalog, complete: false };
  return copy ? { ...copy, complete: false } : null;
}

/** Collects what a pass over a record finds; cleared when a pass over another record begins. */
interface Gatherer<T> {
  clear(): void;
  add(entry: T): void;
}

/** Whether a record reads cleanly from its header to its end line (one pass; its entries can be gathered meanwhile). */
async function recordIsWhole<T>(src: RecordSource, decodeHeader: (line: string, where: string) => unknown, decodeEntry: (line: string, where: string) => T, gather?: Gatherer<T>): Promise<boolean> {
  let n = 0;
  gather?.clear();
  try {
    for await (const line of readLines(src.path, src.range, src.gzip)) {
      if (n++ === 0) decodeHeader(line, src.label);
      else if (decodeTrailer(line) !== null) return true;
      else {
        const entry = decodeEntry(line, src.label);
        gather?.add(entry);
      }
    }
  } catch {
    return false;
  }
  return false;
}

function stripZip(path: string): string {
  return path.endsWith('.zip') ? path.slice(0, -4) : path;
}

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
  const problems: Problem[] = [];
  const report = (path: string, reason: string, kind: Problem['kind']): void => {
    problems.push({ path, reason, kind });
  };
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
    return { dest: dest.root, structure, renamed, pruned, problems };
  } finally {
    await reader?.close();
  }
}
