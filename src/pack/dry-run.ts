/**
 * `xtar pack --dry-run`: what a backup would store, without writing anything — the plan (kind, base,
 * why), then each file that would be stored and why, each renamed file and each deleted one. Files
 * whose size is the same but whose mtime is not are read and hashed, as pack would, so the answer is
 * exact. Paths seen go to a temporary table of the index, not to memory. The backups planned against
 * are the ones pack sees: a set without an index file (an encrypted set keeps none) has one made in
 * memory from its records, with its key (plannedIndex).
 */
import { plannedSet } from './remote-pack.js';
import { resolve } from 'node:path';
import type { BackupKind } from '../format/records.js';
import { scanTree, sourcePathOf, type Skipped } from '../scan/scan.js';
import type { Exclusion, ExclusionKind } from '../scan/select.js';
import { hasIndex, SetIndex } from '../setindex/db.js';
import { memoryIndex } from '../setindex/rebuild.js';
import { holdsBackups, openKeys, packKeySource, sealedFolder } from '../set/encryption.js';
import { useKeys } from '../format/keyring.js';
import { checkPackOptions } from './options.js';
import { chooseRefresh, DEFAULT_SPLIT, historyOf, planBackup, policyOf } from './plan-backup.js';
import { hashFile } from './compress.js';
import { creationTime } from '../set/backup-id.js';
import { decide } from './decide.js';
import type { PackOptions } from './pack.js';
import { setLeftOut } from './write-structure.js';

export type DryChange = 'new' | 'modified' | 'content' | 'refresh' | 'renamed' | 'metadata' | 'deleted';

export interface DryItem {
  path: string;
  change: DryChange;
  size: number;
  /** renamed: the path the bytes were stored under. */
  from?: string;
}

/** A path the selection leaves out (a folder once), the kind of rule and the rule with its source. */
export interface DryExcluded {
  path: string;
  kind: ExclusionKind;
  rule: string;
}

export interface DryRunResult {
  kind: BackupKind;
  base: string | null;
  reason: string;
  files: number;
  bytes: number;
  /** Files the backup would store, and their size. */
  storedFiles: number;
  storedBytes: number;
  unchangedFiles: number;
  renamedFiles: number;
  metadataFiles: number;
  deletedFiles: number;
  /** What the scan left out on purpose: the set, when it lies inside the source. */
  ignored: Skipped[];
}

/**
 * The set's index a dry run plans against, as pack would see it: its file; else, when the set holds
 * backups (an encrypted set keeps no index file, a set copied back from discs has none), one made in
 * memory from their records, never written — an encrypted set's key opened first, by the passphrase
 * or identity files pack would use (none: openKeys's one sentence, rather than a plan that takes the
 * set for empty). null for a new or empty set.
 */
export async function plannedIndex(set: string, opts: Pick<PackOptions, 'out' | 'encrypt' | 'keys'>): Promise<SetIndex | null> {
  if (await hasIndex(set)) return SetIndex.open(set);
  if (!(await holdsBackups(set))) return null;
  const found = await sealedFolder(set);
  if (found !== null) useKeys(await openKeys(found, opts.out, packKeySource(opts.encrypt, opts.keys)));
  return memoryIndex(set);
}

/**
 * Plan a pack and report each change through `onItem` (in tree order; deletions last), and each path
 * the selection leaves out, with its rule, through `onExcluded` (in tree order, a folder once).
 */
export async function dryRun(opts: PackOptions, onItem: (i: DryItem) => void, onExcluded?: (x: DryExcluded) => void): Promise<DryRunResult> {
  checkPackOptions(opts);
  const set = await plannedSet(opts.out);
  const source = resolve(opts.source);
  const index = await plannedIndex(set, opts);
  try {
    const plan = planBackup(
      index === null ? { latest: null, latestFull: null, sinceFull: 0 } : historyOf(index, source),
      policyOf(opts),
      creationTime(opts.now),
    );
    const r: DryRunResult = { kind: plan.kind, base: plan.base?.id ?? null, reason: plan.reason, files: 0, bytes: 0, storedFiles: 0, storedBytes: 0, unchangedFiles: 0, renamedFiles: 0, metadataFiles: 0, deletedFiles: 0, ignored: [] };
    if (index !== null) chooseRefresh(index, plan, opts.split ?? DEFAULT_SPLIT);
    index?.beginSeen();
    const renamedFrom = new Set<string>();
    const scan = await scanTree(
      source,
      async (e) => {
        if (e.type !== 'file') return;
        const size = e.size ?? 0;
        r.files++;
        r.bytes += size;
        const store = (change: DryChange): void => {
          r.storedFiles++;
          r.storedBytes += size;
          onItem({ path: e.path, change, size });
        };
        if (index === null || plan.base === null) return store('new');
        index.seen(e.path);
        const d = decide(index, plan, opts.checksum === true, e);
        const prev = index.lookup(plan.base.rowid, e.path);
        if (d.kind === 'store') return store(prev === null || prev.blob === null ? 'new' : prev.size === size && prev.mtimeNs === e.mtimeNs ? 'refresh' : 'modified');
        let same = d.kind === 'ref';
        if (d.kind === 'check') {
          const h = await hashFile({ abs: sourcePathOf(source, e.path), name: '', size, mtimeSec: 0, mode: 0 });
          same = h.ok && h.sha256 === d.v.blob?.sha256;
          if (!same) return store(prev === null ? 'new' : 'content');
        }
        r.unchangedFiles++;
        // Renamed since the base: the base's version stood under another path (not the name its blob was first stored under).
        const from = d.v.path;
        if (prev === null && from !== e.path) {
          r.renamedFiles++;
          renamedFrom.add(from);
          onItem({ path: e.path, change: 'renamed', size, from });
        } else if (prev !== null && (prev.mode !== e.mode || prev.mtimeNs !== e.mtimeNs)) {
          r.metadataFiles++;
          onItem({ path: e.path, change: 'metadata', size });
        }
      },
      {
        ...(opts.exclude === undefined ? {} : { exclude: opts.exclude }),
        ...(opts.select === undefined ? {} : { select: opts.select }),
        ...(onExcluded === undefined ? {} : { onExcluded: (path: string, why: Exclusion) => onExcluded({ path, kind: why.kind, rule: why.rule }) }),
        leaveOut: setLeftOut(set, source),
      },
    );
    r.ignored = scan.ignored;
    if (index !== null && plan.base !== null) {
      for (const path of index.unseen(plan.base.rowid)) {
        if (renamedFrom.has(path)) continue; // moved, not deleted
        r.deletedFiles++;
        onItem({ path, change: 'deleted', size: 0 });
      }
    }
    return r;
  } finally {
    index?.close();
  }
}
