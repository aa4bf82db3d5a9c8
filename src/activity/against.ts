/**
 * What changed since a set's newest backup: the tree and the backup's structure record are walked
 * side by side (both are in the same depth-first, byte-sorted order), so nothing of either is held
 * in memory. Yields new and modified files; counts and lists deleted ones.
 */
import { InputError } from '../errors.js';
import { comparePreorder } from '../format/names.js';
import type { StructureEntry } from '../format/records.js';
import { scanTree } from '../scan/scan.js';
import type { SelectionOptions } from '../scan/select.js';
import { locate } from '../set/locate.js';
import { structureEntries } from '../set/read-records.js';
import type { ActivityFile, FileSource } from './cluster.js';

export interface Against {
  source: FileSource;
  /** Filled by each run of `source`: files in the backup and not in the tree. */
  deleted: ActivityFile[];
  backup: string;
}

interface Node {
  path: string;
  mtimeMs: number;
  size: number;
  mode: number;
}

function rel(path: string): string {
  const i = path.indexOf('/');
  return i < 0 ? '' : path.slice(i + 1);
}

function asNode(e: StructureEntry): Node | null {
  if (e.type !== 'file') return null;
  return { path: rel(e.path), mtimeMs: Number(e.mtimeNs / 1_000_000n), size: e.size ?? 0, mode: e.mode };
}

export async function against(dir: string, set: string, select: SelectionOptions | readonly string[]): Promise<Against> {
  const volumes = await locate(set);
  const v = volumes[0];
  if (!v || v.structure === null) throw new InputError(`${set} holds no backup with a structure record to compare with.`, set);
  const structurePath = v.structure;
  const result: Against = { source: async () => undefined, deleted: [], backup: v.backupId ?? '' };
  result.source = async (visit) => {
    result.deleted = [];
    const old = structureEntries({ path: structurePath, label: structurePath }, () => undefined)[Symbol.asyncIterator]();
    let pending: Node | null = null;
    let done = false;
    const nextOld = async (): Promise<Node | null> => {
      while (!done) {
        const r = await old.next();
        if (r.done) {
          done = true;
          return null;
        }
        const n = asNode(r.value);
        if (n) return n;
      }
      return null;
    };
    pending = await nextOld();
    const files: Node[] = [];
    // The scan calls back in order; compare in batches so the record is read alongside.
    const flush = async (): Promise<void> => {
      for (const cur of files) {
        while (pending && comparePreorder(pending.path, cur.path) < 0) {
          result.deleted.push({ path: pending.path, mtimeMs: pending.mtimeMs, size: pending.size });
          pending = await nextOld();
        }
        if (pending && pending.path === cur.path) {
          if (pending.size !== cur.size || pending.mtimeMs !== cur.mtimeMs) visit({ path: cur.path, mtimeMs: cur.mtimeMs, size: cur.size, change: 'modified' });
          pending = await nextOld();
        } else visit({ path: cur.path, mtimeMs: cur.mtimeMs, size: cur.size, change: 'new' });
      }
      files.length = 0;
    };
    await scanTree(
      dir,
      async (e) => {
        const n = asNode(e);
        if (!n) return;
        files.push(n);
        if (files.length >= 1024) await flush();
      },
      Array.isArray(select) ? { exclude: select as readonly string[] } : { select: select as SelectionOptions },
    );
    await flush();
    while (pending) {
      result.deleted.push({ path: pending.path, mtimeMs: pending.mtimeMs, size: pending.size });
      pending = await nextOld();
    }
  };
  return result;
}
