/**
 * Whole-buffer raw deflate for the workers: libdeflate through xtar's own addon (native/, built at
 * install time when libdeflate-dev and a compiler are there) or, without it, Node's zlib at the same
 * level. Both write valid raw deflate that every inflater reads; their bytes differ, so blobs are the
 * same only in content across backends (docs/FORMAT.md, "Zip blobs"). XTAR_DEFLATE=zlib forces zlib
 * (the golden archives are zlib's bytes); XTAR_DEFLATE=libdeflate insists on the addon.
 *
 * Only whole buffers go here: a large file's chunks are deflated by zlib with the previous 32 KiB as a
 * preset dictionary, which libdeflate has no way to take.
 */
import { createRequire } from 'node:module';
import { crc32, deflateRawSync, gzipSync, inflateRawSync } from 'node:zlib';
import { UsageError } from '../errors.js';

export type DeflateBackend = 'libdeflate' | 'zlib';

interface Addon {
  deflateRaw(data: Uint8Array, level: number): Buffer;
  gzipMember(data: Uint8Array, level: number): Buffer;
  inflateRaw(data: Uint8Array, size: number): Buffer;
  inflateRawEx(data: Uint8Array, size: number): [Buffer, number];
  /** Missing from an addon built before it was added (then zlib's is used). */
  crc32?: (data: Uint8Array) => number;
  version: string;
}

/** Where `npm install` leaves the addon, from dist/src/worker/ (and src/worker/ under a TS runner). */
const ADDON_PATH = '../../../native/build/Release/xtar_deflate.node';

/**
 * The libdeflate level used for each of xtar's levels 0–9, which are zlib's (index = zlib level).
 * libdeflate's levels run 1–12 and squeeze harder than zlib's at the same number; measured on a real
 * tree (scripts/deflate-compare.ts, README "Dependencies"), each of these makes data no more than 0.5%
 * larger than zlib's at that level (6 → 5: +0.05%, every other level smaller) for less CPU.
 */
export const LIBDEFLATE_LEVEL: readonly number[] = [0, 1, 2, 3, 3, 5, 5, 6, 7, 9];

function loadAddon(): { addon: Addon | null; error: string | null } {
  try {
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as Addon, error: null };
  } catch (e) {
    return { addon: null, error: e instanceof Error ? e.message : String(e) };
  }
}

function choose(): { backend: DeflateBackend; addon: Addon | null; why: string } {
  const want = process.env['XTAR_DEFLATE'] ?? '';
  if (want === 'zlib') return { backend: 'zlib', addon: null, why: 'XTAR_DEFLATE=zlib' };
  if (want !== '' && want !== 'libdeflate') throw new UsageError(`XTAR_DEFLATE must be "zlib" or "libdeflate", not ${JSON.stringify(want)}.`);
  const { addon, error } = loadAddon();
  if (addon !== null) return { backend: 'libdeflate', addon, why: `libdeflate ${addon.version}` };
  if (want === 'libdeflate') throw new UsageError(`XTAR_DEFLATE=libdeflate, but the libdeflate addon did not load (${error ?? ''}); run \`npm run build:native\`.`);
  return { backend: 'zlib', addon: null, why: 'the libdeflate addon is not built' };
}

const chosen = choose();

/** The backend this thread deflates whole buffers with. */
export const deflateBackend: DeflateBackend = chosen.backend;
/** Why: the forcing variable, the addon's libdeflate version, or that the addon is missing. */
export const deflateBackendReason: string = chosen.why;

/** One raw deflate stream of all of `data` at xtar's `level` (1–9, zlib's scale). */
export function deflateWhole(data: Uint8Array, level: number): Buffer {
  if (chosen.addon !== null) return chosen.addon.deflateRaw(data, LIBDEFLATE_LEVEL[level] ?? level);
  return deflateRawSync(data, { level });
}

/**
 * One gzip member of all of `data` (RFC 1952; no name, time 0): libdeflate at `libdeflateLevel`
 * (1–12) when the addon is loaded, else zlib at `zlibLevel`. The records' copies are a run of these
 * (see src/pack/gzip-record.ts).
 */
export function gzipMember(data: Uint8Array, libdeflateLevel: number, zlibLevel: number): Buffer {
  if (chosen.addon === null) return gzipSync(data, { level: zlibLevel });
  return chosen.addon.gzipMember(data, libdeflateLevel);
}

/** The CRC-32 of all of `data`: libdeflate's where the addon is loaded (3.7× zlib's speed here), else zlib's. */
export const crc32Of: (data: Uint8Array) => number = typeof chosen.addon?.crc32 === 'function' ? chosen.addon.crc32 : (data) => crc32(data);

/**
 * Inflates a raw deflate stream that must give exactly `size` bytes; throws (code Z_DATA_ERROR or
 * zlib's own) when it is damaged or its length differs. `consumed` is how many of `data`'s bytes the
 * stream used, so a caller can tell a stream that ends early from one that fills its space.
 */
export function inflateWhole(data: Uint8Array, size: number): { out: Buffer; consumed: number } {
  if (chosen.addon !== null) {
    const [out, consumed] = chosen.addon.inflateRawEx(data, size);
    return { out, consumed };
  }
  const r = inflateRawSync(data, { info: true, maxOutputLength: Math.max(size, 1) }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
  if (r.buffer.length !== size) throw Object.assign(new Error(`inflate: the stream holds ${r.buffer.length} bytes, not ${size}`), { code: 'Z_DATA_ERROR' });
  return { out: r.buffer, consumed: r.engine.bytesWritten };
}
