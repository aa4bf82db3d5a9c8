/**
 * The one state a pack's stages share — options, set, backup id, plan, index, recorder, pool,
 * volumes, counters — and its making (plan, id, work folder); no stage's logic lives here.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PARTIAL_PREFIX } from '../format/layout.js';
import { formatTimeNs } from '../format/records.js';
import { creationTime, freshBackupId, idTime } from '../set/backup-id.js';
import type { PackSealing } from '../set/encryption.js';
import type { SetIndex } from '../setindex/db.js';
import type { CompressPool } from './compress.js';
import type { PackOptions } from './pack.js';
import { historyOf, planBackup, policyOf, type BackupPlan } from './plan-backup.js';
import type { IndexRecorder } from './recorder.js';
import type { VolumeWriter } from './volume-writer.js';

/** What a backup is before anything of it is written: its plan, its id and its work folder. */
export interface BackupStart {
  /** The source as the index knows it: the tree, or the tree with a note for --since-cluster. */
  source: string;
  plan: BackupPlan;
  checksum: boolean;
  backupId: string;
  createdIso: string;
  /** mtime for the record copies' tar headers. */
  metaMtimeSec: number;
  workDir: string;
}

export interface PackContext extends BackupStart {
  readonly opts: PackOptions;
  readonly set: string;
  /** The absolute path of the folder backed up. */
  readonly tree: string;
  readonly level: number;
  readonly index: SetIndex;
  readonly pool: CompressPool;
  readonly recorder: IndexRecorder;
  /** The volumes being written (null: not yet, or finished or removed). */
  volumes: VolumeWriter | null;
  /** Files that changed while they were read. */
  readonly changed: string[];
  /** Bytes compressed into the spool first (large files near the end of a volume). */
  spooled: number;
  /** An encrypted set's recipients and key file (null: a plain set). */
  readonly sealing: PackSealing | null;
}

/** Plan the backup, choose its id and make its work folder. */
export async function startBackup(opts: PackOptions, set: string, tree: string, index: SetIndex): Promise<BackupStart> {
  const created = creationTime(opts.now);
  // A pack of only the recently changed files (--since-cluster) is not a state of the tree: it is
  // kept out of the tree's chain (no later backup builds on it), as a full backup of its own.
  const id = opts.sourceId ?? tree;
  const source = opts.changedSinceNs === undefined ? id : `${id} (files changed since ${formatTimeNs(opts.changedSinceNs)})`;
  const plan = planBackup(historyOf(index, source), policyOf(opts), created);
  const checksum = opts.checksum === true;
  const backupId = await freshBackupId(set, created);
  const createdIso = idTime(backupId, created).toISOString();
  const metaMtimeSec = Math.floor(idTime(backupId, created).getTime() / 1000);
  const workDir = join(set, `${PARTIAL_PREFIX}${backupId}-work`);
  await mkdir(workDir);
  return { source, plan, checksum, backupId, createdIso, metaMtimeSec, workDir };
}
