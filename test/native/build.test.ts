/**
 * native/build.mjs, package.json's `install` step: it must never fail an install. Each case runs a
 * copy of native/ with a stand-in node-gyp (npm_config_node_gyp, as npm passes its own), so neither
 * the real addon nor the machine's libdeflate-dev is touched.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/cli.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const NATIVE = fileURLToPath(new URL('../../../native/', import.meta.url));

describe('native/build.mjs', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  /** A copy of native/ holding a stale build, and a node-gyp that prints `output` and exits with `status` (making the addon when 0). */
  async function setup(name: string, output: string, status: number): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
    const dir = join(work, name, 'native');
    await mkdir(join(dir, 'build/Release'), { recursive: true });
    for (const f of ['binding.gyp', 'build.mjs', 'xtar_deflate.c']) await copyFile(join(NATIVE, f), join(dir, f));
    await writeFile(join(dir, 'build/Release/half-built.o'), '');
    const gyp = join(work, name, 'fake-node-gyp.cjs');
    const make = status === 0 ? "require('fs').writeFileSync('build/Release/xtar_deflate.node', '');" : '';
    await writeFile(gyp, `process.stderr.write(${JSON.stringify(output)}); ${make} process.exit(${status});\n`);
    return { dir, env: { ...process.env, npm_config_node_gyp: gyp, XTAR_NATIVE: '' } };
  }

  it('without libdeflate-dev the install step exits 0, says why in one line, and leaves no half-built addon', async () => {
    const { dir, env } = await setup('no-header', "../xtar_deflate.c:17:10: fatal error: libdeflate.h: No such file or directory\ngyp ERR! not ok\n", 1);
    const r = await run(process.execPath, [join(dir, 'build.mjs')], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "xtar: the libdeflate addon was not built (libdeflate.h not found: install libdeflate-dev); pack deflates with Node's zlib instead, which is slower but as good.\n");
    assert.equal(existsSync(join(dir, 'build')), false);
  });

  it('any other failure (no compiler, no headers) is also only a warning; --strict (npm run build:native) fails', async () => {
    const { dir, env } = await setup('no-compiler', 'gyp ERR! build error\ngyp ERR! stack Error: not found: make\n', 1);
    const r = await run(process.execPath, [join(dir, 'build.mjs')], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^xtar: the libdeflate addon was not built \(gyp ERR! build error\); pack deflates with Node's zlib instead/);
    const strict = await run(process.execPath, [join(dir, 'build.mjs'), '--strict'], { env });
    assert.equal(strict.status, 1);
  });

  it('when node-gyp succeeds the addon is there; --if-needed then does nothing until a source is newer', async () => {
    const { dir, env } = await setup('ok', '', 0);
    const r = await run(process.execPath, [join(dir, 'build.mjs')], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^xtar: built the libdeflate addon/);
    assert.ok(existsSync(join(dir, 'build/Release/xtar_deflate.node')));
    const failing = { ...env, npm_config_node_gyp: join(work, 'no-header', 'fake-node-gyp.cjs') };
    const again = await run(process.execPath, [join(dir, 'build.mjs'), '--if-needed'], { env: failing });
    assert.deepEqual(again, { status: 0, stdout: '', stderr: '' }, 'nothing ran: the addon is newer than its sources');
  });

  it('XTAR_NATIVE=0 skips the build', async () => {
    const { dir, env } = await setup('skip', '', 0);
    const r = await run(process.execPath, [join(dir, 'build.mjs')], { env: { ...env, XTAR_NATIVE: '0' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /XTAR_NATIVE=0/);
    assert.equal(existsSync(join(dir, 'build/Release/xtar_deflate.node')), false);
  });
});
