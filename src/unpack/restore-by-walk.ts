/**
 * Stage 2, restore by walking the tar: every header is read (and damage listed); what no catalog
 * covered is restored from it, and parts of split files are gathered for join-splits.ts. Every
 * volume is walked, also one its catalog accounts for whole: the walk is what finds (and lists) a
 * damaged or unreadable header no file's blob stands on (test/e2e/eio.test.ts).
 */
import { blobKey, type RestoreContext } from './context.js';
import { sliceOf } from './extract.js';
import type { RandomReader } from './random-reader.js';
import { restoreBlob } from './restore-blob.js';
import { walkArchive } from './walk-archive.js';

export async function restoreByWalk(ctx: RestoreContext): Promise<void> {
  const { log, splits } = ctx;
  for (const [i, v] of ctx.volumes.entries()) {
    const r = ctx.readers[i] as RandomReader;
    const number = v.volume ?? 1;
    const catalogTrusted = ctx.trusted.has(number);
    await walkArchive(r, {
      dir: async (path) => {
        const made = catalogTrusted ? undefined : ctx.sink.makeDirs(path, ctx.pool, log);
        if (made !== undefined) await made;
      },
      blob: async (dir, entry, start, size) => {
        if (catalogTrusted || ctx.restored.has(blobKey(number, start))) return;
        await restoreBlob(ctx, sliceOf(r, start), size, dir, entry);
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

