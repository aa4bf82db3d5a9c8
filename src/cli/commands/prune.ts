/** `xtar prune SET --keep K [--dry-run]`: call the prune (on disc or in object storage), name every volume it deletes. */
import { resolve } from 'node:path';
import { pruneUnderLock } from '../../setindex/maintain.js';
import { humanBytes, printJson, type Io } from '../output/render.js';
import { withSets } from './remote-args.js';

export interface PruneArgs {
  set: string;
  keep: number;
  dryRun: boolean;
  json: boolean;
  quiet: boolean;
}

export async function runPrune(a: PruneArgs, io: Io): Promise<number> {
  return withSets([a.set], io, async ([given], out, sets) => {
    const set = resolve(given as string);
    const notes: string[] = [];
    const r = await pruneUnderLock(set, sets.remotes[0], {
      keep: a.keep,
      dryRun: a.dryRun,
      note: (line) => {
        if (a.json) notes.push(line);
        if (!(a.json && a.quiet)) out.stderr.write(`xtar: ${line}\n`);
      },
      // Each volume named before it goes (on stderr with --json, so the object stays alone on stdout).
      onVolume: (v) => {
        if (!a.quiet || !a.json) (a.json ? out.stderr : out.stdout).write(`${a.dryRun ? 'would delete' : 'deleting'} ${resolve(set, v.name)}  (${humanBytes(v.bytes)}, volume ${v.volume} of backup ${v.backup})\n`);
      },
    });
    const what = a.keep === 1 ? 'the newest state' : `the last ${a.keep} backups`;
    if (a.json) printJson(out, 'prune', { dryRun: r.dryRun, keep: r.keep, kept: r.kept, deleted: r.deleted.map((v) => ({ ...v, path: resolve(set, v.name) })), bytes: r.bytes, notes });
    else if (!a.quiet) {
      if (r.deleted.length === 0) out.stdout.write(`every volume is still needed to restore ${what}: nothing to delete\n`);
      else out.stdout.write(`${a.dryRun ? 'would delete' : 'deleted'} ${r.deleted.length} volume(s), ${humanBytes(r.bytes)}, not needed to restore ${what}${a.dryRun ? ' (nothing was deleted)' : ''}\n`);
    }
    return 0;
  });
}
