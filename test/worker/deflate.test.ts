/**
 * The whole-buffer deflate backends (src/worker/deflate.ts): libdeflate through native/'s addon when it
 * is built, Node's zlib otherwise or when XTAR_DEFLATE=zlib. Whatever the backend, its output is raw
 * deflate that zlib inflates to the same bytes; the two backends' bytes differ.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { run } from '../helpers/cli.js';
import { seededBytes, seededText } from '../helpers/tree.js';
import { crc32Of, deflateBackend, deflateWhole, inflateWhole, LIBDEFLATE_LEVEL } from '../../src/worker/deflate.js';

const MODULE = fileURLToPath(new URL('../../src/worker/deflate.js', import.meta.url));
const ADDON = fileURLToPath(new URL('../../../native/build/Release/xtar_deflate.node', import.meta.url));
/** Whether this machine can build the addon: then `npm ci` must have built it (CI installs libdeflate-dev). */
const HEADER = '/usr/include/libdeflate.h';
const noAddon = existsSync(ADDON) ? false : 'the libdeflate addon is not built here (native/build.mjs found no libdeflate-dev)';

/**
 * A copy of the built module (and the one it imports) where no addon stands at the path it looks for:
 * what a machine without libdeflate-dev runs, whether or not this one built the addon.
 */
const copies: string[] = [];
after(() => {
  for (const c of copies) rmSync(c, { recursive: true, force: true });
});
function moduleWithoutAddon(): string {
  const root = mkdtempSync(join(tmpdir(), 'xtar-noaddon-'));
  copies.push(root);
  mkdirSync(join(root, 'dist/src/worker'), { recursive: true });
  writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
  copyFileSync(MODULE, join(root, 'dist/src/worker/deflate.js'));
  copyFileSync(fileURLToPath(new URL('../../src/errors.js', import.meta.url)), join(root, 'dist/src/errors.js'));
  return join(root, 'dist/src/worker/deflate.js');
}

/** The backend a fresh process picks under XTAR_DEFLATE=`value` (undefined: unset), or its error. */
async function backendUnder(value: string | undefined, module = MODULE): Promise<{ status: number; out: string }> {
  const env = { ...process.env };
  delete env['XTAR_DEFLATE'];
  if (value !== undefined) env['XTAR_DEFLATE'] = value;
  const code = `const m = await import(${JSON.stringify(module)}); console.log(m.deflateBackend, m.deflateWhole(Buffer.from('abcabcabcabc'), 6).toString('hex'));`;
  const r = await run(process.execPath, ['--input-type=module', '-e', code], { env });
  return { status: r.status, out: r.status === 0 ? r.stdout.trim() : r.stderr };
}

const samples: [string, Buffer][] = [
  ['empty', Buffer.alloc(0)],
  ['one byte', Buffer.from('x')],
  ['text', seededText(1, 50_000)],
  ['random', seededBytes(2, 20_000)],
  ['a megabyte of repeats', Buffer.alloc(1 << 20, 'xtar ')],
];

describe('whole-buffer deflate', () => {
  it('every level of the backend in use inflates with zlib to the same bytes, and inflateWhole reads it back', () => {
    for (const [name, data] of samples) {
      for (let level = 1; level <= 9; level++) {
        const d = deflateWhole(data, level);
        assert.ok(inflateRawSync(d).equals(data), `${deflateBackend}, ${name}, level ${level}`);
        const back = inflateWhole(d, data.length);
        assert.ok(back.out.equals(data), `inflateWhole: ${name}, level ${level}`);
        assert.equal(back.consumed, d.length);
      }
    }
  });

  it('crc32Of gives zlib\'s CRC-32 (the addon\'s when built), on every sample, a subarray and nothing', () => {
    for (const [name, data] of samples) {
      assert.equal(crc32Of(data), crc32(data), name);
      assert.equal(crc32Of(data.subarray(3, 1000)), crc32(data.subarray(3, 1000)), `${name}, a subarray`);
    }
    assert.equal(crc32Of(new Uint8Array(0)), 0);
  });

  it('inflateWhole refuses a stream whose length is not the one expected, and a damaged one', () => {
    const data = seededText(3, 10_000);
    const d = deflateWhole(data, 6);
    assert.throws(() => inflateWhole(d, data.length - 1));
    assert.throws(() => inflateWhole(d, data.length + 1));
    assert.throws(() => inflateWhole(d.subarray(0, d.length >> 1), data.length));
  });

  it('the level table maps each of zlib\'s levels 0–9 to a libdeflate level, never lower for a higher one', () => {
    assert.equal(LIBDEFLATE_LEVEL.length, 10);
    assert.equal(LIBDEFLATE_LEVEL[6], 5);
    for (let l = 1; l < 10; l++) assert.ok((LIBDEFLATE_LEVEL[l] as number) >= (LIBDEFLATE_LEVEL[l - 1] as number) && (LIBDEFLATE_LEVEL[l] as number) <= 12);
  });

  it('XTAR_DEFLATE=zlib gives zlib\'s own bytes; anything but zlib or libdeflate is refused', async () => {
    const zlibHex = deflateRawSync(Buffer.from('abcabcabcabc'), { level: 6 }).toString('hex');
    assert.deepEqual(await backendUnder('zlib'), { status: 0, out: `zlib ${zlibHex}` });
    const bad = await backendUnder('gzip');
    assert.notEqual(bad.status, 0);
    assert.match(bad.out, /XTAR_DEFLATE must be "zlib" or "libdeflate", not "gzip"/);
  });

  it('where libdeflate-dev is installed, the install built the addon', { skip: existsSync(HEADER) ? false : `no ${HEADER}` }, () => {
    assert.ok(existsSync(ADDON), `${HEADER} is there but ${ADDON} is not: run \`npm run build:native\` and read its errors`);
  });

  it('with the addon, libdeflate is the default and XTAR_DEFLATE=libdeflate picks it; its bytes differ from zlib\'s', { skip: noAddon }, async () => {
    const def = await backendUnder(undefined);
    const forced = await backendUnder('libdeflate');
    assert.equal(def.status, 0, def.out);
    assert.match(def.out, /^libdeflate [0-9a-f]+$/);
    assert.deepEqual(forced, def);
    const zlibHex = deflateRawSync(Buffer.from('abcabcabcabc'), { level: 6 }).toString('hex');
    assert.notEqual(def.out, `libdeflate ${zlibHex}`, 'libdeflate writes its own bytes');
    assert.ok(inflateRawSync(Buffer.from(def.out.split(' ')[1] as string, 'hex')).equals(Buffer.from('abcabcabcabc')));
  });

  it('without the addon, XTAR_DEFLATE=libdeflate is an error and the default is zlib', async () => {
    const module = moduleWithoutAddon();
    const forced = await backendUnder('libdeflate', module);
    assert.notEqual(forced.status, 0);
    assert.match(forced.out, /the libdeflate addon did not load/);
    assert.match((await backendUnder(undefined, module)).out, /^zlib /);
  });
});
