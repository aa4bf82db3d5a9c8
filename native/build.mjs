#!/usr/bin/env node
/**
 * Builds xtar's libdeflate addon (native/build/Release/xtar_deflate.node) with node-gyp, as npm does
 * for better-sqlite3. It is package.json's `install` script, so it must never fail an install: when
 * libdeflate-dev, a compiler or node-gyp's headers are missing it says so in one line and exits 0, and
 * xtar deflates with Node's zlib (src/worker/deflate.ts).
 *
 *   node native/build.mjs            the install step: tolerant and quiet
 *   node native/build.mjs --strict   `npm run build:native`: shows node-gyp's output, fails when it fails
 *   node native/build.mjs --if-needed  `npm test`'s pretest: as the install step, but nothing to do when
 *                                      the addon is newer than its sources (a fresh worktree gets it built)
 *
 * XTAR_NATIVE=0 skips the build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const strict = process.argv.includes('--strict');

if (process.env.XTAR_NATIVE === '0' && !strict) {
  console.log('xtar: XTAR_NATIVE=0, the libdeflate addon is not built; pack deflates with Node\'s zlib.');
  process.exit(0);
}

const addon = join(here, 'build/Release/xtar_deflate.node');
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : -1);
if (process.argv.includes('--if-needed') && mtime(addon) >= Math.max(mtime(join(here, 'binding.gyp')), mtime(join(here, 'xtar_deflate.c')))) process.exit(0);

// npm hands its own node-gyp to lifecycle scripts; outside npm, the one npm bundles beside this node,
// else whatever node-gyp is on the PATH.
const bundled = join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
const gyp = process.env.npm_config_node_gyp || (existsSync(bundled) ? bundled : undefined);
// Node's own headers, where this node was installed with them (Debian's nodejs, the official tarballs):
// node-gyp then needs no download, which an offline machine could not make.
const prefix = join(dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir ?? (existsSync(join(prefix, 'include/node/node_api.h')) ? prefix : undefined);
const gypArgs = ['rebuild', ...(nodedir === undefined ? [] : [`--nodedir=${nodedir}`])];
const [command, args] = gyp ? [process.execPath, [gyp, ...gypArgs]] : ['node-gyp', gypArgs];
const r = spawnSync(command, args, { cwd: here, encoding: 'utf8', stdio: strict ? 'inherit' : ['ignore', 'pipe', 'pipe'] });

if (r.status === 0) {
  if (!strict) console.log('xtar: built the libdeflate addon; pack deflates small files with libdeflate.');
  process.exit(0);
}
// Nothing half-built may be loaded later.
rmSync(join(here, 'build'), { recursive: true, force: true });
const output = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
const why = r.error
  ? `node-gyp did not run: ${r.error.message}`
  : /libdeflate\.h/.test(output)
    ? 'libdeflate.h not found: install libdeflate-dev'
    : /network connectivity|getaddrinfo|ENOTFOUND|ECONNREFUSED|EAI_AGAIN/.test(output)
      ? "node-gyp could not download Node's headers: offline? give it --nodedir, e.g. npm_config_nodedir=/usr"
      : (output.split('\n').find((l) => /\berror\b|ERR!/i.test(l) && !/^gyp WARN/.test(l)) ?? `node-gyp exited with ${r.status}`).trim();
console.warn(`xtar: the libdeflate addon was not built (${why}); pack deflates with Node's zlib instead, which is slower but as good.`);
process.exit(strict ? 1 : 0);
