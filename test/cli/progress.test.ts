/** The progress bar: drawn on a terminal (cli-progress, loaded only then: test/e2e/lazy-modules.test.ts), nothing in a pipe. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const RENDER = new URL('../../src/cli/output/render.js', import.meta.url).href;

/** Runs `code` as an ES module in a child node; its stderr, with stderr said to be a terminal or not. */
function child(code: string, tty: boolean): { stderr: string; status: number | null } {
  const pre = tty ? 'process.stderr.isTTY = true; process.stderr.columns = 100;' : 'process.stderr.isTTY = false;';
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `${pre}\n${code}`], { encoding: 'utf8' });
  return { stderr: r.stderr, status: r.status };
}

const DRAW = `
const { progressBar } = await import(${JSON.stringify(RENDER)});
const bar = progressBar(true, 'unpack');
bar.update(512, 1024, 3);
bar.update(1024, 1024, 7);
bar.stop();
`;

describe('progressBar', () => {
  it('draws the label, bytes, files and ETA on a terminal', () => {
    const r = child(DRAW, true);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /unpack \[/);
    assert.match(r.stderr, /\| 7 files \| ETA/);
    assert.match(r.stderr, /50% \| 512 B\/1.00 KiB \| 3 files/);
  });

  it('writes nothing in a pipe, and nothing when not enabled', () => {
    assert.equal(child(DRAW, false).stderr, '');
    assert.equal(child(DRAW.replace('progressBar(true', 'progressBar(false'), true).stderr, '');
  });
});

