/**
 * `xtar rescue`: copy what can be read off a damaged disc, as GNU ddrescue does. Every file of each
 * volume folder is copied into DEST/<folder name>/ in chunks through a RandomReader (failing reads
 * narrowed down to sectors, retried, given up), the unreadable ranges left as holes (zeros, never
 * written) and listed in a GNU ddrescue mapfile beside the copy, FILE.map — one for every file, all
 * `+` when it was read in full. Run again with the maps there (another drive, a cleaned disc), only
 * the ranges a map does not mark `+` are read, and the copy and its map are brought up to date.
 * While a file is copied its map is brought up to date every CHECKPOINT bytes (`?` for what is not
 * tried yet), after the bytes it marks read are synced: a run interrupted mid-file goes on from there.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { blocksOf, formatMap, parseMap, unreadOf, type MapBlock } from '../format/ddrescue-map.js';
import { InputError } from '../errors.js';
import { MAP_SUFFIX } from '../set/rescue-map.js';
import { RandomReader, ReadSession, type ReadPolicy, type UnreadableRange } from '../unpack/random-reader.js';

const CHUNK = 1024 * 1024;
/** How many bytes of a file are copied between two writes of its map. */
const CHECKPOINT = 8 * CHUNK;
export { MAP_SUFFIX };

export interface RescuedFile {
  /** The copy's path. */
  path: string;
  bytes: number;
  /** Ranges still unread after this run (zeros in the copy, `-` in its map). */
  bad: UnreadableRange[];
  badBytes: number;
  /** Bytes read in this run (a later pass reads only what was bad). */
  read: number;
}

export interface RescueResult {
  volumes: { volume: string; copy: string; files: RescuedFile[] }[];
  badBytes: number;
  retrySeconds: number;
}

/** The files below `dir`, relative, sorted (rescue() passes over the maps among them). */
async function filesOf(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const r = rel === '' ? e.name : join(rel, e.name);
    if (e.isDirectory()) out.push(...(await filesOf(dir, r)));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

/** What still has to be read of a copy: everything, or what its map does not mark read. */
async function toRead(copy: string, size: number): Promise<{ fresh: boolean; want: UnreadableRange[] }> {
  const text = await readFile(copy + MAP_SUFFIX, 'utf8').catch(() => null);
  const exists = await stat(copy).then((s) => s.size === size, () => false);
  if (text === null || !exists) return { fresh: true, want: size > 0 ? [{ offset: 0, length: size }] : [] };
  const map = parseMap(text);
  if (map === null) throw new InputError(`${copy + MAP_SUFFIX} is not a ddrescue mapfile: move it away to copy ${basename(copy)} anew.`, copy + MAP_SUFFIX);
  return { fresh: false, want: unreadOf(map.blocks).filter((r) => r.offset < size) };
}

/** The parts of `bad` inside `want` (both sorted): a sector failing outside what was asked is not news. */
function within(bad: readonly UnreadableRange[], want: readonly UnreadableRange[], size: number): UnreadableRange[] {
  const out: UnreadableRange[] = [];
  for (const b of bad) {
    for (const w of want) {
      const start = Math.max(b.offset, w.offset);
      const end = Math.min(b.offset + b.length, w.offset + w.length, size);
      if (end > start) out.push({ offset: start, length: end - start });
    }
  }
  return out.sort((x, y) => x.offset - y.offset);
}

/**
 * The map of a copy of `size` bytes: `bad` unreadable ('-'), the parts of `want` from `cursor` on not
 * tried yet ('?'), the rest read ('+').
 */
function mapBlocks(size: number, bad: readonly UnreadableRange[], want: readonly UnreadableRange[], cursor: number): MapBlock[] {
  const untried = want.flatMap((w) => (w.offset + w.length > cursor ? [{ offset: Math.max(w.offset, cursor), length: w.offset + w.length - Math.max(w.offset, cursor) }] : []));
  return blocksOf(size, [...bad, ...untried.map((r) => ({ ...r, status: '?' }))].sort((x, y) => x.offset - y.offset));
}

/**
 * Write `to`'s map (through a temporary name: a map is whole or the old one). The map of a finished
 * copy names it (size, mtime: a copy changed since, by par2, is no longer described by it); that of a
 * copy still being written does not, so what it marks unread stays unread whatever happened after.
 */
async function writeMap(to: string, blocks: readonly MapBlock[], command: string, finished: boolean): Promise<void> {
  const after = await stat(to, { bigint: true });
  const text = formatMap(blocks, command, finished ? { size: Number(after.size), mtimeNs: after.mtimeNs } : null, new Date());
  await writeFile(`${to}${MAP_SUFFIX}.tmp`, text);
  await rename(`${to}${MAP_SUFFIX}.tmp`, to + MAP_SUFFIX);
}

/** Copy one file: read `want` of `from` into `to` (holes where unreadable), its map kept up to date; the ranges still unread. */
async function rescueFile(from: string, to: string, { fresh, want }: { fresh: boolean; want: UnreadableRange[] }, policy: ReadPolicy, command: string): Promise<{ bad: UnreadableRange[]; read: number; session: ReadSession }> {
  const session = new ReadSession(policy);
  const reader = await RandomReader.open(from, session);
  // A map left from a copy of another size describes nothing here: gone before the copy starts anew.
  if (fresh) await rm(to + MAP_SUFFIX, { force: true });
  const out = await open(to, fresh ? 'w' : 'r+');
  let read = 0;
  let sinceCheckpoint = 0;
  const last = want[want.length - 1];
  const wantEnd = last === undefined ? 0 : last.offset + last.length;
  const badSoFar = (): UnreadableRange[] => within(session.bad.get(from) ?? [], want, reader.size);
  try {
    await out.truncate(reader.size);
    for (const w of want) {
      for (let pos = w.offset; pos < w.offset + w.length; pos += CHUNK) {
        const len = Math.min(CHUNK, w.offset + w.length - pos);
        const b = await reader.read(pos, len);
        // Write only the bytes read: an unreadable range stays a hole (zeros), marked in the map.
        let at = pos;
        const end = pos + b.length;
        while (at < end) {
          const r = reader.unreadableIn(at, end - at);
          const stop = r === null ? end : Math.max(at, r.offset);
          if (stop > at) {
            await out.write(b, at - pos, stop - at, at);
            read += stop - at;
          }
          at = r === null ? end : Math.min(end, r.offset + r.length);
        }
        sinceCheckpoint += len;
        if (sinceCheckpoint >= CHECKPOINT && pos + len < wantEnd) {
          // The bytes first, then the map that says they are there.
          await out.datasync();
          await writeMap(to, mapBlocks(reader.size, badSoFar(), want, pos + len), command, false);
          sinceCheckpoint = 0;
        }
      }
    }
    await out.sync();
  } finally {
    await out.close();
    await reader.close();
  }
  return { bad: badSoFar(), read, session };
}

/** Rescue each volume folder of `volumes` into `dest`/<its name>/. */
export async function rescue(volumes: readonly string[], dest: string, policy: ReadPolicy, command: string): Promise<RescueResult> {
  const result: RescueResult = { volumes: [], badBytes: 0, retrySeconds: 0 };
  let retryMs = 0;
  for (const volume of volumes) {
    const s = await stat(volume).catch(() => null);
    if (s === null || !s.isDirectory()) throw new InputError(`${volume} is not a volume folder: name a folder such as /mnt/cdrom/ID-vol001.`, volume);
    const copy = join(dest, basename(volume));
    const files: RescuedFile[] = [];
    for (const rel of await filesOf(volume)) {
      if (rel.endsWith(MAP_SUFFIX)) continue;
      const from = join(volume, rel);
      const to = join(copy, rel);
      await mkdir(dirname(to), { recursive: true });
      const size = (await stat(from)).size;
      const want = await toRead(to, size);
      const done = await rescueFile(from, to, want, policy, command);
      retryMs += done.session.retryMs;
      await writeMap(to, blocksOf(size, done.bad), command, true);
      const bad = done.bad;
      const badBytes = bad.reduce((n, r) => n + r.length, 0);
      result.badBytes += badBytes;
      files.push({ path: to, bytes: size, bad, badBytes, read: done.read });
    }
    result.volumes.push({ volume, copy, files });
  }
  result.retrySeconds = Math.round(retryMs / 100) / 10;
  return result;
}
