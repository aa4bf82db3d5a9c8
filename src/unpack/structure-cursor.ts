/**
 * The structure record read alongside a catalog, both in depth-first order (comparePreorder): for
 * each regular file the catalog restores, its owner, mode and times — so the file's writer sets them
 * as it writes it, and the structure's pass (apply-structure.ts) has only folders and other nodes left.
 */
import { comparePreorder } from '../format/names.js';
import type { StructureEntry } from '../format/records.js';
import { resolveGid, resolveUid } from '../scan/owners.js';
import { utimesSeconds, type FileMeta } from '../dest/file-meta.js';
import { structureEntries, type RecordSource } from '../set/read-records.js';

/** A file's metadata as the structure's pass sets it: owners (as root) resolved to this system's numbers. */
export function fileMetaOf(e: StructureEntry, owners: boolean): FileMeta {
  return {
    mode: e.mode,
    owner: owners ? { uid: resolveUid(e.uid, e.user), gid: resolveGid(e.gid, e.group) } : null,
    time: utimesSeconds(e.mtimeNs),
  };
}

/**
 * The regular-file entries of a structure record, met in order. Asked for paths in depth-first
 * order, it reads on to each; a path it has passed (out of order, or not in the record) has no
 * metadata here, and the structure's pass sets it as ever. A record that does not read cleanly
 * gives none from where it fails: its problems are the structure's pass's to list.
 */
export class StructureCursor {
  private readonly entries: AsyncIterator<StructureEntry>;
  private current: StructureEntry | null = null;
  private ended = false;

  constructor(
    src: RecordSource,
    private readonly owners: boolean,
  ) {
    this.entries = structureEntries(src, () => undefined)[Symbol.asyncIterator]();
  }

  /** The metadata of the regular file at `path`, or null (not a file in the record, or already passed). */
  async metaOf(path: string): Promise<FileMeta | null> {
    for (;;) {
      const e = this.current;
      if (e !== null) {
        if (e.path === path) {
          this.current = null;
          return e.type === 'file' ? fileMetaOf(e, this.owners) : null;
        }
        // Passed: `path` is not ahead (the record is in depth-first order).
        if (comparePreorder(e.path, path) > 0) return null;
        this.current = null;
      }
      if (this.ended) return null;
      try {
        const next = await this.entries.next();
        if (next.done === true) {
          this.ended = true;
          return null;
        }
        this.current = next.value;
      } catch {
        this.ended = true;
        return null;
      }
    }
  }

  /** Stop reading (the record's file is closed). */
  async close(): Promise<void> {
    await this.entries.return?.(undefined);
  }
}
