/**
 * The destination folder: the path guard (Destination), safe creation, writing verified bytes — the
 * unpack security boundary, also run by the extraction workers; owners, modes and times are in
 * file-meta.ts. Every path is built from validated single components under --dest; every directory
 * on the way is either made here or checked to be a real directory (never a symlink); files are
 * created with O_NOFOLLOW|O_EXCL. Nothing in an archive can make xtar write outside --dest.
 */
import { accessSync, closeSync, constants, ftruncateSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { InterruptedError, osErrorSentence, UnsafePathError, XtarError, type Problem } from '../errors.js';
import { isSafeComponent } from '../format/names.js';
import { setFileMetaFd, type FileMeta } from './file-meta.js';

export const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Files recorded as sparse get holes for all-zero blocks of this size. */
export const HOLE_BLOCK = 4096;
const ZEROS = Buffer.alloc(HOLE_BLOCK);

export function isZero(b: Buffer): boolean {
  return b.equals(b.length === HOLE_BLOCK ? ZEROS : ZEROS.subarray(0, b.length));
}

/**
 * Every file is written under a temporary name beside its real one, `.xtar-tmp-TAG-THREAD-N` (TAG one
 * run's, THREAD the writing thread's, N its count), and renamed into place only when whole and checked.
 */
export const TMP_PREFIX = '.xtar-tmp-';

/** What an interrupted unpack says it left (InterruptedError's second half). */
export const UNPACK_STOPPED = 'the files restored so far are whole, the rest were not written, and no temporary file was left';

/** What becomes of a file already at a restored file's path (GNU tar's options of the same names). */
export type ExistingPolicy = 'overwrite' | 'keep-old' | 'keep-newer';

/** A file kept in place by the policy: --keep-old-files (listed as refused) or --keep-newer-files (a note). */
export class KeptFileError extends XtarError {
  constructor(shown: string, old: boolean) {
    super(
      old ? 'a file is already there: kept as it is (--keep-old-files)' : "the file there is as new as the archive's copy or newer: kept (--keep-newer-files)",
      { code: old ? KEPT_OLD : KEPT_NEWER, path: shown },
    );
  }
}
export const KEPT_OLD = 'EKEEPOLD';
export const KEPT_NEWER = 'EKEEPNEWER';

/**
 * The destination could not take more (full, read-only, out of quota, failing): the run stops. Its
 * message names the destination and the files not written; `problems` lists them (and all else found).
 */
export class DestinationError extends XtarError {
  constructor(
    root: string,
    cause: unknown,
    notWritten: number,
    readonly problems: Problem[],
  ) {
    const why = osErrorSentence(cause, 'fatal') ?? (cause instanceof Error ? cause.message : String(cause));
    const cost = notWritten === 0 ? 'The restore stopped there' : `${notWritten} file(s) could not be written (listed above) and the restore stopped there`;
    super(`Cannot write to the destination ${root}: ${why}. ${cost}; no file was left partly written under its name.`, { code: 'EDEST', cause });
  }
}

/**
 * The root is made on first use; when it, or a folder on the way, cannot be made at all (a read-only
 * mount, no permission, a file in the way), the run ends here in one sentence rather than with the
 * same error for every file. Looks at the nearest folder that exists, and writes nothing.
 */
function checkRootCanBeMade(root: string): void {
  let at = root;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (e) {
      const parent = dirname(at);
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && parent !== at) {
        at = parent;
        continue;
      }
      throw cannotMake(root, at, e);
    }
    if (!isDir) throw cannotMake(root, at, Object.assign(new Error('not a folder'), { code: 'ENOTDIR' }));
    if (at === root) return; // it exists: what is written into it is checked entry by entry
    try {
      accessSync(at, constants.W_OK | constants.X_OK);
      return;
    } catch (e) {
      throw cannotMake(root, at, e);
    }
  }
}

function cannotMake(root: string, at: string, e: unknown): XtarError {
  const why = osErrorSentence(e, 'fatal') ?? osErrorSentence(e, 'write') ?? (e instanceof Error ? e.message : String(e));
  return new XtarError(`Cannot create the destination ${root}: ${why}${at === root ? '' : ` (${at})`}.`, { code: 'EDEST', path: root, cause: e });
}

export class Destination {
  readonly root: string;
  /** What to do with a file already at a restored file's path. */
  existing: ExistingPolicy = 'overwrite';
  /** Stops the run (between files) once aborted: its reason is thrown. */
  signal: AbortSignal | undefined = undefined;
  /** Files kept in place by the policy, by record path: their metadata is left as it is too. */
  readonly kept = new Set<string>();
  /** Files that could not be written because the destination failed (full, read-only, ...). */
  notWritten = 0;
  /** This run's part of temporary names (`.xtar-tmp-TAG-`): a folder's other temporaries are a killed run's, removed. */
  readonly tmpTag = randomBytes(4).toString('hex');
  /**
   * Directories known to be real directories under root (this run made or checked them), by their
   * components joined with NUL — a byte no safe name holds, so a key stands for exactly one list of
   * checked components. Bounded: cleared when large.
   */
  private readonly safeDirs = new Map<string, string>();

  /** Ends the run at once (XtarError, exit 2) when the root cannot be made at all. */
  constructor(root: string) {
    this.root = resolve(root);
    checkRootCanBeMade(this.root);
  }

  /** The absolute path for record-path components, after checking each is a safe single name. */
  pathOf(components: readonly string[]): string {
    for (const c of components) checkComponent(c, components);
    return join(this.root, ...components);
  }

  /**
   * Make sure the directory at `components` exists as a real directory (creating missing ones) and
   * return its path. Synchronous: depth first, it is one lstat or mkdir per new folder. A folder
   * checked before costs one lookup; a new one has all its names checked before anything is made.
   */
  ensureDir(components: readonly string[]): string {
    const known = this.safeDirs.get(components.join('\0'));
    if (known !== undefined) return known;
    for (const c of components) checkComponent(c, components);
    return this.makeDir(components);
  }

  /** ensureDir for components already checked. */
  private makeDir(components: readonly string[]): string {
    const key = components.join('\0');
    const known = this.safeDirs.get(key);
    if (known !== undefined) return known;
    let abs = this.root;
    if (components.length === 0) {
      if (makeFolders(this.root) === undefined) this.sweep(abs);
    } else {
      abs = join(this.makeDir(components.slice(0, -1)), components[components.length - 1] as string);
      this.realDir(abs, components.join('/'));
    }
    if (this.safeDirs.size > 100_000) this.safeDirs.clear();
    this.safeDirs.set(key, abs);
    return abs;
  }

  /** The path of the file at `components`, after making its folder (as ensureDir) and checking its name. */
  filePath(components: readonly string[]): string {
    const name = components[components.length - 1];
    if (name === undefined) throw new UnsafePathError('Refused an empty path.', '');
    const dir = this.ensureDir(components.slice(0, -1));
    checkComponent(name, components);
    return join(dir, name);
  }

  private realDir(abs: string, shown: string): void {
    try {
      const st = lstatSync(abs);
      if (st.isDirectory()) {
        this.sweep(abs);
        return;
      }
      if (st.isSymbolicLink()) throw new UnsafePathError(`Refused ${shown}: it would be written through the symlink ${abs}.`, shown);
      throw new UnsafePathError(`Refused ${shown}: ${abs} exists and is not a folder.`, shown);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    try {
      mkdirSync(abs, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      this.realDir(abs, shown);
    }
  }

  /**
   * Write a file whose bytes are already verified, straight to its name (see writeVerifiedAt), after
   * making its folder and checking its name; with `meta`, its owner, mode and times too.
   */
  writeVerifiedFile(components: readonly string[], data: Buffer, holes: boolean, keep: number, meta: FileMeta | null = null): boolean {
    return writeVerifiedAt(this.filePath(components), components.join('/'), data, holes, this.tmpTag, keep, meta);
  }

  /**
   * The `keep` number for a file the archive dates `mtimeSec` (seconds), as writeVerifiedAt takes it:
   * Infinity (overwrite: nothing is looked at), -Infinity (keep any file there), or the time itself.
   */
  keepIf(mtimeSec: number): number {
    return this.existing === 'overwrite' ? Infinity : this.existing === 'keep-old' ? -Infinity : mtimeSec;
  }

  /** Throw the reason the run was stopped, if it was. */
  stopIfInterrupted(): void {
    if (this.signal?.aborted) throw this.signal.reason instanceof InterruptedError ? this.signal.reason : new InterruptedError('an abort signal', UNPACK_STOPPED);
  }

  /**
   * Remove what a killed run left in a folder that was there before this run: files named
   * `.xtar-tmp-*` that are not this run's. Never follows anything; errors leave them.
   */
  private sweep(abs: string): void {
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch {
      return;
    }
    const own = `${TMP_PREFIX}${this.tmpTag}-`;
    for (const n of names) {
      if (!n.startsWith(TMP_PREFIX) || n.startsWith(own)) continue;
      const p = join(abs, n);
      try {
        if (lstatSync(p).isFile()) unlinkSync(p);
      } catch {
        // Gone already, or not ours to remove.
      }
    }
  }

  /** Whether the folder at `components` is known (made or checked by this run): ensureDir would touch nothing. */
  knowsDir(components: readonly string[]): boolean {
    return this.safeDirs.has(components.join('\0'));
  }

  /** Forget what was checked (after something else may have changed the tree). */
  forget(): void {
    this.safeDirs.clear();
  }

  /**
   * Create a new file for `components` under a temporary name in its (checked) directory. Call
   * `commit` to move it to its real name — replacing a file or symlink there, never a folder — or
   * `discard` to remove it.
   */
  async createFile(components: readonly string[], keep = Infinity): Promise<PendingFile> {
    const finalPath = this.filePath(components);
    if (keep !== Infinity) checkExisting(finalPath, components.join('/'), keep);
    // filePath made and checked the folder: the temporary file goes beside its final name.
    const tmp = tmpPathFor(finalPath, this.tmpTag);
    const fh = await open(tmp, CREATE_FLAGS, 0o600);
    return new PendingFile(fh, tmp, finalPath, components[components.length - 1] as string);
  }
}

/** Temporary files made by this thread so far: each gets the next number. */
let tmpCount = 0;

/** A new temporary name beside `abs` (see TMP_PREFIX). */
function tmpPathFor(abs: string, tag: string): string {
  return `${abs.slice(0, abs.lastIndexOf('/') + 1)}${TMP_PREFIX}${tag}-${threadId}-${tmpCount++}`;
}

/** Throw KeptFileError when a file at `abs` is to be kept (see Destination.keepIf); a folder there is refused later, by the rename. */
function checkExisting(abs: string, shown: string, keep: number): void {
  let st;
  try {
    st = lstatSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isDirectory() && st.mtimeMs / 1000 >= keep) throw new KeptFileError(shown, keep === -Infinity);
}

function removeQuietly(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // Already gone.
  }
}

/**
 * Write verified bytes to `abs` — a path Destination.filePath returned, its folders checked — under a
 * temporary name beside it (O_EXCL|O_NOFOLLOW), renamed into place once whole: rename() replaces a
 * file or symlink there itself, never a folder (refused), and never follows a symlink. A failed write
 * removes its temporary file, and what stood at `abs` stays. `holes` leaves all-zero blocks unwritten;
 * `keep` (Destination.keepIf) may keep a file already there; `meta` (the structure record's owner,
 * mode and times) is set by descriptor once the bytes are in (returned: whether it was). Also run by the extraction workers
 * (src/worker/extract-worker.ts) on paths the main thread checked: it touches nothing but `abs` and
 * its temporary name.
 */
export function writeVerifiedAt(abs: string, shown: string, data: Buffer, holes: boolean, tag: string, keep: number, meta: FileMeta | null = null): boolean {
  if (keep !== Infinity) checkExisting(abs, shown, keep);
  const tmp = tmpPathFor(abs, tag);
  const fd = openSync(tmp, CREATE_FLAGS, 0o600);
  try {
    if (!holes) {
      for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, done);
    } else {
      for (let at = 0; at < data.length; at += HOLE_BLOCK) {
        const piece = data.subarray(at, Math.min(at + HOLE_BLOCK, data.length));
        if (isZero(piece)) continue;
        for (let done = 0; done < piece.length; ) done += writeSync(fd, piece, done, piece.length - done, at + done);
      }
      ftruncateSync(fd, data.length);
    }
  } catch (e) {
    try {
      closeSync(fd);
    } finally {
      removeQuietly(tmp);
    }
    throw e;
  }
  // The metadata is the file's, not its bytes': when it cannot be set here (a file system without
  // owners or modes), the file is still written, and the structure's pass sets it by path (and lists why not).
  let metaSet = false;
  if (meta !== null) {
    try {
      setFileMetaFd(fd, meta);
      metaSet = true;
    } catch {
      metaSet = false;
    }
  }
  try {
    closeSync(fd);
  } catch (e) {
    removeQuietly(tmp);
    throw e;
  }
  try {
    renameSync(tmp, abs);
  } catch (e) {
    removeQuietly(tmp);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') throw new UnsafePathError(`Refused ${shown}: a folder of that name is in the way.`, shown);
    throw e;
  }
  return metaSet;
}

function checkComponent(c: string, components: readonly string[]): void {
  if (!isSafeComponent(c)) throw new UnsafePathError(`Refused ${JSON.stringify(components.join('/'))}: ${JSON.stringify(c)} is not a safe name.`, components.join('/'));
}

export class PendingFile {
  constructor(
    readonly fh: FileHandle,
    readonly tmpPath: string,
    readonly finalPath: string,
    readonly name: string,
  ) {}

  async commit(): Promise<void> {
    await this.fh.close();
    try {
      const st = await lstat(this.finalPath);
      if (st.isDirectory()) {
        await unlink(this.tmpPath);
        throw new UnsafePathError(`Refused ${this.finalPath}: a folder of that name is in the way.`, this.finalPath);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    // rename() replaces a file or a symlink itself; it never follows the symlink.
    await rename(this.tmpPath, this.finalPath);
  }

  /** Give the file another name in its folder (a damaged file kept as NAME.damaged). */
  async commitAs(name: string): Promise<void> {
    await this.fh.close();
    const target = join(this.finalPath, '..', name);
    await rename(this.tmpPath, target);
  }

  async discard(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await unlink(this.tmpPath).catch(() => undefined);
  }
}

/**
 * `mkdir -p` of the destination's own folder: the first folder it made, or undefined when `dir` was
 * there. Not node's recursive mkdir, which loops for ever where mkdir answers ENOENT under a parent
 * that exists (`--dest /proc/x`); here a second ENOENT is the answer, thrown.
 */
function makeFolders(dir: string): string | undefined {
  try {
    mkdirSync(dir);
    return dir;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && statSync(dir).isDirectory()) return undefined;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw e;
    const first = makeFolders(parent);
    mkdirSync(dir);
    return first ?? dir;
  }
}
