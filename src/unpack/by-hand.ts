/**
 * Finishing a by-hand restore. (1) A platform's tools may write a name other than the recorded one (a
 * zip reader that turns `\` into `/`, NFD into NFC, `:` into `_`): `restoreNames` finds such a file
 * under the names those transformations give, checks its sha256 against the catalog, and renames it
 * back. (2) Backups over time (see docs/FORMAT.md, "Backups over time"): after the full backup and
 * each later one were untarred and unzipped into the same folder, files renamed since still sit under
 * their old names and files deleted since are still there. `expand-structure --prune` gives the
 * renamed ones their new names (from the catalog's `as`, checked against its sha256) and removes what
 * the structure record does not list.
 */
import { createHash } from 'node:crypto';
import { constants, lstatSync, readdirSync } from 'node:fs';
import { copyFile, lstat, open, rename, rm, rmdir } from 'node:fs/promises';
import { sep } from 'node:path';
import { comparePreorder } from '../format/names.js';
import { entryProblem } from '../errors.js';
import type { StructureEntry } from '../format/records.js';
import { scanTree } from '../scan/scan.js';
import type { ProblemKind } from './apply-structure.js';
import type { Destination } from '../dest/destination.js';
import { catalogLines, structureEntries, type RecordSource } from '../set/read-records.js';

type Report = (path: string, reason: string, kind: ProblemKind | 'damaged' | 'header') => void;

const CHUNK = 1024 * 1024;

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

/**
 * Whether something is at a path (lstat's answer), asked for every file of a catalog: by one listing
 * of each folder rather than a stat per file, since the catalog comes folder by folder (a
 * million-file expand-structure spent a thread-pool round trip and a Stats per file here). A name
 * the listing lacks is still asked of lstat: a file system that normalises names (APFS, HFS+) finds it
 * under another form, and a name that is not valid UTF-8 reads back from a listing as another string.
 * A catalog that leaves a folder and comes back to it is not listed again and again: once listings
 * would outnumber one in eight files, each path is asked of lstat alone.
 */
export class Presence {
  private dir = '';
  private names: ReadonlySet<string> = new Set();
  private listings = 0;
  private asked = 0;

  has(abs: string): boolean {
    this.asked++;
    const cut = abs.lastIndexOf(sep);
    const dir = abs.slice(0, cut);
    if (dir !== this.dir && this.listings * 8 <= this.asked) {
      this.dir = dir;
      this.listings++;
      try {
        this.names = new Set(readdirSync(dir));
      } catch {
        this.names = new Set();
      }
    }
    if (dir === this.dir && this.names.has(abs.slice(cut + 1)) && !abs.includes('\uFFFD')) return true;
    try {
      return lstatSync(abs, { throwIfNoEntry: false }) !== undefined;
    } catch {
      return false;
    }
  }

  /** What this walk cost: folders listed, paths asked. */
  get counts(): { listings: number; asked: number } {
    return { listings: this.listings, asked: this.asked };
  }
}

/** Characters Windows file systems cannot hold in a name; 7-Zip and others write `_` instead. */
const NOT_ON_WINDOWS = /[:*?"<>|\\]/g;

/**
 * The other names a by-hand restore may have given the file at record path `p`: a `\`
 * read as a folder separator (bsdtar's zip reader), NFC or NFD (macOS, bsdtar), characters Windows
 * cannot hold written as `_`, and their combinations. Never `p` itself.
 */
export function otherNames(p: string): string[] {
  const cut = p.lastIndexOf('/') + 1;
  const dir = p.slice(0, cut);
  const name = p.slice(cut);
  const out = new Set<string>();
  for (const d of [dir, dir.replace(/\\/g, '/'), dir.replace(NOT_ON_WINDOWS, '_')]) {
    for (const n of [name, name.replace(/\\/g, '/'), name.replace(NOT_ON_WINDOWS, '_')]) {
      for (const form of [d + n, (d + n).normalize('NFC'), (d + n).normalize('NFD')]) out.add(form);
    }
  }
  out.delete(p);
  return [...out].filter((c) => !c.split('/').some((x) => x === '' || x === '.' || x === '..'));
}

async function sha256Of(abs: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    for await (const c of fh.createReadStream({ autoClose: false })) h.update(c as Buffer);
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

async function isFile(abs: string): Promise<boolean> {
  return lstat(abs).then((s) => s.isFile(), () => false);
}

/**
 * Give each file missing under its recorded name that name back, when the folder holds it under a
 * name a platform's tools make of it (otherNames) with the catalog's sha256: renamed, or copied when
 * that other name is itself a file of the catalog. Folders left empty by such a rename and not in the
 * structure record are removed. A candidate whose bytes differ is named in a problem and left alone.
 */
export async function restoreNames(dest: Destination, catalog: RecordSource, structure: RecordSource, report: Report): Promise<number> {
  const missing: { path: string; sha256: string }[] = [];
  const cataloged = new Set<string>();
  const candidates = new Set<string>();
  // A catalog the drive cannot read to its end (or with a line that does not parse) is named once; then
  // which candidates are files of their own is not known, and each is copied, never taken away.
  let whole = true;
  const cut = (where: string, reason: string): void => {
    if (whole) report(where, reason, 'header');
    whole = false;
  };
  const presence = new Presence();
  for await (const c of catalogLines(catalog, cut)) {
    if ('skipped' in c) continue;
    try {
      if (presence.has(dest.pathOf(c.path.split('/')))) continue;
    } catch {
      continue; // an unsafe path: applyStructure names it
    }
    missing.push({ path: c.path, sha256: c.sha256 });
    for (const o of otherNames(c.path)) candidates.add(o);
  }
  if (missing.length === 0) return 0;
  // Which candidates are files of the catalog in their own right (copy, don't take them away).
  for await (const c of catalogLines(catalog, cut)) if (candidates.has(c.path)) cataloged.add(c.path);
  let fixed = 0;
  const emptied = new Set<string>();
  for (const m of missing) {
    const differing: string[] = [];
    for (const o of otherNames(m.path)) {
      let abs: string;
      try {
        abs = dest.pathOf(o.split('/'));
      } catch {
        continue;
      }
      if (!(await isFile(abs))) continue;
      try {
        if ((await sha256Of(abs)) !== m.sha256) {
          differing.push(o);
          continue;
        }
        const to = m.path.split('/');
        const toAbs = dest.filePath(to);
        if (cataloged.has(o) || !whole) await copyFile(abs, toAbs, constants.COPYFILE_EXCL);
        else {
          await rename(abs, toAbs);
          const parts = o.split('/');
          for (let i = parts.length - 1; i > 0; i--) {
            const d = parts.slice(0, i).join('/');
            if (!m.path.startsWith(`${d}/`)) emptied.add(d);
          }
        }
        fixed++;
        differing.length = 0;
        break;
      } catch (e) {
        const p = entryProblem(m.path, e, `rename ${o} back to it`);
        report(p.path, p.reason, p.kind);
      }
    }
    for (const o of differing) report(m.path, `${o} may be this file under a name this system gave it, but its sha256 differs from the catalog's`, 'missing');
  }
  if (emptied.size > 0) {
    const listed = new Set<string>();
    let listedWhole = true;
    for await (const e of structureEntries(structure, () => void (listedWhole = false))) if (emptied.has(e.path)) listed.add(e.path);
    for (const d of [...emptied].sort((a, b) => b.length - a.length)) {
      if (!listed.has(d) && listedWhole) await rmdir(dest.pathOf(d.split('/'))).catch(() => undefined);
    }
    dest.forget();
  }
  return fixed;
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
export async function pruneUnlisted(dest: Destination, root: string, entries: AsyncIterable<StructureEntry>, report: Report, readWhole: () => boolean = () => true): Promise<number> {
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
  // A record that stopped reading (a sector the drive failed) or skipped a line lists less than it
  // holds: what it does not list is not known to be gone, so nothing is removed.
  if (remove.length > 0 && !readWhole()) {
    report(root, `nothing was removed (${remove.length} path(s) not listed): the structure record did not read whole`, 'header');
    return 0;
  }
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
