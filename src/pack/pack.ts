/**
 * `xtar pack` as a pipeline, and its public types: under the set's lock, plan the backup (context,
 * plan-backup, decide) → scan to the structure record (write-structure) → compress and place every
 * file into volumes (lookahead, store-files, placement, volume-writer) → record it in the index
 * (recorder) → commit (commit): volumes appear under their final names only when all are complete.
 * Each stage is a module of its own; this file only calls them in order.
 */
import { lstat, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BackupKind } from '../format/records.js';
import type { Skipped } from '../scan/scan.js';
import { prepareSet } from '../set/prepare-set.js';
import { IndexError, InputError } from '../errors.js';
import { BUNDLE_MAX, BUNDLE_MIN } from './bundle.js';
import { INDEX_FILE, indexInMemoryOnly, type SetIndex } from '../setindex/db.js';
import { isIndexDamage, moveAside, openHealed, rebuildCommand } from '../setindex/heal.js';
import { lockSet } from '../set/lock.js';
import { holdsBackups, openKeys, packKeySource, packSealing, sealedFolder, type EncryptionRequest, type KeySource, type PackSealing } from '../set/encryption.js';
import { useKeys } from '../format/keyring.js';
import { AGE_SUFFIX } from '../format/encryption.js';
import { memoryIndex } from '../setindex/rebuild.js';
import { sealFile } from './seal-file.js';
import { existsSync } from 'node:fs';
import { recoverIncomplete } from '../setindex/recover.js';
import { join } from 'node:path';
import { commitBackup, nothingChanged, sameTreeAs } from './commit.js';
import { CompressPool } from './compress.js';
import { startBackup, type BackupStart, type PackContext } from './context.js';
import { requireXorriso } from './iso.js';
import { requirePar2 } from '../set/par2.js';
import { capJobs, checkPackOptions } from './options.js';
import { chooseRefresh, DEFAULT_SPLIT } from './plan-backup.js';
import { IndexRecorder } from './recorder.js';
import { storeFiles } from './store-files.js';
import { VolumeWriter, type VolumeSummary } from './volume-writer.js';
import { gzipStructure, writeStructure, type Structure } from './write-structure.js';
import { withRemoteSet } from './remote-pack.js';
import type { RemoteSet } from '../set/remote-set.js';
import type { SelectionOptions } from '../scan/select.js';

export interface PackOptions {
  source: string;
  /** The source as the index and volume.json name it (default: the absolute path of `source`); `command:NAME` for a command's output (command-source.ts). */
  sourceId?: string;
  out: string;
  /** Worker threads (default: the number of cores). */
  jobs?: number;
  /** Deflate level 0–9 (default 6; 0 stores). */
  level?: number;
  exclude?: readonly string[];
  /** What to leave out besides `exclude` (src/scan/select.ts): ignore files, flags, --max-age, --one-file-system. */
  select?: SelectionOptions;
  /** Creation time (default: now, or SOURCE_DATE_EPOCH when set). */
  now?: Date;
  /** Told of progress: while scanning every 1,000 files; while packing every 64 small files, after each large one, and at the end. */
  onProgress?: (p: PackProgress) => void;
  /** Largest volume folder in bytes (see parseVolumeSize); default: one volume, no limit. */
  volumeSize?: number;
  /** par2 recovery data, in percent, inside each volume folder (needs the par2 tool). */
  par2?: number;
  /** Only files (not folders) changed at or after this time, in ns since 1970. */
  changedSinceNs?: bigint;
  /** Also write each volume as an ISO 9660 image (Rock Ridge, Joliet) beside its folder (needs xorriso). */
  iso?: boolean;
  /** Checked between files; when it returns a reason, the pack stops and removes its partial volume. */
  signal?: AbortSignal;
  /** full, incremental, differential or cyclic; default: incremental when the set holds a backup of the source, else full. */
  mode?: BackupKind;
  /** A full backup after this many others since the last full (default 10; 0: never forced). */
  fullEvery?: number;
  /** A full backup once the last full is this old, in ms (default 30 days; 0: never forced). */
  fullAfterMs?: number;
  /** Cyclic: refresh 1/split of the files per run (default 10). */
  split?: number;
  /** Compare contents (sha256), not only size and mtime, to find changed files. */
  checksum?: boolean;
  /** Called with each file's path (as the records name it, `ROOT/…`) once its bytes are in a volume (`pack -v`). */
  onStored?: (path: string) => void;
  /** One line for the user when the set's index was healed (rebuilt, or a backup imported from its volumes). */
  onNote?: (line: string) => void;
  /** For a set in object storage: the storage class of the archives (`--storage-class`). */
  storageClass?: string;
  /** Set by withRemoteSet (remote-pack.ts): `out` is the cache folder of this set in object storage. */
  remote?: RemoteSet;
  /**
   * Encrypt (docs/FORMAT.md, "Encrypted sets"): with a passphrase the set gets a key of its own,
   * stored passphrase-encrypted on every volume; with recipients, to those too (or only). A set made
   * encrypted stays so: every later pack into it encrypts to its recipients, asked or not.
   */
  encrypt?: EncryptionRequest;
  /** How to open an encrypted set's key (its passphrase, or identity files): a pack into it reads the earlier backups' records. */
  keys?: KeySource;
  /** Keep the set's index (xtar-index.sqlite) on disk for an encrypted set: it then holds paths and sha256s in plain. */
  indexPlain?: boolean;
  /**
   * Bundle small files (docs/FORMAT.md, "Bundles"): files of at most 4 KiB of one folder, up to this
   * many (2–256) or 4 KiB of them, are stored in one zip, one tar entry. Not with an encrypted set.
   */
  bundle?: number;
}

export interface PackProgress {
  phase: 'scan' | 'pack';
  files: number;
  bytes: number;
  totalFiles: number;
  totalBytes: number;
}

export type VolumeInfo = VolumeSummary;

export interface PackResult {
  set: string;
  backupId: string;
  root: string;
  volumes: VolumeInfo[];
  files: number;
  dirs: number;
  entries: number;
  /** Bytes of the files before compression. */
  bytes: number;
  /** Bytes of the .xtar archives. */
  archiveBytes: number;
  /** Bytes of the records beside each archive (structure.jsonl and catalog.jsonl of every volume): part of the volumes' `bytes`. */
  recordBytes: number;
  /** Bytes handed to the file system while writing archives (overwrites of headers included). */
  bytesWritten: number;
  skipped: Skipped[];
  ignored: Skipped[];
  /** Files that changed while they were read: stored as read, reported. */
  changed: string[];
  kind: BackupKind;
  /** The backup this one's changes were taken against (null for a full backup). */
  base: string | null;
  /** Why this kind of backup. */
  reason: string;
  /** Nothing changed since the last backup: no backup was made (backupId is empty, volumes none). */
  nothingChanged: boolean;
  /** Files whose bytes this backup stored, and their size before compression. */
  storedFiles: number;
  storedBytes: number;
  /** Files whose bytes an earlier backup holds (unchanged, metadata only, or renamed). */
  unchangedFiles: number;
  /** Of those, files found under a new path (a rename or a copy). */
  renamedFiles: number;
  /** Files of the base backup no longer in the tree. */
  deletedFiles: number;
}

export async function pack(opts: PackOptions): Promise<PackResult> {
  return withRemoteSet(opts, packInto);
}

async function packInto(opts: PackOptions): Promise<PackResult> {
  const level = checkPackOptions(opts);
  const source = resolve(opts.source);
  if (opts.par2 !== undefined) await requirePar2();
  if (opts.iso) await requireXorriso();
  await requireSource(opts.source, source);
  const note = opts.onNote ?? ((): void => undefined);
  const jobs = capJobs(opts.jobs, note);
  const set = await prepareSet(opts.out);
  const unlock = await lockSet(set);
  let index: SetIndex | undefined;
  try {
    const sealing = await sealingFor(set, opts);
    if (await indexInMemoryOnly(set, { encrypting: sealing !== null, indexPlain: opts.indexPlain === true })) {
      // An encrypted set keeps no index on disk: it is made in memory from the volumes' records, each run.
      index = await memoryIndex(set);
    } else {
      // A lost or damaged index is made again from the volumes; a backup they hold that it lacks is imported.
      index = await openHealed(set, { write: true, note });
      for (const id of await recoverIncomplete(index, set)) note(`backup ${id} was complete on disk but not recorded in the set's index; imported it from its volumes.`);
    }
    return await packLocked({ ...opts, ...(jobs === undefined ? {} : { jobs }) }, set, source, level, index as SetIndex, sealing);
  } catch (e) {
    if (index === undefined || !isIndexDamage(e)) throw e;
    // Damage SQLite found mid-run: the file goes aside now, so the next run starts from the volumes.
    index.close();
    index = undefined;
    const file = join(set, INDEX_FILE);
    const aside = await moveAside(set).catch(() => null);
    throw new IndexError(
      `The set's index ${file} is damaged (${(e as Error).message.replace(/\.$/, '')}); ${aside === null ? 'move it away' : `it was moved to ${aside}`} and run the pack again (or \`${rebuildCommand(set)}\`): it is made again from the volumes.`,
      e,
    );
  } finally {
    index?.close();
    await unlock();
  }
}

/**
 * The set's sealing, its key opened when the set already holds backups (whose records the pack
 * reads): a wrong passphrase ends the run here, before anything is written.
 */
async function sealingFor(set: string, opts: PackOptions): Promise<PackSealing | null> {
  const hasBackups = await holdsBackups(set);
  const sealing = await packSealing(set, opts.encrypt, hasBackups, opts.now ?? new Date());
  if (sealing === null) return null;
  let identities = sealing.identities;
  if (identities === null && hasBackups && (opts.keys !== undefined || opts.indexPlain !== true || !existsSync(join(set, INDEX_FILE)))) {
    identities = await openKeys((await sealedFolder(set)) as NonNullable<Awaited<ReturnType<typeof sealedFolder>>>, set, packKeySource(opts.encrypt, opts.keys));
  }
  useKeys(identities);
  return sealing;
}

/** A source that is not there ends the run before anything is made: no set folder, no index. */
async function requireSource(given: string, source: string): Promise<void> {
  try {
    await lstat(source);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return; // the scan names any other failure
    throw new InputError(`The source ${given} does not exist; nothing was written.`, given, e);
  }
}

async function packLocked(opts: PackOptions, set: string, tree: string, level: number, index: SetIndex, sealing: PackSealing | null): Promise<PackResult> {
  if (opts.bundle !== undefined && !(Number.isInteger(opts.bundle) && opts.bundle >= BUNDLE_MIN && opts.bundle <= BUNDLE_MAX)) {
    throw new InputError(`--bundle-files must be a whole number from ${BUNDLE_MIN} to ${BUNDLE_MAX}, not ${opts.bundle}.`);
  }
  if (opts.bundle !== undefined && sealing !== null) {
    throw new InputError('--bundle cannot be used with an encrypted set: each blob is encrypted whole, so a bundle\'s files could no longer be read one by one.');
  }
  const start = await startBackup(opts, set, tree, index);
  let ctx: PackContext | undefined;
  try {
    // The workers start up (load their module) while the scan runs.
    ctx = { ...start, opts, set, tree, level, index, pool: new CompressPool(level, opts.jobs), recorder: new IndexRecorder(index), volumes: null, changed: [], spooled: 0, sealing };
    const st = await writeStructure(ctx);
    const sameAs = sameTreeAs(ctx, st);
    // Files that backup could not read are tried again: whether they still cannot be is known after.
    if (sameAs !== null && sameAs.skippedFiles === 0 && !ctx.checksum) return await nothingChanged(ctx, sameAs, st.scan);
    await gzipStructure(st, ctx.pool.gzipMember);
    if (sealing !== null) {
      // The records on the volumes are age files: the structure record and its copy are encrypted once, here.
      await sealFile(sealing.writer, st.path, st.path + AGE_SUFFIX);
      await sealFile(sealing.writer, st.gzPath, st.gzPath + AGE_SUFFIX, true);
    }
    ctx.recorder.begin({ id: ctx.backupId, kind: ctx.plan.kind, base: ctx.plan.base?.id ?? null, source: ctx.source, root: st.scan.root, created: ctx.createdIso });
    chooseRefresh(index, ctx.plan, opts.split ?? DEFAULT_SPLIT);
    const vs = (ctx.volumes = openVolumes(ctx, st));
    await vs.start();
    await storeFiles(ctx, st, vs);
    // With --checksum (or files skipped last time) the tree may prove unchanged only now that every file was read.
    return await commitBackup(ctx, st, vs, sameAs);
  } catch (e) {
    await abandon(start, ctx);
    throw e;
  } finally {
    await ctx?.pool.close();
  }
}

function openVolumes(ctx: PackContext, st: Structure): VolumeWriter {
  const { opts, plan } = ctx;
  return new VolumeWriter({
    set: ctx.set,
    backupId: ctx.backupId,
    root: st.scan.root,
    createdIso: ctx.createdIso,
    metaMtimeSec: ctx.metaMtimeSec,
    volumeSize: opts.volumeSize ?? null,
    structurePath: st.path + (ctx.sealing === null ? '' : AGE_SUFFIX),
    structureGzPath: st.gzPath + (ctx.sealing === null ? '' : AGE_SUFFIX),
    sealing: ctx.sealing,
    structureSha256: st.recordSha256,
    workDir: ctx.workDir,
    par2Percent: opts.par2 ?? null,
    iso: opts.iso === true,
    gzipMember: ctx.pool.gzipMember,
    kind: plan.kind,
    base: plan.base?.id ?? null,
    source: ctx.source,
    ...(opts.remote === undefined ? {} : { remote: opts.remote }),
  });
}

/** After an error or an interruption: remove the partial volumes, the work folder and the backup's index rows. */
async function abandon(start: BackupStart, ctx: PackContext | undefined): Promise<void> {
  await ctx?.volumes?.abort();
  await rm(start.workDir, { recursive: true, force: true }).catch(() => undefined);
  try {
    ctx?.recorder.drop();
  } catch {
    // The index cannot be written (full, damaged): the rows stay as an incomplete backup, which the
    // next writer removes (recover.ts); the error that stopped the pack is the one to report.
  }
}
