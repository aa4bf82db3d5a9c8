/**
 * Device numbers: Linux's encoding of dev_t into major and minor, as pure functions of the number
 * lstat gives. Nothing here reads the disk or knows other systems' encodings.
 */

/** The major number of a Linux dev_t (glibc gnu_dev_major): bits 8–19 and 44–63. */
export function devMajor(d: bigint): number {
  return Number(((d & 0xfff00n) >> 8n) | ((d & 0xfffff00000000000n) >> 32n));
}

/** The minor number of a Linux dev_t (glibc gnu_dev_minor): bits 0–7 and 20–43. */
export function devMinor(d: bigint): number {
  return Number((d & 0xffn) | ((d & 0xffffff00000n) >> 12n));
}
