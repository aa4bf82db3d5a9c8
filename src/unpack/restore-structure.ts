/**
 * The last stage, once every file is done: apply the structure record under the destination (or,
 * verifying, only read it through), list what is still missing, and the volumes not given. How an
 * entry is applied is apply-structure.ts's; naming the volumes that hold missing files, explain-missing.ts's.
 */
import type { StructureEntry } from '../format/records.js';
import type { Destination } from '../dest/destination.js';
import { applyStructure, type ApplyResult, type ProblemKind } from './apply-structure.js';
import type { Problem } from './problem-log.js';
import type { RestoreContext } from './context.js';
import { explainMissing, reportIncompleteSplits } from './explain-missing.js';
import { structureEntries, type RecordSource } from '../set/read-records.js';

/** The record's entries that are selected, and the folders above them (kept for their modes and times). */
async function* selected(ctx: RestoreContext, entries: AsyncIterable<StructureEntry>): AsyncGenerator<StructureEntry> {
  const { filter } = ctx;
  const { keepDirs } = ctx.facts;
  for await (const e of entries) if (filter.selects(e.path) || (e.type === 'dir' && keepDirs.has(e.path))) yield e;
}

/** Apply the structure record to `dest`; files missing where volumes or parts are missing are explained after. */
export async function applyStructureRecord(ctx: RestoreContext, src: RecordSource, dest: Destination): Promise<ApplyResult> {
  const { log } = ctx;
  const missingFiles = new Set<string>();
  const applyReport =
    (order?: number) =>
    (path: string, reason: string, kind: ProblemKind): void => {
      if (kind === 'missing' && ctx.missingVolumes.length + ctx.splits.size > 0 && reason === 'the file is missing') missingFiles.add(path);
      else log.report(path, reason, kind, order);
    };
  // Files whose writer set their metadata are passed over undecoded (and counted); other files'
  // owners, modes and times are set by the pool's threads (if it runs) while the record is read on.
  let setByWriter = 0;
  const { metaDone, metaRedo } = ctx;
  const skipFile = metaDone.size === 0 ? undefined : (line: number, path: string): boolean => metaDone.delete(line) && !(metaRedo.size > 0 && metaRedo.has(path)) && ++setByWriter > 0;
  const structure = await applyStructure(selected(ctx, structureEntries(src, (where, reason) => log.report(where, reason, 'header'), skipFile)), dest, {
    owners: process.getuid?.() === 0,
    report: applyReport(),
    reportLater: () => applyReport(log.place()),
    expectedMissing: (p) => log.has(p) || ctx.packSkipped.has(p) || ctx.incompleteSplits.has(p),
    files: ctx.pool,
  });
  structure.files += setByWriter;
  if (missingFiles.size + ctx.incompleteSplits.size > 0) await explainMissing(ctx, missingFiles);
  return structure;
}

/** Verifying: read the structure record through (listing its damage), then the split files that could not be joined. */
export async function checkStructureRecord(ctx: RestoreContext, src: RecordSource): Promise<void> {
  const { log } = ctx;
  for await (const e of structureEntries(src, (where, reason) => log.report(where, reason, 'header'))) void e;
  reportIncompleteSplits(ctx);
}

/** Without a structure record (none found, or none that checks): files were restored bare; say so. */
export function reportNoStructure(ctx: RestoreContext): void {
  reportIncompleteSplits(ctx);
  if (ctx.structureDamaged) {
    // Each damaged copy is already named; this says what became of the tree.
    ctx.log.report(ctx.volumes[0]?.archive ?? '', 'no copy of the structure record checks out, so none was applied: files were restored without folders\' modes, links, owners or times', 'header');
  } else ctx.log.report(ctx.volumes[0]?.archive ?? '', 'no structure record was found: files were restored without folders, links, modes, owners or times', 'missing');
}

/** A volume (of the backup, or of an earlier one holding its unchanged files) that was not given, named once with how many selected files it held. */
export interface NotGivenVolume {
  backup: string | null;
  /** Its number; null: one (or more) after `after`, the newest given, which one unknown (no manifest says). */
  volume: number | null;
  after: number;
  /** How many volumes its backup has (from a manifest), or null (not known, or an earlier backup). */
  of: number | null;
  /** The problem record naming the volume, and those of the files on it (also in the run's problems). */
  problem: Problem;
  files: Problem[];
}

/**
 * The volumes not given: each of the backup's that its manifest names, and each of an earlier
 * backup's that holds one of its unchanged files — one record each, with the count of the files on
 * it not restored (each also listed, by explain-missing.ts or restore-referenced.ts). With paths
 * chosen, a volume holding none of them is not named.
 */
export function reportMissingVolumes(ctx: RestoreContext, backup: string | null): NotGivenVolume[] {
  const { log } = ctx;
  const groups = log.onAbsentVolume;
  const own = (v: number | 'after'): Problem[] => groups.get(`:${v}`)?.problems ?? [];
  const where = ctx.volumes[0]?.dir ?? ctx.volumes[0]?.archive ?? '';
  const after = Math.max(0, ...ctx.present);
  const later = ctx.missingVolumes.filter((n) => n > after);
  // Files on "a volume after the newest given": that volume, when only one is missing there.
  const unplaced = own('after');
  const out: NotGivenVolume[] = [];
  const name = (v: string, b: string | null, of: number | null): string => `${v} of ${of === null ? '' : `${of} of `}${b === null ? 'this backup' : `backup ${b}`}`;
  const add = (b: string | null, volume: number | null, of: number | null, files: Problem[]): void => {
    const what = volume === null ? `the volume(s) after volume ${name(String(after), b, of)} were not given: ${files.length.toLocaleString('en-US')} file(s) on them` : `volume ${name(String(volume), b, of)} was not given: ${files.length.toLocaleString('en-US')} file(s) on it`;
    out.push({ backup: b, volume, after, of, problem: log.report(where, `${what} not restored`, 'missing'), files });
  };
  for (const n of ctx.missingVolumes) {
    const files = [...own(n), ...(later.length === 1 && n === later[0] ? unplaced : [])];
    if (files.length > 0 || ctx.filter.all) add(backup, n, ctx.expected, files);
  }
  if (unplaced.length > 0 && later.length !== 1) add(backup, null, ctx.expected, unplaced);
  // An earlier backup's volumes, holding unchanged files.
  const earlier = [...groups.values()].filter((g) => g.backup !== null && typeof g.volume === 'number');
  earlier.sort((a, b) => (a.backup as string).localeCompare(b.backup as string) || (a.volume as number) - (b.volume as number));
  for (const g of earlier) add(g.backup, g.volume as number, null, g.problems);
  return out;
}
