/**
 * The end of a pack: the volumes finished and renamed, the backup's index row completed, the set's
 * log line and the PackResult — or, when nothing changed, no backup and the result that says so.
 */
import { rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { IndexError } from '../errors.js';
import type { ScanResult } from '../scan/scan.js';
import { INDEX_FILE, type BackupRow } from '../setindex/db.js';
import { AGE_SUFFIX } from '../format/encryption.js';
import { rebuildCommand } from '../setindex/heal.js';
import { importBackup } from '../setindex/rebuild.js';
import { setVolumes } from '../set/locate.js';
import { logToSet } from '../set/lock.js';
import { join } from 'node:path';
import { VOLUME_CATALOG, VOLUME_STRUCTURE } from '../format/layout.js';
import type { PackContext } from './context.js';
import type { PackResult } from './pack.js';
import type { VolumeWriter } from './volume-writer.js';
import type { Structure } from './write-structure.js';

/**
 * The backup the tree is the same as (same structure record), when this is not a full backup. When
 * that backup skipped files, the tree is the same only if the same files cannot be read again:
 * commitBackup decides once every file was tried (sameSkipped).
 */
export function sameTreeAs(ctx: PackContext, st: Structure): BackupRow | null {
  const latest = ctx.plan.base === null ? null : ctx.index.latest(ctx.source);
  const same = latest !== null && latest.structureSha256 === st.sha256;
  return same && ctx.plan.kind !== 'full' ? latest : null;
}

/** This pack skipped exactly the files `latest` skipped (the trees being the same, equal counts and each one skipped there). */
function sameSkipped(ctx: PackContext, latest: BackupRow): boolean {
  const rec = ctx.recorder;
  return rec.skippedFiles === latest.skippedFiles && rec.skipped.every((s) => (ctx.index.lookup(latest.rowid, s.path)?.skipped ?? null) !== null);
}

/** No file, folder or link changed since `latest`: no backup is made; the set's log says so. */
export async function nothingChanged(ctx: PackContext, latest: BackupRow, scan: ScanResult): Promise<PackResult> {
  const skipped = [...scan.skipped, ...ctx.recorder.skipped];
  const { set, source, plan } = ctx;
  await rm(ctx.workDir, { recursive: true, force: true });
  await logToSet(set, new Date(), `pack ${source}: nothing changed since backup ${latest.id}; no backup made`);
  return {
    set,
    backupId: '',
    root: scan.root,
    volumes: [],
    files: scan.files,
    dirs: scan.dirs,
    entries: scan.entries,
    bytes: scan.bytes,
    archiveBytes: 0,
    recordBytes: 0,
    bytesWritten: 0,
    skipped,
    ignored: scan.ignored,
    changed: [],
    kind: plan.kind,
    base: latest.id,
    reason: `nothing changed since ${latest.id}`,
    nothingChanged: true,
    storedFiles: 0,
    storedBytes: 0,
    unchangedFiles: scan.files,
    renamedFiles: 0,
    deletedFiles: 0,
  };
}

/**
 * Finish the volumes and complete the backup's row; or, when with --checksum every file proved the
 * same as in `sameAs`, remove them and make no backup.
 */
export async function commitBackup(ctx: PackContext, st: Structure, vs: VolumeWriter, sameAs: BackupRow | null): Promise<PackResult> {
  const { set, source, plan, recorder: rec, backupId } = ctx;
  const scan = st.scan;
  if (sameAs !== null && rec.storedFiles === 0 && sameSkipped(ctx, sameAs)) {
    await vs.abort();
    ctx.volumes = null;
    rec.drop();
    return nothingChanged(ctx, sameAs, scan);
  }
  const written = await vs.finish();
  ctx.volumes = null;
  await rm(ctx.workDir, { recursive: true, force: true });
  let archiveBytes = 0;
  let recordBytes = 0;
  for (const v of written) {
    archiveBytes += (await stat(v.archive)).size;
    for (const name of [VOLUME_STRUCTURE, VOLUME_CATALOG]) recordBytes += (await stat(join(v.path, ctx.sealing === null ? name : name + AGE_SUFFIX))).size;
  }
  const deletedFiles = await recordBackup(ctx, st, written);
  // The backup is recorded: a log line that cannot be written (a full disk) does not undo it.
  await logToSet(
    set,
    new Date(),
    `pack ${source}: backup ${backupId}, ${plan.kind}${plan.base ? ` on ${plan.base.id}` : ''} (${plan.reason}): ${rec.storedFiles} file(s) stored, ${rec.unchangedFiles} unchanged${rec.renamedFiles ? ` (${rec.renamedFiles} renamed)` : ''}, ${deletedFiles} deleted, ${rec.skippedFiles} skipped, ${written.length} volume(s)`,
  ).catch(() => undefined);
  return {
    kind: plan.kind,
    base: plan.base?.id ?? null,
    reason: plan.reason,
    nothingChanged: false,
    storedFiles: rec.storedFiles,
    storedBytes: rec.storedBytes,
    unchangedFiles: rec.unchangedFiles,
    renamedFiles: rec.renamedFiles,
    deletedFiles,
    set,
    backupId,
    root: scan.root,
    volumes: written,
    files: scan.files,
    dirs: scan.dirs,
    entries: scan.entries,
    bytes: scan.bytes,
    archiveBytes,
    recordBytes,
    bytesWritten: vs.bytesWritten + ctx.spooled,
    skipped: [...scan.skipped, ...rec.skipped],
    ignored: scan.ignored,
    changed: ctx.changed,
  };
}

/** How often the last commit is tried, and the pause before each retry (ms × attempt). */
const COMMIT_ATTEMPTS = 3;
const RETRY_PAUSE_MS = 200;

/**
 * Complete the backup's index rows, its volumes being in place; returns the files deleted since the
 * base. When the commit fails (a full disk), SQLite may have rolled back rows of the open batch, so a
 * retry imports the backup from its volumes afresh, as the next run would. When every try fails, the
 * run stops with a sentence naming the volumes (the backup is complete and restores) and saying that
 * the next pack brings the index up to date (recover.ts imports it).
 */
async function recordBackup(ctx: PackContext, st: Structure, written: readonly { volume: number; bytes: number; files: number; path: string }[]): Promise<number> {
  const { index, plan, recorder: rec, backupId, set } = ctx;
  // A path renamed since the base is not counted as deleted: the file lives on under its new name.
  const deleted = (row: number): number => (plan.base === null ? 0 : index.countDeleted(plan.base.rowid, row) - rec.renamedAway(row));
  let error: unknown;
  try {
    const n = deleted(rec.backupRow);
    rec.complete({
      volumeCount: written.length,
      volumes: written.map((v) => ({ number: v.volume, bytes: v.bytes, files: v.files })),
      files: st.scan.files,
      bytes: st.scan.bytes,
      structureSha256: st.sha256,
    });
    return n;
  } catch (e) {
    error = e;
  }
  for (let attempt = 1; attempt < COMMIT_ATTEMPTS; attempt++) {
    await sleep(RETRY_PAUSE_MS * attempt);
    try {
      index.rollback();
      const old = index.backup(backupId);
      if (old !== null) index.dropBackup(old.rowid);
      rec.forget();
      await importBackup(index, backupId, (await setVolumes(set)).get(backupId) ?? []);
      return deleted((index.backup(backupId) as BackupRow).rowid);
    } catch (e) {
      error = e;
    }
  }
  rec.forget();
  const file = join(set, INDEX_FILE);
  throw new IndexError(
    `Backup ${backupId} is complete on disk and restores (${written.map((v) => v.path).join(', ')}), but the set's index ${file} could not record it after ${COMMIT_ATTEMPTS} tries (${(error as Error).message.replace(/\.$/, '')}). The next pack (or \`${rebuildCommand(set)}\`) brings the index up to date from the volumes.`,
    error,
  );
}
