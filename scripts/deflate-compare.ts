/**
 * zlib against libdeflate on the whole-buffer path (issue 17): every regular file of a tree up to
 * 8 MiB, treated as encodeZipBlob treats it (a file of 64 KiB or more is probed first and stored when
 * the probe saves under 3%; a deflate that is not smaller is stored), deflated once per backend and
 * level. Prints CPU seconds (user+sys of this process, so other load on the machine does not count)
 * and the bytes of data the blobs would hold.
 *
 *   npm run deflate-compare -- TREE [--zlib 6] [--libdeflate 4,5,6,7] [--runs 2] [--inflate 6]
 *
 * --inflate L also times inflating every file deflated by zlib at level L, with zlib (as
 * decodeZipBlob does) and with libdeflate (src/worker/deflate.ts's inflateWhole).
 */
import { readdirSync, readFileSync, lstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { PROBE_BYTES, probeCompressible } from '../src/format/zip.js';

const SMALL_FILE_MAX = 8 * 1024 * 1024;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

function files(dir: string, out: Buffer[]): Buffer[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files(p, out);
    else if (e.isFile() && lstatSync(p).size <= SMALL_FILE_MAX) out.push(readFileSync(p));
  }
  return out;
}

const tree = process.argv[2];
if (tree === undefined || tree.startsWith('--')) throw new Error('usage: deflate-compare TREE [--zlib 6] [--libdeflate 4,5,6] [--runs 2]');
const addon = createRequire(import.meta.url)('../../native/build/Release/xtar_deflate.node') as {
  deflateRaw(d: Uint8Array, level: number): Buffer;
  inflateRawEx(d: Uint8Array, size: number): [Buffer, number];
};
const bufs = files(tree, []);
// Which files are deflated at all is decided by the zlib probe, the same for every backend.
const tried = bufs.filter((b) => b.length > 0 && (b.length < PROBE_BYTES || probeCompressible(b.subarray(0, PROBE_BYTES))));
const raw = bufs.reduce((n, b) => n + b.length, 0);
const storedOnly = bufs.reduce((n, b) => n + b.length, 0) - tried.reduce((n, b) => n + b.length, 0);
console.log(`${tree}: ${bufs.length} files up to 8 MiB, ${raw} bytes; ${tried.length} deflated (${raw - storedOnly} bytes)`);

const runs = Number(arg('runs', '2'));
const configs: { name: string; fn: (b: Buffer) => Buffer }[] = [];
for (const l of arg('zlib', '6').split(',').filter(Boolean)) configs.push({ name: `zlib ${l}`, fn: (b) => deflateRawSync(b, { level: Number(l) }) });
for (const l of arg('libdeflate', '1,2,3,4,5,6,7,8,9').split(',').filter(Boolean)) configs.push({ name: `libdeflate ${l}`, fn: (b) => addon.deflateRaw(b, Number(l)) });

let base: { cpu: number; bytes: number } | null = null;
console.log('backend        CPU s   data bytes   vs first');
for (const c of configs) {
  let best = Infinity;
  let bytes = 0;
  for (let r = 0; r < runs; r++) {
    bytes = storedOnly;
    const t0 = process.cpuUsage();
    for (const b of tried) bytes += Math.min(c.fn(b).length, b.length);
    const t = process.cpuUsage(t0);
    best = Math.min(best, (t.user + t.system) / 1e6);
  }
  base ??= { cpu: best, bytes };
  console.log(`${c.name.padEnd(14)} ${best.toFixed(2).padStart(5)}  ${String(bytes).padStart(11)}   ${(best / base.cpu).toFixed(2)}× CPU, ${(((bytes - base.bytes) / base.bytes) * 100).toFixed(2)}% bytes`);
}

const inflateLevel = arg('inflate', '');
if (inflateLevel !== '') {
  const streams = tried.map((b) => ({ size: b.length, d: deflateRawSync(b, { level: Number(inflateLevel) }) }));
  console.log(`inflating the ${streams.length} streams zlib ${inflateLevel} wrote:`);
  const inflaters: [string, (s: { size: number; d: Buffer }) => number][] = [
    ['zlib', (s) => (inflateRawSync(s.d, { maxOutputLength: Math.max(1, s.size + 1), chunkSize: Math.min(1 << 20, Math.max(64, s.size + 1)) }) as Buffer).length],
    ['libdeflate', (s) => addon.inflateRawEx(s.d, s.size)[0].length],
  ];
  for (const [name, fn] of inflaters) {
    let best = Infinity;
    for (let r = 0; r < runs; r++) {
      const t0 = process.cpuUsage();
      let n = 0;
      for (const st of streams) n += fn(st);
      const t = process.cpuUsage(t0);
      if (n !== raw - storedOnly) throw new Error(`${name} inflated ${n} bytes`);
      best = Math.min(best, (t.user + t.system) / 1e6);
    }
    console.log(`${name.padEnd(14)} ${best.toFixed(2).padStart(5)} CPU s`);
  }
}
