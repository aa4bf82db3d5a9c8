/**
 * What to restore: which backup (the newest given, --backup ID, or the newest made at or before --at),
 * which of the given volumes it needs (its own, and the earlier backups' that hold its unchanged
 * files, found from its catalog), and which paths (--files globs, as GNU tar's member names: a
 * folder brings everything below it).
 */
import picomatch from 'picomatch';
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import { backupIdFor } from '../format/layout.js';
import type { VolumeSource } from '../set/locate.js';
import { readVolumeManifest } from '../set/manifest.js';

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

/**
 * The volumes of one source folder's backups. A set may hold the backups of several folders; then
 * `source` (the folder's path as packed) or `backup` must say which (the newest backup of one folder
 * is no answer for another's), else the run is refused with a sentence naming each folder. Volumes
 * whose source is not known (no volume.json) are kept.
 */
export async function chooseSource(volumes: readonly VolumeSource[], opts: { source?: string; backup?: string }): Promise<VolumeSource[]> {
  const sourceOf = new Map<string, string>();
  for (const v of volumes) {
    if (v.backupId === null || v.dir === null || sourceOf.has(v.backupId)) continue;
    const s = (await readVolumeManifest(v.dir, v))?.source;
    if (s !== undefined) sourceOf.set(v.backupId, s);
  }
  // Each source with its newest backup.
  const newest = new Map<string, string>();
  for (const [id, s] of [...sourceOf.entries()].sort(([a], [b]) => a.localeCompare(b))) newest.set(s, id);
  const named = [...newest.entries()].map(([s, id]) => `${s} (newest ${id})`).join(', ');
  if (opts.source !== undefined) {
    // `command:NAME` is a command's output (pack --from-command), not a path; `./command:x` is a folder.
    const want = opts.source.startsWith('command:') ? opts.source : resolve(opts.source);
    if (!newest.has(want)) throw new InputError(`No backup of ${want} is among the volumes given${newest.size ? ` (they hold backups of ${named})` : ''}.`, opts.source);
    return volumes.filter((v) => v.backupId === null || !sourceOf.has(v.backupId) || sourceOf.get(v.backupId) === want);
  }
  if (opts.backup === undefined && newest.size > 1) {
    throw new InputError(`The volumes given hold backups of ${newest.size} source folders, ${named}: choose one with --source PATH or --backup ID.`);
  }
  return [...volumes];
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
  /** Whether each pattern has matched a path yet; `unmatched` counts those that have not. */
  private readonly found: boolean[];
  private unmatched: number;

  constructor(readonly patterns: readonly string[]) {
    this.matchers = patterns.map((g) => {
      const m = picomatch(g.replace(/\/+$/, ''), { dot: true });
      return g.includes('/') ? m : (p: string) => m(p) || m(p.slice(p.lastIndexOf('/') + 1));
    });
    this.found = patterns.map(() => false);
    this.unmatched = patterns.length;
  }

  get all(): boolean {
    return this.matchers.length === 0;
  }

  /** The patterns given that no path asked about has matched (as GNU tar's "Not found in archive"). */
  notFound(): string[] {
    return this.patterns.filter((_, i) => !this.found[i]);
  }

  /** The path itself or one of its folders matches. */
  selects(path: string): boolean {
    if (this.all) return true;
    const comps = path.split('/');
    let hit = false;
    for (let n = 1; n <= comps.length; n++) {
      const full = comps.slice(0, n).join('/');
      const rel = comps.slice(1, n).join('/');
      for (let i = 0; i < this.matchers.length; i++) {
        // Once a pattern has matched, it is tried only until the path is selected; until then every one is, so each is known to match or not.
        if (hit && this.found[i]) continue;
        const m = this.matchers[i] as (p: string) => boolean;
        if (m(full) || (rel !== '' && m(rel))) {
          hit = true;
          if (!this.found[i]) {
            this.found[i] = true;
            this.unmatched--;
          }
        }
      }
      if (hit && this.unmatched === 0) return true;
    }
    return hit;
  }
}
