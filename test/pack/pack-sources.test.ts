/**
 * packSources() from code (src/pack/pack-sources.ts): one backup per source, a failed source an
 * outcome and not a throw, the run's status; a usage error ends the run before anything is written.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, UsageError } from '../../src/errors.js';
import { dryRunSources, packSources, statusOf } from '../../src/pack/pack-sources.js';
import { parseOwner } from '../../src/set/chown.js';
import { removeTree, tempDir } from '../helpers/tree.js';

describe('packSources', () => {
  let work: string;
  before(async () => {
    work = await tempDir('xtar-sources-');
    for (const n of ['a', 'b']) {
      await mkdir(join(work, n));
      await writeFile(join(work, n, `${n}.txt`), n.repeat(100));
    }
  });
  after(() => removeTree(work));

  it('packs each source into its own backup; a missing one is an outcome with its error', async () => {
    const out = join(work, 'set');
    const r = await packSources({ sources: [join(work, 'a'), join(work, 'missing'), join(work, 'b')], out, now: new Date('2026-12-01T00:00:00Z') });
    assert.equal(r.outcomes.length, 3);
    assert.deepEqual(r.outcomes.map((o) => o.result?.root ?? null), ['a', null, 'b']);
    assert.ok(r.outcomes[1]!.error instanceof InputError);
    assert.notEqual(r.outcomes[0]!.result!.backupId, r.outcomes[2]!.result!.backupId);
    assert.equal(r.status, 1);
    assert.equal((await readdir(out)).filter((n) => n.endsWith('-vol001')).length, 2);
  });

  it('dryRunSources plans each source in turn, a command named and not run; a missing source is an outcome; nothing is written', async () => {
    const out = join(work, 'dry-set');
    const seen: string[] = [];
    const r = await dryRunSources({
      sources: [join(work, 'a'), join(work, 'missing'), join(work, 'b')],
      commands: [{ name: 'never-run.txt', argv: ['sh', '-c', `touch ${join(work, 'ran')}`] }],
      out,
      onSource: (source, i) => seen.push(`source ${i} ${source.replace(work, '')}`),
      onItem: (i) => seen.push(`${i.change} ${i.path}`),
      onOutcome: (o, i) => seen.push(`outcome ${i} ${o.result === undefined ? 'error' : o.result.kind}`),
    });
    assert.deepEqual(seen, ['source 0 /a', 'new a/a.txt', 'outcome 0 full', 'source 1 /missing', 'outcome 1 error', 'source 2 /b', 'new b/b.txt', 'outcome 2 full', 'source 3 command:never-run.txt', 'outcome 3 full']);
    assert.ok(r.outcomes[1]!.error instanceof InputError);
    assert.equal(r.outcomes[3]!.command?.name, 'never-run.txt');
    assert.equal(r.status, 1);
    await assert.rejects(readdir(out), { code: 'ENOENT' });
    await assert.rejects(readdir(join(work, 'ran')), { code: 'ENOENT' });
  });

  it('a usage error ends the run before anything is written; no source is a usage error', async () => {
    const out = join(work, 'never');
    await assert.rejects(packSources({ sources: [join(work, 'a')], out, level: 12 }), UsageError);
    await assert.rejects(packSources({ sources: [], out }), UsageError);
    await assert.rejects(readdir(out), { code: 'ENOENT' });
  });

  it('statusOf: 0 all well, 1 a problem or some source failed, the error\'s own status when all failed', () => {
    const ok = { source: 'x', result: { skipped: [], changed: [] } } as never;
    const skipped = { source: 'y', result: { skipped: [{ path: 'p', reason: 'r' }], changed: [] } } as never;
    const failed = { source: 'z', error: new InputError('gone', 'z') };
    assert.equal(statusOf([ok]), 0);
    assert.equal(statusOf([ok, skipped]), 1);
    assert.equal(statusOf([ok, failed]), 1);
    assert.equal(statusOf([failed]), 2);
  });

  it('parseOwner takes UID or UID:GID as numbers', () => {
    assert.deepEqual(parseOwner('1000'), { uid: 1000 });
    assert.deepEqual(parseOwner('1000:100'), { uid: 1000, gid: 100 });
    for (const bad of ['ann', '1000:', ':100', '-1', '1000:staff', '4294967295']) assert.throws(() => parseOwner(bad), UsageError, bad);
  });
});
