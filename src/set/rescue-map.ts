/**
 * What a rescued copy lacks: the ranges its GNU ddrescue mapfile (FILE.map, written by `xtar rescue`
 * or ddrescue) does not mark read. Those bytes are zeros in the copy, not data; every reader of a
 * copy — the archive's narrowing reader, the records beside it, volume.json — takes them as
 * unreadable, exactly as the disc's failing sectors.
 */
import { readFile, stat } from 'node:fs/promises';
import { parseMap, unreadOf } from '../format/ddrescue-map.js';

export const MAP_SUFFIX = '.map';

export interface MissingRange {
  offset: number;
  length: number;
}

/**
 * The ranges of `path` its map (PATH.map) does not mark read; none when there is no map, it is not
 * one, or it names another state of the copy (xtar's maps name the copy's size and mtime: a copy
 * par2 repaired since is no longer described by it).
 */
export async function missingPerMap(path: string): Promise<MissingRange[]> {
  const text = await readFile(path + MAP_SUFFIX, 'utf8').catch(() => null);
  const map = text === null ? null : parseMap(text);
  if (map === null) return [];
  if (map.copy !== null) {
    const s = await stat(path, { bigint: true }).catch(() => null);
    if (s === null || Number(s.size) !== map.copy.size || s.mtimeNs !== map.copy.mtimeNs) return [];
  }
  return unreadOf(map.blocks);
}

/** The first byte of [start, end) of `path` that its map marks missing, or null. */
export async function firstMissing(path: string, start = 0, end = Number.MAX_SAFE_INTEGER): Promise<number | null> {
  for (const r of await missingPerMap(path)) if (r.offset < end && start < r.offset + r.length) return Math.max(r.offset, start);
  return null;
}
