/** The library's entry (src/index.ts) offers what README's "Using it from code" shows, and the outcome types. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as xtar from '../src/index.js';

const sample = fileURLToPath(new URL('../../fixtures/sample', import.meta.url));

describe('library entry', () => {
  it('pack, verify and unpack from code, with problems typed', async () => {
    const work = await mkdtemp(join(tmpdir(), 'xtar-lib-'));
    try {
      const r = await xtar.pack({ source: sample, out: join(work, 'set'), level: 6, jobs: 1 });
      assert.equal(r.files, 7);
      const v = await xtar.verify({ inputs: [join(work, 'set')], jobs: 1 });
      assert.deepEqual([v.files, v.damaged, v.unreadable, v.problems], [7, [], false, []]);
      const u = await xtar.unpack({ inputs: [join(work, 'set')], dest: join(work, 'out'), jobs: 1 });
      const problems: xtar.Problem[] = u.problems;
      assert.deepEqual([u.files, problems], [7, []]);
      assert.equal(xtar.EXIT_STATUSES.length, 4);
      assert.ok(new xtar.UsageError('x') instanceof xtar.XtarError);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
