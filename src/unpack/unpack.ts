/**
 * `xtar unpack` and `xtar expand-structure`: restore files from volumes under --dest, then apply the
 * structure record. Refused, damaged and missing entries are listed; the rest is restored.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { entryErrorMessage, InputError, isFatalIoError, XtarError } from '../errors.js';
import { ARCHIVE_SUFFIX } from '../format/layout.js';
import { applyStructure, type ApplyResult, type ProblemKind } from './apply-structure.js';
import { Destination } from './dest.js';
import { extractBlob } from './extract.js';
import { locate, type VolumeSource } from './locate.js';
import { RandomReader } from './random-reader.js';
import { catalogLines, structureEntries, type RecordSource } from './read-records.js';
import { walkArchive, topLevelRecords } from './walk-archive.js';

export interface Problem {
  path: string;
  reason: string;
  kind: ProblemKind | 'damaged';
}

export interface UnpackOptions {
  inputs: readonly string[];
  dest: string;
  onProgress?: (p: { files: number; bytes: number }) => void;
}

export interface UnpackResult {
  dest: string;
  files: number;
  bytes: number;
  structure: ApplyResult | null;
  problems: Problem[];
}

/** Choose the structure record: the volume's own file, else the copy inside its .xtar. */
async function structureSource(v: VolumeSource, r: RandomReader): Promise<RecordSource | null> {
  if (v.structure !== null) return { path: v.structure, label: v.structure };
  const recs = await topLevelRecords(r);
  const s = recs.structure;
  return s ? { path: v.archive, range: { start: s.start, end: s.start + s.size }, label: `${v.archive} (structure copy)`, gzip: true } : null;
}

async function catalogSource(v: VolumeSource, r: RandomReader): Promise<RecordSource | null> {
  if (v.catalog !== null) return { path: v.catalog, label: v.catalog };
  const recs = await topLevelRecords(r);
  const c = recs.catalog;
  return c ? { path: v.archive, range: { start: c.start, end: c.start + c.size }, label: `${v.archive} (catalog copy)`, gzip: true } : null;
}

export async function unpack(opts: UnpackOptions): Promise<UnpackResult> {
  const volumes: VolumeSource[] = [];
  for (const input of opts.inputs) volumes.push(...(await locate(input)));
  const dest = new Destination(opts.dest);
  const problems: Problem[] = [];
  const reported = new Set<string>();
  const report = (path: string, reason: string, kind: Problem['kind']): void => {
    problems.push({ path, reason, kind });
    reported.add(path);
  };
  let files = 0;
  let bytes = 0;
  let structure: ApplyResult | null = null;

  for (const v of volumes) {
    const r = await RandomReader.open(v.archive);
    try {
      const sSrc = await structureSource(v, r);
      const sparse = new Set<string>();
      const packSkipped = new Set<string>();
      if (sSrc) {
        for await (const e of structureEntries(sSrc, () => undefined)) if (e.sparse) sparse.add(e.path);
      }
      const cSrc = await catalogSource(v, r);
      if (cSrc) {
        for await (const c of catalogLines(cSrc, () => undefined)) if ('skipped' in c) packSkipped.add(c.path);
      }

      await walkArchive(r, {
        dir: async (path) => {
          try {
            await dest.ensureDir(path);
          } catch (e) {
            if (e instanceof XtarError) report(path.join('/'), e.message, 'refused');
            else if (isFatalIoError(e)) throw e;
            else report(path.join('/'), `cannot create the folder: ${entryErrorMessage(e)}`, 'failed');
          }
        },
        blob: async (dir, entry, start, size) => {
          const shown = [...dir, entry].join('/');
          try {
            const f = await extractBlob(r, dest, dir, entry, start, size, (p) => sparse.has(p));
            files++;
            bytes += f.size;
            opts.onProgress?.({ files, bytes });
          } catch (e) {
            if (e instanceof XtarError) report(stripZip(e.path ?? shown), e.message, e.code === 'EUNSAFE' ? 'refused' : 'damaged');
            else if (isFatalIoError(e)) throw e;
            else report(stripZip(shown), `cannot write the file: ${entryErrorMessage(e)}`, 'failed');
          }
        },
        record: async () => undefined,
        problem: (path, reason, kind) => report(path, reason, kind),
      });

      if (sSrc) {
        structure = await applyStructure(
          structureEntries(sSrc, (where, reason) => report(where, reason, 'damaged')),
          dest,
          {
            owners: process.getuid?.() === 0,
            report: (path, reason, kind) => report(path, reason, kind),
            expectedMissing: (p) => reported.has(p) || packSkipped.has(p),
          },
        );
      } else {
        report(v.archive, 'no structure record was found: files were restored without folders, links, modes, owners or times', 'missing');
      }
    } finally {
      await r.close();
    }
  }
  return { dest: dest.root, files, bytes, structure, problems };
}

function stripZip(path: string): string {
  return path.endsWith('.zip') ? path.slice(0, -4) : path;
}

export interface ExpandOptions {
  input: string;
  dest: string;
}

export interface ExpandResult {
  dest: string;
  structure: ApplyResult;
  problems: Problem[];
}

/** Apply a structure record (from a set, a volume, an .xtar's copy, or a structure file) to --dest. */
export async function expandStructure(opts: ExpandOptions): Promise<ExpandResult> {
  const abs = resolve(opts.input);
  let src: RecordSource | null = null;
  let reader: RandomReader | null = null;
  const st = await stat(abs).catch(() => null);
  if (st === null) throw new InputError(`${opts.input} does not exist.`, opts.input);
  if (st.isFile() && !abs.endsWith(ARCHIVE_SUFFIX)) {
    src = { path: abs, label: opts.input, gzip: abs.endsWith('.gz') };
  } else {
    const v = (await locate(opts.input))[0] as VolumeSource;
    reader = await RandomReader.open(v.archive);
    src = await structureSource(v, reader);
    if (src === null) throw new InputError(`${opts.input} holds no structure record.`, opts.input);
  }
  const problems: Problem[] = [];
  try {
    const dest = new Destination(opts.dest);
    const structure = await applyStructure(
      structureEntries(src, (where, reason) => problems.push({ path: where, reason, kind: 'damaged' })),
      dest,
      { owners: process.getuid?.() === 0, report: (path, reason, kind) => problems.push({ path, reason, kind }) },
    );
    return { dest: dest.root, structure, problems };
  } finally {
    await reader?.close();
  }
}
