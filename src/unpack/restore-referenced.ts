/**
 * Stage 1b, restore referenced blobs: an incremental's unchanged files, whose bytes an earlier
 * backup's volumes hold — read where the newest catalog says, checked against its sha256 like any
 * other. The target's own files are restore-by-catalog.ts's.
 */
import type { CatalogFile } from '../format/records.js';
import type { RestoreContext } from './context.js';
import { concatOf, sliceOf } from './extract.js';
import { RandomReader } from './random-reader.js';
import { catalogLines } from '../set/read-records.js';
import { restoreBlob } from './restore-blob.js';
import { volumeKey } from './select.js';

/**
 * Newest volume first: a whole catalog.jsonl covers the volumes before it (stop there); a copy
 * inside an .xtar holds only its own volume's lines. So no line is read twice.
 */
export async function restoreReferenced(ctx: RestoreContext): Promise<void> {
  for (const [i, v] of [...ctx.volumes.entries()].reverse()) {
    const { cat } = await ctx.catalogs.of(v, ctx.readers[i] as RandomReader);
    if (!cat) continue;
    for await (const c of catalogLines(cat, () => undefined)) {
      if ('skipped' in c || c.backup === undefined || !ctx.filter.selects(c.path)) continue;
      await restoreRef(ctx, c);
    }
    if (cat.complete !== false && cat.range === undefined) break;
  }
}

async function restoreRef(ctx: RestoreContext, c: CatalogFile): Promise<void> {
  const holder = c.backup as string;
  const parts: { r: RandomReader; start: number; size: number }[] = [];
  const absent: number[] = [];
  for (const p of c.parts) {
    const key = volumeKey(holder, p.volume);
    let r = ctx.refReaders.get(key);
    const v = ctx.others.get(key);
    if (r === undefined && v !== undefined) {
      r = await RandomReader.open(v.archive, ctx.reads);
      ctx.refReaders.set(key, r);
    }
    if (r === undefined) absent.push(p.volume);
    else parts.push({ r, start: p.offset, size: p.length });
  }
  if (absent.length > 0) {
    ctx.log.reportOnAbsentVolume(c.path, `its bytes are in backup ${holder}, volume ${[...new Set(absent)].join(', ')}, which was not given`, absent[0] as number, holder);
    return;
  }
  const comps = c.path.split('/');
  const name = comps[comps.length - 1] as string;
  const stored = (c.as ?? c.path).slice((c.as ?? c.path).lastIndexOf('/') + 1);
  const dir = comps.slice(0, -1);
  const made = ctx.sink.makeDirs(dir, ctx.pool, ctx.log);
  if (made !== undefined) await made;
  const total = parts.reduce((n, p) => n + p.size, 0);
  const src = parts.length === 1 ? sliceOf(parts[0]!.r, parts[0]!.start) : concatOf(parts);
  await restoreBlob(ctx, src, total, dir, name, { nameOk: (_e, inner) => inner === stored, sha256: c.sha256, saveAs: name });
}
