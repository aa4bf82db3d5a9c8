/**
 * Stage 1, restore by catalog: each volume's catalog says where every blob lies, so its files are
 * restored from there whatever happened to the tar headers, each with its owner, mode and times
 * from the structure record, read alongside (structure-cursor.ts). Which catalog copy is read is
 * choose-records.ts's choice; files held by earlier backups are restore-referenced.ts's.
 */
import { catalogSource } from './choose-records.js';
import type { RestoreContext } from './context.js';
import type { BlobPart } from '../format/records.js';
import { concatOf, sliceOf } from './extract.js';
import type { RandomReader } from './random-reader.js';
import { BadCatalogLine, catalogBatches, catalogLines } from '../set/read-records.js';
import { restoreBlob, type BlobChecks } from './restore-blob.js';
import { StructureCursor } from './structure-cursor.js';

/**
 * Each file is restored with the volume of its last part, from all its parts. The files pack could
 * not read are noted on the way (from catalog.jsonl, as the structure's list of missing files is
 * explained by it). Says whether any selected file's bytes are an earlier backup's.
 */
export async function restoreByCatalog(ctx: RestoreContext): Promise<boolean> {
  const { filter, log, byVolume } = ctx;
  let referenced = false;
  // Volumes where a blob was not where an unchecked catalog said: the tar walk reads them after all.
  const untrust = new Set<number>();
  let hinted = false;
  for (const [i, v] of ctx.volumes.entries()) {
    const r = ctx.readers[i] as RandomReader;
    const number = v.volume ?? 1;
    const { cat: own } = await ctx.catalogs.of(v, r);
    for (const n of own?.notes ?? []) log.report(n.path, n.reason, 'header');
    const plain = await catalogSource(v, r);
    // A catalog.jsonl that failed its check lends nothing: the copy used holds this volume's skipped files.
    const skipsFromOwn = own !== null && (own.plainDamaged === true || (plain !== null && own.path === plain.path && own.range?.start === plain.range?.start));
    if (plain && !skipsFromOwn) for await (const c of catalogLines(plain, () => undefined)) if ('skipped' in c) ctx.packSkipped.add(c.path);
    if (!own) continue;
    // An unchecked catalog (from before digests, or damaged in every copy) may point wrong: a blob
    // that fails where it says is left to the tar walk, which reports it only if it fails there too.
    const hint = own.checked !== true;
    hinted ||= hint;
    let badLines = 0;
    // Writing, each file gets its owner, mode and times from the structure record as it is written.
    const structure = ctx.sink.dest !== null && ctx.structureSrc !== null ? new StructureCursor(ctx.structureSrc, process.getuid?.() === 0) : null;
    try {
      // (A read's lines at a time: one await per 256 KiB of catalog, not per line.)
      for await (const batch of catalogBatches(own)) {
        for (const c of batch) {
          if (c instanceof BadCatalogLine) {
            badLines++;
            log.report(c.where, c.reason, 'header');
            continue;
          }
          if ('skipped' in c) {
            if (skipsFromOwn) ctx.packSkipped.add(c.path);
            continue;
          }
          if (c.backup !== undefined) {
            referenced ||= filter.selects(c.path);
            continue;
          }
          if (!filter.selects(c.path)) continue;
          const last = c.parts[c.parts.length - 1];
          if (last === undefined || last.volume !== number) continue;
          // Hints: the blobs this line claims first (another line may rightly claim one it points to wrongly).
          const claimed: BlobPart[] | null = hint ? [] : null;
          let missing = false;
          for (const p of c.parts) {
            if (ctx.addRestored(p.volume, p.offset)) claimed?.push(p);
            missing ||= !byVolume.has(p.volume);
          }
          const comps = c.path.split('/');
          const name = comps[comps.length - 1] as string;
          if (missing) {
            const missingVols = c.parts.map((p) => p.volume).filter((n) => !byVolume.has(n));
            ctx.incompleteSplits.set(c.path, `split across volumes ${c.parts.map((p) => p.volume).join(', ')}: insert volume ${[...new Set(missingVols)].join(', ')}`);
            continue;
          }
          // (One part, as nearly every file: no arrays made for it.)
          const one = c.parts.length === 1 ? (c.parts[0] as BlobPart) : null;
          const parts = one !== null ? null : c.parts.map((p) => ({ r: byVolume.get(p.volume) as RandomReader, start: p.offset, size: p.length }));
          const total = one !== null ? one.length : (parts as { size: number }[]).reduce((n, p) => n + p.size, 0);
          const dir = comps.slice(0, -1);
          const made = ctx.sink.makeDirs(dir, ctx.pool, log);
          if (made !== undefined) await made;
          const src = one !== null ? sliceOf(byVolume.get(one.volume) as RandomReader, one.offset) : concatOf(parts as Parameters<typeof concatOf>[0]);
          const checks: BlobChecks = { nameOk: (_e, inner) => inner === name, sha256: c.sha256 };
          if (structure !== null) {
            const meta = await structure.metaOf(c.path);
            if (meta !== null) checks.meta = { meta, path: c.path, line: structure.lineNumber };
          }
          if (claimed !== null) {
            checks.deferDamage = () => {
              for (const p of claimed) ctx.deleteRestored(p.volume, p.offset);
              untrust.add(number);
            };
          }
          await restoreBlob(ctx, src, total, dir, name, checks);
        }
      }
    } finally {
      await structure?.close();
    }
    if (badLines === 0 && own.complete !== false) ctx.trusted.add(number);
  }
  if (hinted) {
    // Deferred failures may come from the pool's threads: every one is in before the walk begins.
    await ctx.pool.settle();
    for (const n of untrust) ctx.trusted.delete(n);
  }
  return referenced;
}
