/** `xtar index rebuild SET`: call the rebuild, render what it read. */
import { rebuildUnderLock } from '../../setindex/maintain.js';
import { resolve } from 'node:path';
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
    const r = await rebuildUnderLock(resolve(set as string), a.set, sets.remotes[0]);
    const missing = r.backups.filter((b) => b.missing.length > 0).length;
    const damage = r.backups.reduce((n, b) => n + b.damage.length, 0);
    reportProblems(io2, a, r.failed.length + missing + damage, () => {
      for (const f of r.failed) io2.stderr.write(`xtar: backup ${f.id}: ${f.reason}\n`);
      for (const b of r.backups) for (const d of b.damage) io2.stderr.write(`xtar: backup ${b.id}: ${d}\n`);
    });
    if (a.json) printJson(io2, 'index-rebuild', { index: r.index, backups: r.backups, failed: r.failed });
    else if (!a.quiet) {
      io2.stdout.write(`rebuilt ${r.index} from ${r.backups.length} backup(s)\n`);
      for (const b of r.backups) {
        io2.stdout.write(`  ${b.id}: ${b.files} files${b.missing.length ? `; volume(s) ${b.missing.join(', ')} of ${b.volumes} not in the set` : ''}\n`);
      }
    }
    return r.failed.length > 0 || missing > 0 || damage > 0 ? 1 : 0;
  });
}
