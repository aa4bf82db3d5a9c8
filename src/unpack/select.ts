/**
 * What to restore: which backup (the newest given, --backup ID, or the newest made at or before --at),
 * which of the given volumes it needs (its own, and the earlier backups' that hold its unchanged
 * files, found from its catalog), and which paths (--files globs, as GNU tar's member names: a
 * folder brings everything below it).
 */
import picomatch from 'picomatch';
import { InputError } from '../errors.js';
import { backupIdFor } from '../format/layout.js';
import type { VolumeSource } from '../set/locate.js';

export interface BackupChoice {
  /** The backup whose state is restored (null: bare archives whose names carry no backup id). */
  target: string | null;
  /** The target's own volumes, in volume order. */
  own: VolumeSource[];
  /** Every other given volume, by `backup:volume`. */
  others: Map<string, VolumeSource>;
}

export function volumeKey(backup: string | null, volume: number | null): string {
  return `${backup ?? ''}:${volume ?? 1}`;
}

/** Pick the target backup among the given volumes. */
export function chooseBackup(volumes: readonly VolumeSource[], opts: { backup?: string; at?: Date }): BackupChoice {
  const ids = [...new Set(volumes.map((v) => v.backupId).filter((b): b is string => b !== null))].sort();
  let target: string | null;
  if (opts.backup !== undefined) {
    if (!ids.includes(opts.backup)) throw new InputError(`Backup ${opts.backup} is not among the volumes given${ids.length ? ` (they hold ${ids.join(', ')})` : ''}.`);
    target = opts.backup;
  } else if (opts.at !== undefined) {
    const limit = backupIdFor(opts.at);
    const before = ids.filter((id) => id <= limit);
    if (before.length === 0) throw new InputError(`No backup was made at or before ${opts.at.toISOString()}${ids.length ? ` (the oldest given is ${ids[0]})` : ''}.`);
    target = before.at(-1) as string;
  } else target = ids.at(-1) ?? null;
  const own: VolumeSource[] = [];
  const others = new Map<string, VolumeSource>();
  for (const v of volumes) {
    if (v.backupId === target || v.backupId === null) own.push(v);
    else others.set(volumeKey(v.backupId, v.volume), v);
  }
  own.sort((a, b) => (a.volume ?? 0) - (b.volume ?? 0));
  return { target, own, others };
}

/**
 * Which record paths to restore. A pattern matches a path written from the root folder
 * (`photos/2024/a.jpg`) or below it (`2024/a.jpg`); a pattern without '/' also matches a name at any
 * depth; a match on a folder selects everything below it.
 */
export class PathFilter {
  private readonly matchers: ((p: string) => boolean)[];

  constructor(readonly patterns: readonly string[]) {
    this.matchers = patterns.map((g) => {
      const m = picomatch(g.replace(/\/+$/, ''), { dot: true });
      return g.includes('/') ? m : (p: string) => m(p) || m(p.slice(p.lastIndexOf('/') + 1));
    });
  }

  get all(): boolean {
    return this.matchers.length === 0;
  }

  /** The path itself or one of its folders matches. */
  selects(path: string): boolean {
    if (this.all) return true;
    const comps = path.split('/');
    for (let n = 1; n <= comps.length; n++) {
      const full = comps.slice(0, n).join('/');
      const rel = comps.slice(1, n).join('/');
      for (const m of this.matchers) if (m(full) || (rel !== '' && m(rel))) return true;
    }
    return false;
  }
}
