/**
 * What a run of `pack` did, for a reader who was not there: the report by mail and the line of
 * `--log` are made from this one summary (per source: stored, skipped and why, volumes written — the
 * discs to burn — or the error; for the run: duration and exit status).
 */
import { hostname } from 'node:os';
import { EXIT_INTERRUPTED, EXIT_OK } from '../errors.js';
import type { PackSourcesResult } from '../pack/pack-sources.js';
import { humanBytes } from '../util/human.js';

export interface SourceSummary {
  source: string;
  /** The backup made (null: none — nothing changed, or the source failed). */
  backup: string | null;
  kind: string | null;
  nothingChanged: boolean;
  files: number;
  storedFiles: number;
  storedBytes: number;
  skipped: { path: string; reason: string }[];
  /** Files that changed while they were read (stored as read). */
  changed: string[];
  /** The volume folders written: each is one disc to burn (and its ISO image, with --iso). */
  volumes: { path: string; bytes: number; iso?: string }[];
  /** Why the source failed. */
  error?: string;
}

export type Outcome = 'ok' | 'problems' | 'failed' | 'interrupted';

export interface RunSummary {
  host: string;
  set: string;
  started: Date;
  ended: Date;
  status: number;
  outcome: Outcome;
  sources: SourceSummary[];
  /** An error that ended the whole run (the set locked, a usage error, an interruption). */
  error?: string;
}

export function outcomeOf(status: number): Outcome {
  return status === EXIT_OK ? 'ok' : status === 1 ? 'problems' : status === EXIT_INTERRUPTED ? 'interrupted' : 'failed';
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The summary of a finished run of packSources. */
export function summarize(r: PackSourcesResult): RunSummary {
  const sources = r.outcomes.map((o): SourceSummary => {
    if (o.result === undefined) return { source: o.source, backup: null, kind: null, nothingChanged: false, files: 0, storedFiles: 0, storedBytes: 0, skipped: [], changed: [], volumes: [], error: message(o.error) };
    const p = o.result;
    return {
      source: o.source,
      backup: p.nothingChanged ? null : p.backupId,
      kind: p.nothingChanged ? null : p.kind,
      nothingChanged: p.nothingChanged,
      files: p.files,
      storedFiles: p.nothingChanged ? 0 : p.storedFiles,
      storedBytes: p.nothingChanged ? 0 : p.storedBytes,
      skipped: p.skipped.map(({ path, reason }) => ({ path, reason })),
      changed: [...p.changed],
      volumes: p.volumes.map((v) => ({ path: v.path, bytes: v.bytes, ...(v.iso === undefined ? {} : { iso: v.iso }) })),
    };
  });
  return { host: hostname(), set: r.set, started: r.started, ended: r.ended, status: r.status, outcome: outcomeOf(r.status), sources };
}

/** The summary of a run an error ended before any result (the set locked, interrupted…). */
export function summarizeFailure(set: string, sources: readonly string[], started: Date, error: unknown, status: number): RunSummary {
  return { host: hostname(), set, started, ended: new Date(), status, outcome: outcomeOf(status), sources: sources.map((source) => ({ source, backup: null, kind: null, nothingChanged: false, files: 0, storedFiles: 0, storedBytes: 0, skipped: [], changed: [], volumes: [] })), error: message(error) };
}

/** Seconds as `1 h 02 min 03 s`, `4 min 05 s` or `6.2 s`. */
export function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h} h ${pad(m)} min ${pad(whole % 60)} s` : `${m} min ${pad(whole % 60)} s`;
}

const OUTCOME_WORDS: Record<Outcome, string> = { ok: 'ok', problems: 'finished with problems', failed: 'FAILED', interrupted: 'interrupted' };

/** The mail's subject: `PREFIX HOST:SET: outcome (exit status N)`. */
export function subjectOf(s: RunSummary, prefix = 'xtar'): string {
  return `${prefix} ${s.host}:${s.set}: ${OUTCOME_WORDS[s.outcome]} (exit status ${s.status})`;
}

/** The report as plain text: the run, then each source; the discs to burn at the end. */
export function summaryText(s: RunSummary): string {
  const out: string[] = [];
  out.push(`xtar pack on ${s.host} into ${s.set}`);
  out.push(`started  ${s.started.toISOString()}`);
  out.push(`ended    ${s.ended.toISOString()} (${duration(s.ended.getTime() - s.started.getTime())})`);
  out.push(`exit status ${s.status}: ${OUTCOME_WORDS[s.outcome]}`);
  if (s.error !== undefined) out.push(`error: ${s.error}`);
  for (const src of s.sources) {
    out.push('');
    out.push(`source ${src.source}`);
    if (src.error !== undefined) out.push(`  FAILED: ${src.error}`);
    else if (s.error !== undefined && src.backup === null) out.push('  not backed up');
    else if (src.nothingChanged) out.push(`  nothing changed: no backup made (${src.files} files)`);
    else {
      out.push(`  ${src.kind} backup ${src.backup}: ${src.storedFiles} file(s) stored (${humanBytes(src.storedBytes)}) of ${src.files}`);
      for (const v of src.volumes) out.push(`  volume ${v.path} (${humanBytes(v.bytes)})${v.iso === undefined ? '' : `, image ${v.iso}`}`);
    }
    if (src.skipped.length > 0) {
      out.push(`  ${src.skipped.length} skipped:`);
      for (const k of src.skipped) out.push(`    ${k.path}: ${k.reason}`);
    }
    if (src.changed.length > 0) {
      out.push(`  ${src.changed.length} changed while read (stored as read):`);
      for (const p of src.changed) out.push(`    ${p}`);
    }
  }
  const discs = s.sources.flatMap((src) => src.volumes);
  out.push('');
  if (discs.length === 0) out.push('discs to burn: none');
  else {
    out.push(`discs to burn: ${discs.length}`);
    for (const v of discs) out.push(`  ${v.iso ?? v.path}`);
  }
  return `${out.join('\n')}\n`;
}
