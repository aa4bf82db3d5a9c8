import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { withFixture } from './context-fixture.js';

describe('startBackup', () => {
  const fx = withFixture();

  it('plans a first backup as full, takes its id from the creation time and makes its work folder', async () => {
    const ctx = await fx().context({ now: new Date('2026-11-20T08:30:15.500Z') });
    assert.deepEqual([ctx.plan.kind, ctx.plan.base, ctx.backupId, ctx.createdIso, ctx.metaMtimeSec], ['full', null, '20261120T083015Z', '2026-11-20T08:30:15.500Z', Math.floor(Date.parse('2026-11-20T08:30:15Z') / 1000)]);
    assert.equal(ctx.source, fx().tree);
    assert.ok((await stat(ctx.workDir)).isDirectory());
    assert.equal(ctx.checksum, false);
  });

  it('--since-cluster: the source the index knows names the time, so no later backup builds on it', async () => {
    const ctx = await fx().context({ changedSinceNs: 0n, checksum: true });
    assert.match(ctx.source, /^.*\/src \(files changed since .+\)$/);
    assert.equal(ctx.checksum, true);
  });
});
