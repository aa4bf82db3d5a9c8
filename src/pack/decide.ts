/**
 * Which of a file's bytes a backup stores: store them, refer to the copy an earlier backup holds, or
 * read the file to compare; and the catalog line of such a reference. Reads the index, writes nothing.
 */
import type { CatalogFile, StructureEntry } from '../format/records.js';
import type { FileVersion, SetIndex } from '../setindex/db.js';
import type { BackupPlan } from './plan-backup.js';

/**
 * An incremental's decision for one file: store its bytes, refer to the copy an earlier backup holds,
 * or read it to compare with that copy (its size is the same but its mtime is not, or --checksum, or
 * a file with this size and mtime vanished elsewhere: a rename).
 */
export type Decision = { kind: 'store' } | { kind: 'ref'; v: FileVersion } | { kind: 'check'; v: FileVersion };

export function decide(index: SetIndex, plan: BackupPlan, checksum: boolean, e: StructureEntry): Decision {
  if (plan.base === null) return { kind: 'store' };
  const size = e.size ?? 0;
  const prev = index.lookup(plan.base.rowid, e.path);
  if (prev !== null && prev.blob !== null) {
    if (plan.kind === 'cyclic' && index.isRefresh(e.path)) return { kind: 'store' };
    if (prev.size !== size) return { kind: 'store' };
    return prev.mtimeNs === e.mtimeNs && !checksum ? { kind: 'ref', v: prev } : { kind: 'check', v: prev };
  }
  if (prev === null && size > 0) {
    const moved = index.findByTime(plan.base.rowid, size, e.mtimeNs);
    if (moved !== null) return { kind: 'check', v: moved };
  }
  return { kind: 'store' };
}

/** The catalog line of a file whose bytes an earlier backup holds. */
export function refLine(path: string, v: FileVersion): CatalogFile {
  const b = v.blob as NonNullable<FileVersion['blob']>;
  return {
    path,
    size: v.size,
    sha256: b.sha256,
    crc32: b.crc32,
    method: b.method,
    parts: b.parts,
    backup: b.holder,
    ...(b.holderPath === path ? {} : { as: b.holderPath }),
  };
}
