/** `xtar index rebuild SET`: call the rebuild, render what it read. */
import { resolve } from 'node:path';
import { INDEX_FILE, indexInMemoryOnly } from '../../setindex/db.js';
import { InputError } from '../../errors.js';
import { lockSet } from '../../set/lock.js';
import { rebuildIndex } from '../../setindex/rebuild.js';
import { setVolumes } from '../../set/locate.js';
import { printJson, type Io } from '../output/render.js';
import { reportProblems } from '../output/json.js';
import { withSets } from './remote-args.js';

export interface IndexRebuildArgs {
  set: string;
  json: boolean;
  quiet: boolean;
}

export async function runIndexRebuild(a: IndexRebuildArgs, io: Io): Promise<number> {
  return withSets([a.set], io, async ([set], io2, sets) => {
    // In object storage: under the set's lock object, and the index rebuilt is uploaded beside the volumes.
    const remote = sets.remotes[0];
    await remote?.takeLock();
    try {
      const status = await rebuildIn({ ...a, set: set as string }, io2);
      await remote?.uploadIndex(INDEX_FILE);
      return status;
    } finally {
      await remote?.releaseLock();
    }
  });
}

async function rebuildIn(a: IndexRebuildArgs, io: Io): Promise<number> {
  const set = resolve(a.set);
  if ((await setVolumes(set).catch(() => new Map())).size === 0) throw new InputError(`${a.set} holds no xtar volumes to rebuild an index from.`, a.set);
  if (await indexInMemoryOnly(set)) {
    throw new InputError(`${a.set} is encrypted and keeps no index on disk: each run makes it in memory from the volumes (\`xtar pack --index-plain\` keeps one, with paths and sha256s in plain).`, a.set);
  }
  const unlock = await lockSet(set);
  try {
    const r = await rebuildIndex(set);
    const missing = r.backups.filter((b) => b.missing.length > 0).length;
    const damage = r.backups.reduce((n, b) => n + b.damage.length, 0);
    reportProblems(io, a, r.failed.length + missing + damage, () => {
      for (const f of r.failed) io.stderr.write(`xtar: backup ${f.id}: ${f.reason}\n`);
      for (const b of r.backups) for (const d of b.damage) io.stderr.write(`xtar: backup ${b.id}: ${d}\n`);
    });
    if (a.json) printJson(io, 'index-rebuild', { index: r.index, backups: r.backups, failed: r.failed });
    else if (!a.quiet) {
      io.stdout.write(`rebuilt ${r.index} from ${r.backups.length} backup(s)\n`);
      for (const b of r.backups) {
        io.stdout.write(`  ${b.id}: ${b.files} files${b.missing.length ? `; volume(s) ${b.missing.join(', ')} of ${b.volumes} not in the set` : ''}\n`);
      }
    }
    return r.failed.length > 0 || r.backups.some((b) => b.missing.length > 0 || b.damage.length > 0) ? 1 : 0;
  } finally {
    await unlock();
  }
}
