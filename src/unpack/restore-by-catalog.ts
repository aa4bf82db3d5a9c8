/**
 * Stage 1, restore by catalog: each volume's catalog says where every blob lies, so its files are
 * restored from there whatever happened to the tar headers. Which catalog copy is read is
 * choose-records.ts's choice; files held by earlier backups are restore-referenced.ts's.
 */
import { catalogSource } from './choose-records.js';
import type { RestoreContext } from './context.js';
import { concatOf, sliceOf } from './extract.js';
import type { RandomReader } from './random-reader.js';
import { catalogLines } from '../set/read-records.js';
import { restoreBlob, type BlobChecks } from './restore-blob.js';

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
    for await (const c of catalogLines(own, (where, reason) => {
      badLines++;
      log.report(where, reason, 'header');
    })) {
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
      const claimed: string[] | null = hint ? [] : null;
      for (const p of c.parts) {
        const key = `${p.volume}:${p.offset}`;
        if (claimed !== null && !ctx.restored.has(key)) claimed.push(key);
        ctx.restored.add(key);
      }
      const comps = c.path.split('/');
      const name = comps[comps.length - 1] as string;
      const missingVols = c.parts.map((p) => p.volume).filter((n) => !byVolume.has(n));
      if (missingVols.length > 0) {
        ctx.incompleteSplits.set(c.path, `split across volumes ${c.parts.map((p) => p.volume).join(', ')}: insert volume ${[...new Set(missingVols)].join(', ')}`);
        continue;
      }
      const parts = c.parts.map((p) => ({ r: byVolume.get(p.volume) as RandomReader, start: p.offset, size: p.length }));
      const total = parts.reduce((n, p) => n + p.size, 0);
      const dir = comps.slice(0, -1);
      const made = ctx.sink.makeDirs(dir, ctx.pool, log);
      if (made !== undefined) await made;
      const src = parts.length === 1 ? sliceOf(parts[0]!.r, parts[0]!.start) : concatOf(parts);
      const checks: BlobChecks = { nameOk: (_e, inner) => inner === name, sha256: c.sha256 };
      if (claimed !== null) {
        checks.deferDamage = () => {
          for (const key of claimed) ctx.restored.delete(key);
          untrust.add(number);
        };
      }
      await restoreBlob(ctx, src, total, dir, name, checks);
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
