/**
 * The package as published: `npm pack` holds the built CLI and library, README and docs, and nothing
 * of the tests, fixtures, scripts or benches; installed from the tarball into an empty folder, its
 * `xtar` binary runs and a pack + unpack round trip restores a tree exactly.
 *
 * Two shortcuts, both to keep this inside `npm test` (which has already built dist/):
 * - `npm pack --ignore-scripts`: `prepare` (tsc) would rebuild dist/ under the other test files as
 *   they run. In a clean clone `npm pack` runs `prepare`, which builds dist/src first.
 * - better-sqlite3 is installed with `--ignore-scripts` at this repository's version, and the native
 *   binary this repository built is copied in: building it with node-gyp takes minutes. Everything
 *   else (files, bin, shebang, exports, dependency resolution) is what a user's install does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, stat, writeFile, chmod } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/cli.js';
import { diffSnapshots, removeTree, seededBytes, seededText, snapshot, tempDir } from '../helpers/tree.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const require = createRequire(join(repo, 'package.json'));
const sqliteVersion = (JSON.parse(await readFile(require.resolve('better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
const sqliteBinary = join(require.resolve('better-sqlite3/package.json'), '..', 'build/Release/better_sqlite3.node');

const LIBDEFLATE_HEADER = '/usr/include/libdeflate.h';
/** What the `install` script needs to build the libdeflate addon on the user's machine. */
const NATIVE_SOURCES = ['native/binding.gyp', 'native/build.mjs', 'native/xtar_deflate.c'];

interface PackInfo {
  filename: string;
  files: { path: string; mode: number }[];
}

describe('the published package', () => {
  let work: string;
  let tarball: string;
  let files: string[];
  let app: string;
  let bin: string;

  before(async () => {
    work = await tempDir('xtar-publish-');
    const r = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: repo });
    assert.equal(r.status, 0, r.stderr);
    const info = (JSON.parse(r.stdout) as PackInfo[])[0] as PackInfo;
    tarball = join(work, info.filename);
    files = info.files.map((f) => f.path).sort();
    app = join(work, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'xtar-publish-check', private: true }) + '\n');
    const args = ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tarball, `better-sqlite3@${sqliteVersion}`];
    const i = await run('npm', args, { cwd: app });
    assert.equal(i.status, 0, `npm ${args.join(' ')}\n${i.stderr}`);
    const installed = (JSON.parse(await readFile(join(app, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
    assert.equal(installed, sqliteVersion, 'the copied native binary must match the installed better-sqlite3');
    await mkdir(join(app, 'node_modules/better-sqlite3/build/Release'), { recursive: true });
    await copyFile(sqliteBinary, join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'));
    bin = join(app, 'node_modules/.bin/xtar');
  });
  after(async () => {
    await removeTree(work);
  });

  it('the tarball holds the built CLI and library, README and docs, the addon\'s sources, and no tests, fixtures, scripts or source maps', () => {
    for (const must of ['package.json', 'README.md', 'LICENSE', 'docs/FORMAT.md', 'docs/BACKUPS.md', 'dist/src/cli/main.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/worker/compress-worker.js', ...NATIVE_SOURCES]) {
      assert.ok(files.includes(must), `${must} is in the tarball`);
    }
    const stray = files.filter((f) => !(f.startsWith('dist/src/') || f.startsWith('docs/') || NATIVE_SOURCES.includes(f) || f === 'README.md' || f === 'package.json' || f === 'LICENSE'));
    assert.deepEqual(stray, [], 'only dist/src, docs, the addon\'s sources (never a built native/build/), README, LICENSE and package.json');
    assert.deepEqual(files.filter((f) => f.endsWith('.map') || /(^|\/)(test|fixtures|scripts|bench)\//.test(f)), []);
  });

  it('package.json points at files the tarball has: bin with its shebang, main, types, exports', async () => {
    const pkg = JSON.parse(await readFile(join(app, 'node_modules/xtar/package.json'), 'utf8')) as { bin: Record<string, string>; main: string; types: string; exports: Record<string, { types: string; default: string }> };
    const target = pkg.bin.xtar as string;
    assert.equal(target, 'dist/src/cli/main.js');
    for (const f of [target, pkg.main, pkg.types, pkg.exports['.']?.types as string, pkg.exports['.']?.default as string]) assert.ok(files.includes(f.replace(/^\.\//, '')), `${f} is in the tarball`);
    assert.equal((await readFile(join(app, 'node_modules/xtar', target), 'utf8')).split('\n')[0], '#!/usr/bin/env node');
    const lib = await run(process.execPath, ['--input-type=module', '-e', "const m = await import('xtar'); console.log(typeof m.pack, typeof m.unpack)"], { cwd: app });
    assert.equal(lib.status, 0, lib.stderr);
    assert.equal(lib.stdout, 'function function\n');
  });

  it('node_modules/.bin/xtar --help runs (executable, with its shebang)', async () => {
    assert.ok(((await stat(bin)).mode & 0o111) !== 0, 'the bin is executable');
    const r = await run(bin, ['--help'], { cwd: app });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^xtar <command> \[options\]\n/);
    assert.match(r.stdout, /An archiver for discs and cold media: each file is compressed on its own, then tarred,/);
  });

  it('the installed xtar packs and unpacks a small tree exactly', async () => {
    const src = join(work, 'tree');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'text.txt'), seededText(11, 50_000));
    await writeFile(join(src, 'sub/random.bin'), seededBytes(12, 20_000));
    await writeFile(join(src, 'sub/run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(join(src, 'sub/run.sh'), 0o755);
    const p = await run(bin, ['pack', src, '--out', join(work, 'set'), '--quiet'], { cwd: app });
    assert.equal(p.status, 0, p.stderr);
    const u = await run(bin, ['unpack', join(work, 'set'), '--dest', join(work, 'out')], { cwd: app });
    assert.equal(u.status, 0, u.stderr);
    assert.match(u.stdout, /^restored 3 files /m);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(work, 'out/tree'))), []);
  });

  it('the installed package builds its libdeflate addon from the published sources, and packs with it', { skip: existsSync(LIBDEFLATE_HEADER) ? false : `no ${LIBDEFLATE_HEADER} here` }, async () => {
    const pkg = join(app, 'node_modules/xtar');
    const b = await run('npm', ['run', 'build:native'], { cwd: pkg });
    assert.equal(b.status, 0, b.stdout + b.stderr);
    assert.ok(existsSync(join(pkg, 'native/build/Release/xtar_deflate.node')));
    const src = join(work, 'tree-libdeflate');
    await mkdir(src);
    await writeFile(join(src, 'text.txt'), seededText(13, 80_000));
    const env = { ...process.env, XTAR_DEFLATE: 'libdeflate' };
    const p = await run(bin, ['pack', src, '--out', join(work, 'set-libdeflate'), '--quiet'], { cwd: app, env });
    assert.equal(p.status, 0, p.stderr);
    const u = await run(bin, ['unpack', join(work, 'set-libdeflate'), '--dest', join(work, 'out-libdeflate')], { cwd: app, env });
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(work, 'out-libdeflate/tree-libdeflate'))), []);
  });
});
