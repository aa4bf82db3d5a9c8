/**
 * Why files the structure record lists are missing: the volumes that hold them (or their parts),
 * from the newest catalog at hand. Finding that they are missing is apply-structure.ts's job.
 */
import { catalogSource } from './choose-records.js';
import type { RestoreContext } from './context.js';
import type { VolumeSource } from '../set/locate.js';
import type { RandomReader } from './random-reader.js';
import { catalogLines } from '../set/read-records.js';

/**
 * List each missing file with the volume holding it, and each split file left incomplete
 * (ctx.incompleteSplits, emptied on the way) with the volumes to insert; the newest catalog covers volumes 1..N.
 */
export async function explainMissing(ctx: RestoreContext, missing: Set<string>): Promise<void> {
  const { log, present } = ctx;
  const splits = ctx.incompleteSplits;
  const last = ctx.volumes.length - 1;
  const v = ctx.volumes[last] as VolumeSource;
  const cSrc = await catalogSource(v, ctx.readers[last] as RandomReader);
  const newest = v.volume ?? 0;
  if (cSrc) {
    for await (const c of catalogLines(cSrc, () => undefined)) {
      if ('skipped' in c) continue;
      const on = [...new Set(c.parts.map((p) => p.volume))].filter((n) => !present.has(n));
      if (missing.delete(c.path)) {
        if (on.length > 0) log.reportOnAbsentVolume(c.path, `on volume ${on.join(', ')}, which was not given`, on[0] as number);
        else log.report(c.path, 'the file is missing', 'missing');
      }
      else if (splits.delete(c.path)) {
        const all = c.parts.map((p) => p.volume).join(', ');
        log.report(c.path, `split across volumes ${all}: insert volume ${on.join(', ')}`, 'missing');
      }
    }
  }
  for (const path of missing) log.reportOnAbsentVolume(path, `on a volume after volume ${newest}, which was not given`, 'after');
  reportIncompleteSplits(ctx);
}

/** List the split files that could not be joined (ctx.incompleteSplits), with why. */
export function reportIncompleteSplits(ctx: RestoreContext): void {
  for (const [path, why] of ctx.incompleteSplits) ctx.log.report(path, why, 'missing');
}
