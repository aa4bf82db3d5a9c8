/**
 * The structure record read alongside a catalog, both in depth-first order (comparePreorder): for
 * each regular file the catalog restores, its owner, mode and times — so the file's writer sets them
 * as it writes it, and the structure's pass (apply-structure.ts) has only folders and other nodes left.
 */
import { comparePreorder } from '../format/names.js';
import { decodeStructureEntry, parseTimeNs, uint, type StructureEntry } from '../format/records.js';
import { resolveGid, resolveUid } from '../scan/owners.js';
import { utimesSeconds, type FileMeta } from '../dest/file-meta.js';
import type { RecordSource } from '../set/read-records.js';
import { readLineBatches } from '../util/lines.js';

/** A file's metadata as the structure's pass sets it: owners (as root) resolved to this system's numbers. */
export function fileMetaOf(e: Pick<StructureEntry, 'mode' | 'uid' | 'gid' | 'user' | 'group' | 'mtimeNs'>, owners: boolean): FileMeta {
  return {
    mode: e.mode,
    owner: owners ? { uid: resolveUid(e.uid, e.user), gid: resolveGid(e.gid, e.group) } : null,
    time: utimesSeconds(e.mtimeNs),
  };
}

/** How encodeStructureEntry begins every line: the path first. */
const PATH_PREFIX = '{"path":"';

/** The path of a structure line as written, when it holds no escape (else null). */
function plainPath(line: string): string | null {
  if (!line.startsWith(PATH_PREFIX)) return null;
  const end = line.indexOf('"', PATH_PREFIX.length);
  if (end < 0) return null;
  const path = line.slice(PATH_PREFIX.length, end);
  return path.includes('\\') ? null : path;
}

/**
 * The regular-file entries of a structure record, met in order. Asked for paths in depth-first
 * order, it reads on to each; a path it has passed (out of order, or not in the record) has no
 * metadata here, and the structure's pass sets it as ever. A line is decoded only when it is the
 * file asked for (its path compared as written); one that does not decode, and everything after a
 * read that fails or after the record's end line, gives none: the structure's pass decodes those
 * lines itself and lists their problems.
 */
export class StructureCursor {
  private readonly lines: AsyncIterator<string[]> | null;
  /** The lines of the last read, and the next one's index. */
  private batch: string[] = [];
  private at = 0;
  /** The line read and not yet asked for, and its path (null: a line whose path is not known). */
  private line: string | null = null;
  private path: string | null = null;
  private read = 0;
  private ended = false;

  constructor(
    src: RecordSource,
    private readonly owners: boolean,
  ) {
    this.lines = src.unreadable === true ? null : readLineBatches(src.path, src.range, src.gzip)[Symbol.asyncIterator]();
    this.ended = this.lines === null;
  }

  /** The metadata of the regular file at `path` (a checked record path), or null (not a file in the record, or already passed). */
  async metaOf(path: string): Promise<FileMeta | null> {
    for (;;) {
      const line = this.line;
      if (line !== null) {
        const at = this.path;
        if (at === path) {
          this.line = null;
          return this.fileMeta(line);
        }
        // Passed: `path` is not ahead (the record is in depth-first order).
        if (at !== null && comparePreorder(at, path) > 0) return null;
        this.line = null;
      }
      if (!(await this.next())) return null;
    }
  }

  /** Read the next entry line (the header and the end line are not entries); false at the end. */
  private async next(): Promise<boolean> {
    for (;;) {
      if (this.ended || this.lines === null) return false;
      if (this.at === this.batch.length) {
        let r: IteratorResult<string[]>;
        try {
          r = await this.lines.next();
        } catch {
          this.ended = true;
          return false;
        }
        if (r.done === true) {
          this.ended = true;
          return false;
        }
        this.batch = r.value;
        this.at = 0;
        continue;
      }
      const line = this.batch[this.at++] as string;
      if (line.startsWith('{"end":')) {
        this.ended = true;
        return false;
      }
      if (this.read++ === 0) continue;
      this.line = line;
      this.path = plainPath(line) ?? decodedPath(line);
      return true;
    }
  }

  /** A regular file's metadata from its line, checked as decodeStructureEntry checks these fields (its path is the caller's, already checked); null if the line is anything else. */
  private fileMeta(line: string): FileMeta | null {
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (o.type !== 'file' || typeof o.mode !== 'string' || !/^[0-7]{1,6}$/.test(o.mode)) return null;
      const mode = parseInt(o.mode, 8);
      if (mode > 0o7777) return null;
      if ((o.user !== undefined && typeof o.user !== 'string') || (o.group !== undefined && typeof o.group !== 'string')) return null;
      uint(o.size, 'size', '');
      const e = { mode, uid: uint(o.uid, 'uid', ''), gid: uint(o.gid, 'gid', ''), mtimeNs: parseTimeNs(o.mtime, ''), user: o.user as string | undefined, group: o.group as string | undefined };
      return fileMetaOf(e, this.owners);
    } catch {
      return null;
    }
  }

  /** The number of the record's line (the header is line 1) whose metadata metaOf returned last. */
  get lineNumber(): number {
    return this.read;
  }

  /** Stop reading (the record's file is closed). */
  async close(): Promise<void> {
    await this.lines?.return?.(undefined);
  }
}

/** The path of a line whose path holds an escape, decoded (null: the line does not decode). */
function decodedPath(line: string): string | null {
  try {
    return decodeStructureEntry(line).path;
  } catch {
    return null;
  }
}
