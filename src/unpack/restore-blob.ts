/**
 * Restore (or only check, by the sink) one blob — the per-file path every stage hands its files to:
 * a small blob goes to the pool, a large one is streamed here; the outcome is counted and its
 * problem listed in the file's place. Finding the blobs is the stages' job.
 */
import { entryErrorMessage, InterruptedError, isFatalIoError, XtarError } from '../errors.js';
import { KEPT_NEWER, KEPT_OLD } from '../dest/destination.js';
import type { RestoreContext } from './context.js';
import type { Outcome } from './extract-pool.js';
import type { DryRunListing } from './sink.js';
import type { FileMeta } from '../dest/file-meta.js';
import { readBlob, streamBlob, type ByteSource, type ExtractedFile, type ExtractOptions } from './extract.js';
import { maySeal, unsealBlob } from './unseal-blob.js';

export interface BlobChecks {
  nameOk?: (entry: string, inner: string) => boolean;
  sha256?: string;
  saveAs?: string;
  /**
   * A blob read where an unchecked catalog says: when it fails its checks or its name (not a write), this
   * is called instead of listing the damage — the tar walk may still find the file elsewhere.
   */
  deferDamage?: () => void;
  /**
   * The file's owner, mode and times from the structure record (its `path` there): its writer sets
   * them, and its line there goes to ctx.metaDone, which the structure's pass skips.
   */
  meta?: { meta: FileMeta; path: string; line: number };
}

const NO_CHECKS: BlobChecks = {};

/**
 * Restore (or check) one blob. A small one is finished by the pool, maybe later: its outcome is
 * counted and its problem listed then, in its place (`order`).
 */
export async function restoreBlob(ctx: RestoreContext, src: ByteSource, size: number, dir: string[], entry: string, more: BlobChecks = NO_CHECKS): Promise<void> {
  ctx.sink.dest?.stopIfInterrupted();
  // The file's path once the zip's own name is read; until then, the tar entry's (a short-form entry name is not the file's), made only if needed.
  let shown: string | null = null;
  const log = ctx.log;
  const order = log.place();
  // A dry run lists each file checked whole by what writing it would do (`verdict`).
  const dry = ctx.sink.dryRun;
  let verdict: keyof DryRunListing = 'write';
  const outcome: Outcome = {
    done: (f: ExtractedFile): void => {
      if (dry !== null || ctx.onFile !== undefined) {
        const path = [...dir, f.name].join('/');
        dry?.add(path, verdict);
        ctx.onFile?.(path);
      }
      const m = more.meta;
      if (f.metaSet === true && m !== undefined) {
        ctx.metaDone.add(m.line);
        if (ctx.metaRedo.size > 0) ctx.metaRedo.delete(m.path);
      } else if (m !== undefined) ctx.metaDone.delete(m.line);
      // (A file written again without metadata at a path whose metadata may have been set: the structure's pass sets it.)
      else if (ctx.metaDone.size > 0) ctx.metaRedo.add([...dir, f.name].join('/'));
      ctx.files++;
      ctx.bytes += f.size;
      ctx.onProgress?.({ files: ctx.files, bytes: ctx.bytes, totalBytes: Math.max(ctx.totalBytes, ctx.bytes) });
    },
    failed: (e: unknown): void => {
      const at = stripZip(shown ?? [...dir, entry].join('/'));
      if (e instanceof XtarError) {
        const where = e.path === undefined ? at : stripZip(e.path);
        if (e.code === KEPT_NEWER || e.code === KEPT_OLD) {
          // Kept by --keep-old-files (a refusal) or --keep-newer-files (a note): its metadata is left too.
          ctx.sink.dest?.kept.add(where);
          if (e.code === KEPT_OLD) log.report(where, e.message, 'refused', order);
          return;
        }
        if (e instanceof InterruptedError) throw e;
        if (more.deferDamage !== undefined) return more.deferDamage();
        if (e.code !== 'EUNSAFE') ctx.damagedBytes += size;
        log.report(where, e.message, e.code === 'EUNSAFE' ? 'refused' : 'damaged', order);
      } else if (isFatalIoError(e)) {
        // The destination's fault (full, read-only, ...): this file is listed, and the run ends (unpack.ts names the destination).
        log.report(at, `cannot write the file: ${entryErrorMessage(e, 'fatal')}`, 'failed', order);
        if (ctx.sink.dest !== null) ctx.sink.dest.notWritten++;
        throw e;
      } else log.report(at, `cannot write the file: ${entryErrorMessage(e)}`, 'failed', order);
    },
  };
  // Properties set one by one, not spread in: this runs once per file, on the thread that limits unpack.
  const o: ExtractOptions = { dest: ctx.sink.dest, dir, entry, isSparse: ctx.isSparse, keepDamaged: ctx.keepDamaged };
  if (more.nameOk) o.nameMatches = more.nameOk;
  if (more.sha256 !== undefined) o.sha256 = more.sha256;
  if (more.saveAs !== undefined) o.saveAs = more.saveAs;
  if (more.meta !== undefined) o.meta = more.meta.meta;
  let b: Awaited<ReturnType<typeof readBlob>>;
  // An encrypted set's blob (NAME.zip.age) is decrypted first, then read as any zip.
  let unsealed: Awaited<ReturnType<typeof unsealBlob>> = null;
  try {
    if (maySeal(size)) unsealed = await unsealBlob(src, size, [...dir, entry].join('/'));
    b = unsealed === null ? await readBlob(src, size, o) : await readBlob(unsealed.src, unsealed.size, o);
  } catch (e) {
    await unsealed?.close();
    outcome.failed(e);
    return;
  }
  shown = b.shown;
  if (dry !== null) {
    try {
      verdict = 'blob' in b ? dry.verdict(b.components, b.mtimeSec) : dry.verdict([...dir, b.name], b.header.info.mtimeSec);
    } catch (e) {
      outcome.failed(e);
      return;
    }
  }
  if ('blob' in b) {
    await unsealed?.close();
    await ctx.pool.add(b, outcome);
    return;
  }
  // Large (or kept when damaged): streamed by this thread, as ever.
  await ctx.pool.clearWayForFile([...dir, b.name]);
  let f: ExtractedFile;
  try {
    f = await streamBlob(b, o);
  } catch (e) {
    outcome.failed(e);
    return;
  } finally {
    await unsealed?.close();
  }
  outcome.done(f);
}

/** A blob's path without the .zip (or .zip.age) its tar entry carries. */
export function stripZip(path: string): string {
  if (path.endsWith('.zip.age')) return path.slice(0, -8);
  return path.endsWith('.zip') ? path.slice(0, -4) : path;
}
