/** The main thread's young generation is held at its cap, even after a worker thread is made. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/cli.js';

const MODULE = fileURLToPath(new URL('../../src/cli/young-generation.js', import.meta.url));

/** A child that caps at 1 MiB semi-spaces, makes a worker, allocates much that survives, and prints new space's size in MiB. */
const CHILD = `
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { capYoungGeneration } from ${JSON.stringify(MODULE)};
capYoungGeneration(1);
const keep = [];
async function churn() {
  for (let round = 0; round < 2000; round++) {
    for (let i = 0; i < 2000; i++) { const o = { a: i, b: 'x' + i }; if (i % 4 === 0) keep.push(o); }
    if (keep.length > 200000) keep.length = 0;
    await new Promise((r) => setImmediate(r));
  }
}
await churn();
const w = new Worker('setTimeout(() => {}, 1)', { eval: true });
await new Promise((r) => w.on('exit', r));
await churn();
const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
process.stdout.write(String(s.space_size / 1048576));
`;

describe('capYoungGeneration', () => {
  it('stops the young generation at its cap, and again after a worker thread is made', async () => {
    const r = await run(process.execPath, ['--input-type=module', '-e', CHILD], { env: { ...process.env, NODE_OPTIONS: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Number(r.stdout) <= 2 * 2, `new space ${r.stdout} MiB, over 2 semi-spaces of 1 MiB (one doubling allowed)`);
  });

  it('leaves a size given on node’s command line alone', async () => {
    const r = await run(process.execPath, ['--max-semi-space-size=8', '--input-type=module', '-e', CHILD], { env: { ...process.env, NODE_OPTIONS: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Number(r.stdout) > 4, `new space ${r.stdout} MiB`);
  });
});
