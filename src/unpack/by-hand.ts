/**
 * Finishing a by-hand restore of backups over time (see docs/FORMAT.md, "Backups over time"): after
 * the full backup and each later one were untarred and unzipped into the same folder, files renamed
 * since still sit under their old names and files deleted since are still there. `expand-structure
 * --prune` gives the renamed ones their new names (from the catalog's `as`, checked against its
 * sha256) and removes what the structure record does not list.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rm } from 'node:fs/promises';
import { comparePreorder } from '../format/names.js';
import { entryProblem } from '../errors.js';
import type { StructureEntry } from '../format/records.js';
import { scanTree } from '../scan/scan.js';
import type { ProblemKind } from './apply-structure.js';
import type { Destination } from '../dest/destination.js';
import { catalogLines, type RecordSource } from '../set/read-records.js';

type Report = (path: string, reason: string, kind: ProblemKind | 'damaged') => void;

const CHUNK = 1024 * 1024;

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

/** Copy each file an earlier backup stored under another path (`as`) to its path, when missing there. */
export async function placeRenamed(dest: Destination, catalog: RecordSource, report: Report): Promise<number> {
  let placed = 0;
  for await (const c of catalogLines(catalog, () => undefined)) {
    if ('skipped' in c || c.as === undefined) continue;
    try {
      const to = c.path.split('/');
      if (await exists(dest.pathOf(to))) continue;
      const from = c.as.split('/');
      dest.ensureDir(from.slice(0, -1));
      const fromAbs = dest.pathOf(from);
      let fh;
      try {
        fh = await open(fromAbs, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch {
        report(c.path, `its bytes were stored as ${c.as}, which is not in the folder`, 'missing');
        continue;
      }
      const out = await dest.createFile(to);
      try {
        const hash = createHash('sha256');
        const buf = Buffer.allocUnsafe(CHUNK);
        let pos = 0;
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
          if (bytesRead === 0) break;
          hash.update(buf.subarray(0, bytesRead));
          await out.fh.write(buf, 0, bytesRead, pos);
          pos += bytesRead;
        }
        if (hash.digest('hex') !== c.sha256) {
          await out.discard();
          report(c.path, `${c.as} does not hold the bytes the catalog names for it (sha256 differs)`, 'damaged');
          continue;
        }
        await out.commit();
        placed++;
      } catch (e) {
        await out.discard();
        throw e;
      } finally {
        await fh.close();
      }
    } catch (e) {
      const p = entryProblem(c.path, e, 'place the renamed file');
      report(p.path, p.reason, p.kind);
    }
  }
  return placed;
}

/**
 * Remove what is under DEST/ROOT and not in the structure record. The folder and the record are read
 * side by side in the same depth-first order; only the paths to remove are kept.
 */
export async function pruneUnlisted(dest: Destination, root: string, entries: AsyncIterable<StructureEntry>, report: Report): Promise<number> {
  const top = dest.pathOf([root]);
  if (!(await exists(top))) return 0;
  const it = entries[Symbol.asyncIterator]();
  let next = await it.next();
  const remove: string[] = [];
  let inRemoved: string | null = null;
  await scanTree(top, async (e) => {
    if (inRemoved !== null && e.path.startsWith(`${inRemoved}/`)) return;
    inRemoved = null;
    while (!next.done && comparePreorder(next.value.path, e.path) < 0) next = await it.next();
    if (!next.done && next.value.path === e.path) return;
    remove.push(e.path);
    if (e.type === 'dir') inRemoved = e.path;
  });
  let removed = 0;
  for (const p of remove) {
    try {
      await rm(dest.pathOf(p.split('/')), { recursive: true, force: true });
      removed++;
    } catch (e) {
      const problem = entryProblem(p, e, 'remove it');
      report(problem.path, problem.reason, problem.kind);
    }
  }
  dest.forget();
  return removed;
}
