/**
 * Upper bounds on how many bytes an entry can take in a nested tar, known before compressing. The
 * writer uses them to choose, before writing a header, whether its size fits the ustar field or needs
 * a fixed-width pax size record that can be filled in afterwards.
 */

/** Bytes a tar entry can add beyond its data: pax header + records + ustar header + padding. */
export const ENTRY_FRAMING_MAX = 4 * 512;
/** Zip local header + central directory + zip64 records + EOCD, with a 255-byte name twice. */
export const ZIP_FRAMING_MAX = 30 + 20 + 46 + 20 + 56 + 20 + 22 + 2 * 255;
/** A directory's nested tar adds its end-of-archive blocks. */
export const END_BLOCKS = 1024;

/** The largest blob a file of `size` bytes can become: stored size, or zlib's deflate bound. */
export function blobBound(size: number): number {
  // zlib deflateBound(): len + (len >> 12) + (len >> 14) + (len >> 25) + 13 (+ 6 wrapper bytes we don't write).
  return size + Math.floor(size / 4096) + Math.floor(size / 16384) + Math.floor(size / 33554432) + 13 + ZIP_FRAMING_MAX;
}

/** The largest a regular file's whole entry (header, blob, padding) can be. */
export function fileEntryBound(size: number): number {
  return blobBound(size) + ENTRY_FRAMING_MAX;
}

/** The largest a directory's entry can be, given the sum of its children's bounds. */
export function dirEntryBound(childrenBound: number): number {
  return childrenBound + END_BLOCKS + ENTRY_FRAMING_MAX;
}
