import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BackupRow } from '../../src/setindex/db.js';
import { formatAge, planBackup, type History, type PolicyOptions } from '../../src/pack/plan-backup.js';

const DAY = 86_400_000;
const now = new Date('2026-11-23T12:00:00Z');

function row(id: string, kind: BackupRow['kind'], daysAgo: number, seq: number): BackupRow {
  return {
    rowid: seq,
    id,
    seq,
    kind,
    base: null,
    source: '/src',
    root: 'src',
    created: new Date(now.getTime() - daysAgo * DAY).toISOString(),
    complete: true,
    volumes: 1,
    files: 10,
    bytes: 100,
    storedFiles: 10,
    storedBytes: 100,
    skippedFiles: 0,
    structureSha256: '',
  };
}

const policy: PolicyOptions = { fullEvery: 3, fullAfterMs: 7 * DAY, split: 4 };
const full = row('20261120T120000Z', 'full', 3, 1);
const inc = row('20261122T120000Z', 'incremental', 1, 2);
const history = (sinceFull: number, latest = inc, latestFull: BackupRow | null = full): History => ({ latest, latestFull, sinceFull });

describe('planBackup', () => {
  it('makes a full backup first, and when asked', () => {
    assert.equal(planBackup({ latest: null, latestFull: null, sinceFull: 0 }, policy, now).kind, 'full');
    assert.equal(planBackup({ latest: null, latestFull: null, sinceFull: 0 }, { ...policy, mode: 'incremental' }, now).kind, 'full');
    assert.equal(planBackup(history(1), { ...policy, mode: 'full' }, now).kind, 'full');
  });

  it('defaults to an incremental on the newest backup, a differential on the newest full', () => {
    const i = planBackup(history(1), policy, now);
    assert.deepEqual([i.kind, i.base?.id], ['incremental', inc.id]);
    const d = planBackup(history(1), { ...policy, mode: 'differential' }, now);
    assert.deepEqual([d.kind, d.base?.id], ['differential', full.id]);
  });

  it('--full-every: a full once N backups followed the last full, not before', () => {
    assert.equal(planBackup(history(2), policy, now).kind, 'incremental');
    const p = planBackup(history(3), policy, now);
    assert.equal(p.kind, 'full');
    assert.match(p.reason, /3 backup\(s\) since the last full \(--full-every 3\)/);
    assert.equal(planBackup(history(30), { ...policy, fullEvery: 0 }, now).kind, 'incremental');
  });

  it('--full-after: a full once the last full is that old', () => {
    const old = row('20261101T120000Z', 'full', 22, 1);
    const p = planBackup(history(1, inc, old), policy, now);
    assert.equal(p.kind, 'full');
    assert.match(p.reason, /--full-after 1w/);
    assert.equal(planBackup(history(1, inc, old), { ...policy, fullAfterMs: 0 }, now).kind, 'incremental');
  });

  it('cyclic builds on the newest backup and is never forced to a full', () => {
    const c = planBackup(history(50), { ...policy, mode: 'cyclic', fullAfterMs: 1 }, now);
    assert.deepEqual([c.kind, c.base?.id], ['cyclic', inc.id]);
    // (--split 0 is refused before any plan, by checkPackOptions: test/pack/options.test.ts)
  });

  it('formats ages the way the options are written', () => {
    assert.equal(formatAge(7 * DAY), '1w');
    assert.equal(formatAge(2 * DAY), '2d');
    assert.equal(formatAge(36 * 3_600_000), '36h');
    assert.equal(formatAge(90_000), '90s');
    assert.equal(formatAge(1500), '1.5s');
  });
});
