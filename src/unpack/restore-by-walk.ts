/**
 * Stage 2, restore by walking the tar: every header is read (and damage listed); what no catalog
 * covered is restored from it, and parts of split files are gathered for join-splits.ts. A volume
 * is walked unless the catalog restore accounted for it whole: its catalog checked, and the bytes it
 * read, then the rest of the archive read on to its end, followed by its TarTracker through every
 * header without a fault, no sector unreadable and every blob restored — then the walk could find
 * nothing, and the archive is read once, front to back. Otherwise the walk finds (and lists) the
 * damaged or unreadable header no file's blob stands on (test/e2e/eio.test.ts). An archive in
 * object storage restored in part by a checked catalog is not walked: only the blobs are fetched.
 */
import { blobKey, type RestoreContext } from './context.js';
import { sliceOf } from './extract.js';
import type { RandomReader } from './random-reader.js';
import { restoreBlob } from './restore-blob.js';
import { walkArchive } from './walk-archive.js';
import { isSafeComponent } from '../format/names.js';

export async function restoreByWalk(ctx: RestoreContext): Promise<void> {
  const { log, splits } = ctx;
  for (const [i, v] of ctx.volumes.entries()) {
    const r = ctx.readers[i] as RandomReader;
    const number = v.volume ?? 1;
    const catalogTrusted = ctx.trusted.has(number);
    // In object storage, restoring some files by a catalog that checked out: the walk could only
    // list header damage around other files, at the cost of fetching the whole archive.
    if (r.isRemote && catalogTrusted && !ctx.filter.all) continue;
    if (await accountedFor(ctx, i, number, catalogTrusted)) continue;
    await walkArchive(r, {
      dir: async (path) => {
        const made = catalogTrusted ? undefined : ctx.sink.makeDirs(path, ctx.pool, log);
        if (made !== undefined) await made;
      },
      blob: async (dir, entry, start, size) => {
        if (catalogTrusted || ctx.restored.has(blobKey(number, start))) return;
        await restoreBlob(ctx, sliceOf(r, start), size, dir, entry);
      },
      member: async (dir, bundle, start, size) => {
        if (catalogTrusted || ctx.restored.has(blobKey(number, start))) return;
        // The member's own name is the file's (nothing in the bundle's entry name to check it against): one safe name.
        await restoreBlob(ctx, sliceOf(r, start), size, dir, bundle, { nameOk: (_e, inner) => isSafeComponent(inner) });
      },
      part: async (dir, base, index, start, size) => {
        if (ctx.restored.has(blobKey(number, start))) return;
        const key = [...dir, base].join('/');
        const s = splits.get(key) ?? { dir, base, parts: new Map() };
        s.parts.set(index, { r, start, size, volume: v.volume });
        splits.set(key, s);
      },
      record: async () => undefined,
      problem: (path, reason, kind) => {
        if (kind === 'unreadable') ctx.unreadableArchives++;
        log.report(path, reason, kind === 'refused' ? kind : 'header');
      },
    });
  }
}


/** Whether the catalog restore of volume `i` left the walk nothing to find (reading the archive on to its end to know). */
async function accountedFor(ctx: RestoreContext, i: number, number: number, catalogTrusted: boolean): Promise<boolean> {
  const r = ctx.readers[i] as RandomReader;
  const t = ctx.trackers[i];
  r.track(null);
  if (t === undefined || !catalogTrusted || t.state === 'failed') return false;
  r.track(t);
  try {
    // (Also past the tar's end: every byte is read, so an unreadable sector anywhere is seen.)
    await r.readOn(t.covered);
  } finally {
    r.track(null);
  }
  const clean = t.state === 'complete' && t.covered >= r.size && (ctx.reads.bad.get(r.path)?.length ?? 0) === 0 && t.blobs.equals(ctx.restoredTally.get(number));
  if (clean) ctx.walkSkipped++;
  return clean;
}
