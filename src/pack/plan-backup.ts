/**
 * Which kind of backup a pack makes, against which earlier backup, and why: the user's --mode, the
 * set's history and the policies (--full-every, --full-after). Pure decisions over index rows; which
 * files the backup stores is decide.ts.
 */
import type { BackupKind } from '../format/records.js';
import type { BackupRow, SetIndex } from '../setindex/db.js';

export interface PolicyOptions {
  /** Asked for with --mode; undefined: incremental when the set holds a backup of the source, else full. */
  mode?: BackupKind;
  /** At most this many backups after a full before the next full (0: no limit). */
  fullEvery: number;
  /** A full once the last full is this old, in ms (0: no limit). */
  fullAfterMs: number;
  /** Cyclic: the share of the files refreshed per run is 1/split. */
  split: number;
}

export const DEFAULT_FULL_EVERY = 10;
/** 30 days: a month of discs is the longest chain a restore needs (see docs/BACKUPS.md). */
export const DEFAULT_FULL_AFTER_MS = 30 * 24 * 3600 * 1000;
export const DEFAULT_SPLIT = 10;

export interface BackupPlan {
  kind: BackupKind;
  /** The backup the changes are taken against (null for a full backup). */
  base: BackupRow | null;
  /** One sentence: why this kind. */
  reason: string;
}

export interface History {
  latest: BackupRow | null;
  latestFull: BackupRow | null;
  /** Backups of the source after its latest full. */
  sinceFull: number;
}

/** The history a plan needs, from the index. */
export function historyOf(index: SetIndex, source: string): History {
  const latest = index.latest(source);
  const latestFull = index.latest(source, 'full');
  return { latest, latestFull, sinceFull: latestFull === null ? 0 : index.countAfter(source, latestFull.seq as number) };
}

/** The policy options of a pack, with their defaults. */
export function policyOf(o: { mode?: BackupKind; fullEvery?: number; fullAfterMs?: number; split?: number }): PolicyOptions {
  return {
    ...(o.mode === undefined ? {} : { mode: o.mode }),
    fullEvery: o.fullEvery ?? DEFAULT_FULL_EVERY,
    fullAfterMs: o.fullAfterMs ?? DEFAULT_FULL_AFTER_MS,
    split: o.split ?? DEFAULT_SPLIT,
  };
}

/** A cyclic backup: choose (in the index's temporary table) the files of its base it stores again. */
export function chooseRefresh(index: SetIndex, plan: BackupPlan, split: number): void {
  if (plan.kind !== 'cyclic' || plan.base === null) return;
  const nextSeq = (index.backups().at(-1)?.seq ?? 0) + 1;
  index.chooseRefresh(plan.base.rowid, Math.ceil(plan.base.files / split), nextSeq, split);
}

export function planBackup(h: History, p: PolicyOptions, now: Date): BackupPlan {
  if (p.mode === 'full') return { kind: 'full', base: null, reason: 'asked for with --mode full' };
  if (h.latest === null) return { kind: 'full', base: null, reason: 'the set holds no backup of this folder yet' };
  if (p.mode === 'cyclic') {
    return { kind: 'cyclic', base: h.latest, reason: `changes since ${h.latest.id}, and the 1/${p.split} of the files stored longest ago` };
  }
  const kind: BackupKind = p.mode ?? 'incremental';
  if (h.latestFull === null) return { kind: 'full', base: null, reason: 'the set holds no full backup of this folder to build on' };
  if (p.fullEvery > 0 && h.sinceFull >= p.fullEvery) {
    return { kind: 'full', base: null, reason: `${h.sinceFull} backup(s) since the last full (--full-every ${p.fullEvery})` };
  }
  const age = now.getTime() - Date.parse(h.latestFull.created);
  if (p.fullAfterMs > 0 && age >= p.fullAfterMs) {
    return { kind: 'full', base: null, reason: `the last full backup is ${formatAge(age)} old (--full-after ${formatAge(p.fullAfterMs)})` };
  }
  if (kind === 'differential') return { kind, base: h.latestFull, reason: `changes since the full backup ${h.latestFull.id}` };
  return { kind: 'incremental', base: h.latest, reason: `changes since ${h.latest.id}` };
}

export function formatAge(ms: number): string {
  const units: [number, string][] = [[604_800_000, 'w'], [86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1000, 's']];
  for (const [n, u] of units) if (ms >= n && ms % n === 0) return `${ms / n}${u}`;
  for (const [n, u] of units) if (ms >= n) return `${(ms / n).toFixed(1)}${u}`;
  return `${ms}ms`;
}
