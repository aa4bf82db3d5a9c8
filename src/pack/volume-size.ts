/**
 * Volume sizes: byte counts, counts with a unit, and presets for real media. Parsing only; filling
 * volumes is placement.ts's (the room) and volume-writer.ts's (the files) job.
 */
import { UsageError } from '../errors.js';

/** Room left on a preset medium for its file system (ISO 9660 + Joliet + Rock Ridge, or UDF). */
export const FILE_SYSTEM_ALLOWANCE = 4 * 1024 * 1024;

/** Writable capacity of each medium in bytes (user data, 2048-byte sectors), and where the figure comes from. */
export const MEDIA: Readonly<Record<string, { capacity: number; what: string }>> = {
  cd: { capacity: 737_280_000, what: 'CD-R 80 min: 360,000 sectors × 2048 bytes' },
  dvd: { capacity: 4_700_372_992, what: 'DVD±R single layer: 2,295,104 sectors × 2048 (DVD+R, the smaller of DVD-R and DVD+R)' },
  'dvd-dl': { capacity: 8_543_666_176, what: 'DVD±R dual layer: 4,171,712 sectors × 2048 (DVD-R DL, the smaller)' },
  bd: { capacity: 25_025_314_816, what: 'BD-R single layer 25 GB: 12,219,392 sectors × 2048' },
  'bd-dl': { capacity: 50_050_629_632, what: 'BD-R dual layer 50 GB: 24,438,784 sectors × 2048' },
};

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** The smallest volume xtar accepts: room for the records and a few files. */
export const MIN_VOLUME_SIZE = 256 * 1024;

/**
 * `700M` (SI units: K, M, G, T are powers of 1000, as on disc labels), `650MiB` (KiB, MiB, GiB, TiB
 * are powers of 1024), a plain byte count, or a preset (cd, dvd, dvd-dl, bd, bd-dl: the medium's
 * capacity less FILE_SYSTEM_ALLOWANCE).
 */
export function parseVolumeSize(text: string): number {
  const t = text.trim().toLowerCase();
  const preset = MEDIA[t];
  if (preset) return preset.capacity - FILE_SYSTEM_ALLOWANCE;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(t);
  const unit = m ? UNITS[m[2] as string] : undefined;
  if (!m || unit === undefined) {
    throw new UsageError(`--volume-size ${JSON.stringify(text)} is not a size: give bytes, a number with K/M/G/T (×1000) or KiB/MiB/GiB/TiB (×1024), or one of ${Object.keys(MEDIA).join(', ')}.`);
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < MIN_VOLUME_SIZE) throw new UsageError(`--volume-size must be at least ${MIN_VOLUME_SIZE} bytes (256 KiB).`);
  return bytes;
}
