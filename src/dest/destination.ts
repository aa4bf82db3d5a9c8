/**
 * The destination folder: the path guard (Destination), safe creation, writing verified bytes — the
 * unpack security boundary, also run by the extraction workers; owners, modes and times are in
 * file-meta.ts. Every path is built from validated single components under --dest; every directory
 * on the way is either made here or checked to be a real directory (never a symlink); files are
 * created with O_NOFOLLOW|O_EXCL. Nothing in an archive can make xtar write outside --dest.
 */
import { accessSync, closeSync, constants, ftruncateSync, lstatSync, mkdirSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { osErrorSentence, UnsafePathError, XtarError } from '../errors.js';
import { isSafeComponent } from '../format/names.js';

export const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Files recorded as sparse get holes for all-zero blocks of this size. */
export const HOLE_BLOCK = 4096;
const ZEROS = Buffer.alloc(HOLE_BLOCK);

export function isZero(b: Buffer): boolean {
  return b.equals(b.length === HOLE_BLOCK ? ZEROS : ZEROS.subarray(0, b.length));
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
    if (components.length === 0) mkdirSync(this.root, { recursive: true });
    else {
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
      if (st.isDirectory()) return;
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
   * making its folder and checking its name.
   */
  writeVerifiedFile(components: readonly string[], data: Buffer, holes: boolean): void {
    writeVerifiedAt(this.filePath(components), components.join('/'), data, holes);
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
  async createFile(components: readonly string[]): Promise<PendingFile> {
    const finalPath = this.filePath(components);
    // filePath made and checked the folder: the temporary file goes beside its final name.
    const dir = dirname(finalPath);
    const name = components[components.length - 1] as string;
    for (;;) {
      const tmp = join(dir, `.xtar-tmp-${randomBytes(6).toString('hex')}`);
      try {
        const fh = await open(tmp, CREATE_FLAGS, 0o600);
        return new PendingFile(fh, tmp, finalPath, name);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  }
}

/**
 * Write verified bytes to `abs` — a path Destination.filePath returned, its folders checked — with
 * O_EXCL|O_NOFOLLOW, after removing a file or symlink in the way (never a folder). `holes` leaves
 * all-zero blocks unwritten. Also run by the extraction workers (src/worker/extract-worker.ts) on
 * paths the main thread checked: it touches nothing but `abs` itself.
 */
export function writeVerifiedAt(abs: string, shown: string, data: Buffer, holes: boolean): void {
  let fd: number;
  try {
    fd = openSync(abs, CREATE_FLAGS, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if (lstatSync(abs).isDirectory()) throw new UnsafePathError(`Refused ${shown}: a folder of that name is in the way.`, shown);
    unlinkSync(abs);
    fd = openSync(abs, CREATE_FLAGS, 0o600);
  }
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
  } finally {
    closeSync(fd);
  }
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
