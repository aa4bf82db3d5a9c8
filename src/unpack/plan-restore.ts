/**
 * The restore plan: which backup, and which volumes (its own and earlier backups') hold the selected
 * files, from the target's catalogs — before anything is restored. Choosing which record copy to read
 * is choose-records.ts's job.
 */
import type { BackupKind, CatalogLine } from '../format/records.js';
import type { OwnCatalogs } from './choose-records.js';
import type { Gatherer } from '../set/choose-copy.js';
import type { VolumeSource } from '../set/locate.js';
import { readVolumeManifest } from '../set/manifest.js';
import { RandomReader, ReadSession } from './random-reader.js';
import { catalogLines, otherOwner, readStructureHeader } from '../set/read-records.js';
import { volumeKey, type chooseBackup, type PathFilter } from './select.js';

export interface NeededVolume {
  backup: string | null;
  volume: number;
  /** Where it is, or null when it was not given. */
  path: string | null;
}

export interface RestorePlan {
  backup: string | null;
  kind: BackupKind;
  volumes: NeededVolume[];
}

export interface Restore {
  plan: RestorePlan;
  /** The target's volumes to read, in order. */
  own: VolumeSource[];
}

/** The volumes (of this backup or earlier ones) holding the bytes of the selected files a catalog lists. */
export class Holders implements Gatherer<CatalogLine> {
  /** By backup:volume, in the order first met. */
  readonly found = new Map<string, { backup: string | null; volume: number }>();

  constructor(
    private readonly filter: PathFilter,
    private readonly target: string | null,
  ) {}

  clear(): void {
    this.found.clear();
  }

  add(c: CatalogLine): void {
    if ('skipped' in c || !this.filter.selects(c.path)) return;
    const backup = c.backup ?? this.target;
    for (const p of c.parts) {
      const key = volumeKey(backup, p.volume);
      if (!this.found.has(key)) this.found.set(key, { backup, volume: p.volume });
    }
  }
}

/**
 * Which volumes a restore needs: from the target backup's catalogs, every volume holding a selected
 * file's bytes (its own, or an earlier backup's), and its newest volume given (for the records);
 * restoring everything, every one of its `expected` volumes (the manifest's count), given or not.
 */
export async function planRestore(choice: ReturnType<typeof chooseBackup>, filter: PathFilter, catalogs: OwnCatalogs, expected: number | null = null, reads = new ReadSession()): Promise<Restore> {
  const { target, own, others } = choice;
  const needed = new Map<string, NeededVolume>();
  const need = (backup: string | null, volume: number): void => {
    const key = volumeKey(backup, volume);
    if (needed.has(key)) return;
    const v = backup === target ? own.find((o) => (o.volume ?? 1) === volume) : others.get(key);
    needed.set(key, { backup, volume, path: v ? (v.dir ?? v.archive) : null });
  };
  let kind: BackupKind = 'full';
  // (A structure record whose header does not read says nothing of the kind: 'full' is only a guess then.)
  let kindRead = false;
  const newest = own[own.length - 1];
  if (newest !== undefined && newest.structure !== null) {
    const read = await readStructureHeader({ path: newest.structure, label: newest.structure }).catch(() => null);
    // (Another backup's record, copied into this folder, says nothing of this one: chooseStructure names it.)
    const header = read !== null && otherOwner(read, newest) === undefined ? read : null;
    kindRead = header !== null;
    kind = header?.kind ?? 'full';
  }
  // The newest whole catalog.jsonl lists the volumes before it too; where it is damaged, each
  // volume's own lines come from the copy inside its .xtar.
  let catalogRead = false;
  // Restoring all of a full backup whose volumes a manifest counts, every one is needed: the catalog
  // is only chosen (checked) here, not read line by line (the restore reads it once, by catalog).
  const everyVolume = filter.all && kindRead && kind === 'full' && expected !== null;
  for (const v of [...own].reverse()) {
    const r = await RandomReader.open(v.archive, reads);
    try {
      const holders = new Holders(filter, target);
      const { cat, gathered } = await catalogs.of(v, r, everyVolume ? undefined : holders);
      if (cat === null || cat.complete === false) continue;
      if (!gathered && !everyVolume) for await (const c of catalogLines(cat, () => undefined)) holders.add(c);
      for (const h of holders.found.values()) need(h.backup, h.volume);
      catalogRead = true;
      if (cat.range === undefined) break;
    } finally {
      await r.close();
    }
  }
  // Without a readable catalog every volume given is read (the tar walk finds what it can).
  const ownNeeded = catalogRead && !filter.all ? own.filter((v) => needed.has(volumeKey(target, v.volume)) || v === newest) : own;
  for (const v of ownNeeded) need(target, v.volume ?? 1);
  // (A volume after the newest given holds files no catalog at hand lists: all of them are needed.)
  if (filter.all && expected !== null) for (let n = 1; n <= expected; n++) need(target, n);
  const volumes = [...needed.values()].sort((a, b) => (a.backup ?? '').localeCompare(b.backup ?? '') || a.volume - b.volume);
  return { plan: { backup: target, kind, volumes }, own: ownNeeded };
}

/** How many volumes the backup has, from the first of these volumes' manifests that says (null: none does). */
export async function expectedVolumes(volumes: readonly VolumeSource[]): Promise<number | null> {
  let expected: number | null = null;
  for (const v of volumes) expected ??= v.dir === null ? null : ((await readVolumeManifest(v.dir, v))?.volumes ?? null);
  return expected;
}
