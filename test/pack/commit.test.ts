import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LOG_FILE } from '../../src/set/lock.js';
import { nothingChanged, sameTreeAs } from '../../src/pack/commit.js';
import { writeStructure } from '../../src/pack/write-structure.js';
import { withFixture } from './context-fixture.js';

describe('commit', () => {
  const fx = withFixture();

  it('finds the backup the tree is the same as, only for a backup that builds on one', async () => {
    const first = await fx().context();
    const st = await writeStructure(first);
    assert.equal(sameTreeAs(first, st), null, 'a full backup is never "the same"');
    first.recorder.begin({ id: first.backupId, kind: 'full', base: null, source: fx().tree, root: 'src', created: first.createdIso });
    first.recorder.complete({ volumeCount: 1, volumes: [{ number: 1, bytes: 1, files: 0 }], files: 2, bytes: 8, structureSha256: st.sha256 });
    const next = await fx().context();
    assert.equal(sameTreeAs(next, await writeStructure(next))?.id, first.backupId);
    assert.equal(sameTreeAs(next, { ...st, sha256: 'other' }), null);
    const full = await fx().context({ mode: 'full' });
    assert.equal(sameTreeAs(full, await writeStructure(full)), null);
  });

  it('makes no backup when nothing changed: removes the work folder, logs it, says so', async () => {
    const ctx = await fx().context();
    const st = await writeStructure(ctx);
    const latest = sameTreeAs(ctx, st);
    assert.ok(latest);
    const r = await nothingChanged(ctx, latest, st.scan);
    assert.deepEqual([r.nothingChanged, r.backupId, r.volumes.length, r.unchangedFiles, r.base, r.reason], [true, '', 0, 2, latest.id, `nothing changed since ${latest.id}`]);
    await assert.rejects(access(ctx.workDir));
    assert.match(await readFile(join(fx().set, LOG_FILE), 'utf8'), new RegExp(`pack ${fx().tree}: nothing changed since backup ${latest.id}; no backup made\\n$`));
  });
});
