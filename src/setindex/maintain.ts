/**
 * The set-wide runs a command makes on a set folder or a set in object storage, with the locks and
 * the uploads they need: sets opened for reading with an index that knows every volume
 * (`openSetsForReading`), `list --obsolete` (`obsoleteInSet`), `prune` (`pruneUnderLock`) and
 * `index rebuild` (`rebuildUnderLock`). The
 * CLI parses, calls one of these, and renders.
 */
import { InputError } from '../errors.js';
import { listSet } from '../set/list.js';
import { lockSet } from '../set/lock.js';
import { setVolumes } from '../set/locate.js';
import { OpenedSets, type RemoteSet } from '../set/remote-set.js';
import { indexCoversVolumes } from './covers.js';
import { INDEX_FILE, indexInMemoryOnly } from './db.js';
import { pruneSet, type PruneOptions, type PruneResult } from './prune.js';
import { memoryIndex, rebuildIndex, type RebuildResult } from './rebuild.js';
import { openIndex } from './heal.js';
import { checkKeep, obsoleteVolumes, type ObsoleteResult } from './obsolete.js';

/**
 * Open the arguments that are s3:// sets as their cached set folders (the others as they are). The
 * index fetched with a remote set may not know a backup packed elsewhere: it is made again from the
 * volumes, under the set's lock, and `note` told, naming the set by its URL (an encrypted set without a
 * plain index gets none).
 * The caller closes what it gets.
 */
export async function openSetsForReading(args: readonly string[], note: (line: string) => void): Promise<OpenedSets> {
  const sets = await OpenedSets.open(args, { indexFile: INDEX_FILE });
  try {
    for (const r of sets.remotes) {
      if ((await setVolumes(r.local)).size === 0) continue;
      if (await indexInMemoryOnly(r.local)) continue;
      const unlock = await lockSet(r.local);
      try {
        await indexCoversVolumes(r.local, (line) => note(sets.show(line)));
      } finally {
        await unlock();
      }
    }
    return sets;
  } catch (e) {
    sets.close();
    throw e;
  }
}

/**
 * The volumes the set folder `set` no longer needs to restore the last `keep` backups of each folder
 * (`list --obsolete`), from its index as a reader opens it (healed and brought up to date under the
 * set's lock, `note` told); an encrypted set that keeps none has one made in memory from its records.
 */
export async function obsoleteInSet(set: string, keep: number, note: (line: string) => void): Promise<ObsoleteResult> {
  checkKeep(keep);
  await listSet(set); // says clearly when this is not a set
  const index = (await indexInMemoryOnly(set)) ? await memoryIndex(set) : await openIndex(set, note);
  try {
    return obsoleteVolumes(index, keep);
  } finally {
    index.close();
  }
}

/**
 * Prune the set folder `set` (the cache of `remote` when in object storage) under its lock and, unless
 * only naming what would go, the lock object; the volumes go from the bucket too, and the index
 * uploaded after.
 */
export async function pruneUnderLock(set: string, remote: RemoteSet | undefined, o: PruneOptions): Promise<PruneResult> {
  await listSet(set); // says clearly when this is not a set
  const unlock = await lockSet(set);
  try {
    if (!o.dryRun) await remote?.takeLock();
    try {
      const r = await pruneSet(set, { ...o, ...(remote === undefined ? {} : { removeVolume: (name: string) => remote.dropVolume(name) }) });
      if (remote !== undefined && !o.dryRun && r.deleted.length > 0) await remote.uploadIndex(INDEX_FILE);
      return r;
    } finally {
      if (!o.dryRun) await remote?.releaseLock();
    }
  } finally {
    await unlock();
  }
}

/**
 * Make the index of the set folder `set` again from its volumes, under its lock (and, in object
 * storage, the lock object; the index uploaded after). `given` names the set in the sentences.
 */
export async function rebuildUnderLock(set: string, given: string, remote: RemoteSet | undefined): Promise<RebuildResult> {
  if ((await setVolumes(set).catch(() => new Map())).size === 0) throw new InputError(`${given} holds no xtar volumes to rebuild an index from.`, given);
  if (await indexInMemoryOnly(set)) {
    throw new InputError(`${given} is encrypted and keeps no index on disk: each run makes it in memory from the volumes (\`xtar pack --index-plain\` keeps one, with paths and sha256s in plain).`, given);
  }
  await remote?.takeLock();
  try {
    const unlock = await lockSet(set);
    let r: RebuildResult;
    try {
      r = await rebuildIndex(set);
    } finally {
      await unlock();
    }
    await remote?.uploadIndex(INDEX_FILE);
    return r;
  } finally {
    await remote?.releaseLock();
  }
}
