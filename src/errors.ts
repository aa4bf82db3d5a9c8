/**
 * How xtar's runs end, in one place: the exit statuses (GNU tar's convention), the errors that end a
 * run (every XtarError reaching the top is fatal, exit 2, except an interruption, 130), the problem
 * records that make a finished run exit 1, and the one table that turns an operating-system error
 * code into a sentence. Nothing here does I/O.
 */

export const EXIT_OK = 0;
export const EXIT_SOME_SKIPPED = 1;
export const EXIT_FATAL = 2;
export const EXIT_INTERRUPTED = 130;

/** Every exit status, with what it means; `--help` and README's "Exit status" are made from this list. */
export const EXIT_STATUSES: readonly { status: number; meaning: string }[] = [
  { status: EXIT_OK, meaning: 'all well' },
  { status: EXIT_SOME_SKIPPED, meaning: 'finished, but something was skipped, damaged or refused (each listed on stderr)' },
  { status: EXIT_FATAL, meaning: 'fatal error or usage error' },
  { status: EXIT_INTERRUPTED, meaning: 'interrupted' },
];

/**
 * What went wrong with one file, folder or record in a run that went on: a problem record, never an
 * exception that reaches the top. damaged: a file's own bytes; header: a tar header or a record
 * around files (they may still be restored); refused: unsafe or not of the format, not written;
 * failed: could not be written; missing: not in what was given (a volume not inserted, a part).
 */
export type ProblemKind = 'damaged' | 'header' | 'refused' | 'failed' | 'missing';

export interface Problem {
  path: string;
  reason: string;
  kind: ProblemKind;
}

/** A finished run's exit status: 1 when any problem counts, else 0. */
export function statusFor(problems: number): number {
  return problems > 0 ? EXIT_SOME_SKIPPED : EXIT_OK;
}

export class XtarError extends Error {
  readonly code: string;
  /** 2 (fatal) for every error that ends a run, 130 for an interruption. */
  readonly exitCode: number;
  readonly path: string | undefined;

  constructor(message: string, opts: { code: string; exitCode?: number; path?: string; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.exitCode = opts.exitCode ?? EXIT_FATAL;
    this.path = opts.path;
  }
}

/** The command line was wrong: unknown flag, missing argument, bad value. */
export class UsageError extends XtarError {
  constructor(message: string) {
    super(message, { code: 'EUSAGE' });
  }
}

/**
 * Bytes that should be a tar header, a zip blob or a record are not what the format allows (or are
 * of a newer format version). Where one entry's bytes are at fault the reader turns it into a
 * problem record; one that reaches the top ends the run.
 */
export class FormatError extends XtarError {
  constructor(message: string, opts: { code?: string; path?: string; cause?: unknown } = {}) {
    super(message, { code: opts.code ?? 'EFORMAT', ...(opts.path === undefined ? {} : { path: opts.path }), cause: opts.cause });
  }
}

/** A blob's bytes do not match its checksum (zip CRC-32 or the catalog's sha256): recorded as a `damaged` problem. */
export class DamagedBlobError extends XtarError {
  constructor(message: string, path?: string) {
    super(message, { code: 'EDAMAGED', ...(path === undefined ? {} : { path }) });
  }
}

/** An archive entry would write outside --dest, through a symlink, or otherwise unsafely: recorded as a `refused` problem. */
export class UnsafePathError extends XtarError {
  constructor(message: string, path?: string) {
    super(message, { code: 'EUNSAFE', ...(path === undefined ? {} : { path }) });
  }
}

/** The input named on the command line is not a set, a volume or an .xtar file, or cannot be read. */
export class InputError extends XtarError {
  constructor(message: string, path?: string, cause?: unknown) {
    super(message, { code: 'EINPUT', ...(path === undefined ? {} : { path }), cause });
  }
}

/** The set's index (SET/xtar-index.sqlite) cannot be opened, is of a newer schema, or disagrees with itself. */
export class IndexError extends XtarError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'EINDEX', cause });
  }
}

/** Another xtar holds the set's lock. */
export class SetBusyError extends XtarError {
  constructor(message: string, path: string) {
    super(message, { code: 'EBUSY', path });
  }
}

/** The run was interrupted by a signal (SIGINT/SIGTERM); `after`: what was cleaned up (pack's words by default). */
export class InterruptedError extends XtarError {
  constructor(signal: string, after = 'the volumes being written were removed') {
    super(`Interrupted by ${signal}; ${after}.`, { code: 'EINTR', exitCode: EXIT_INTERRUPTED });
  }
}

/** Operating-system errors that stop a whole run (nothing further could succeed), as opposed to one entry's failure. */
export function isFatalIoError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EIO' || code === 'EROFS' || code === 'EDQUOT' || code === 'EMFILE' || code === 'ENFILE';
}

/**
 * Where an operating-system error happened, which decides its sentence: `scan` walking the source,
 * `read` opening a file's bytes to pack them, `write` creating an entry under --dest, `fatal` an
 * error that ended the run.
 */
export type OsErrorContext = 'scan' | 'read' | 'write' | 'fatal';

/** The one table of operating-system error codes and their sentences, by context. */
const OS_ERRORS: Readonly<Record<string, Partial<Record<OsErrorContext, string>>>> = {
  EACCES: { scan: 'permission denied', read: 'permission denied', write: 'permission denied', fatal: 'permission denied' },
  EPERM: { scan: 'operation not permitted', read: 'permission denied', write: 'operation not permitted' },
  ENOENT: { scan: 'removed before it could be read', read: 'removed before it could be read' },
  ENOTDIR: { scan: 'changed while being read', write: 'a file is in the way of a folder' },
  ELOOP: { scan: 'too many levels of symbolic links', read: 'became a symlink before it could be read' },
  ENAMETOOLONG: { write: 'the path is too long for this file system' },
  EEXIST: { write: 'something is in the way' },
  ENOSPC: { fatal: 'the disk is full' },
  EROFS: { fatal: 'the file system is read-only' },
  EDQUOT: { fatal: 'the disk quota is exceeded' },
  EIO: { fatal: 'an input/output error (failing disc or disk?)' },
};

/** The sentence for an operating-system error met in `context`, or null where the table has none. */
export function osErrorSentence(e: unknown, context: OsErrorContext): string | null {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return (typeof code === 'string' ? OS_ERRORS[code]?.[context] : undefined) ?? null;
}

/** One sentence for an error that concerns one entry: the table's, or the error's own message. */
export function entryErrorMessage(e: unknown, context: OsErrorContext = 'write'): string {
  return osErrorSentence(e, context) ?? (e instanceof Error ? e.message : String(e));
}

/**
 * One entry's error as the problem it is listed as (node-tar's warnMethod: every recoverable problem
 * through one function): an XtarError is refused, in its own sentence; a fatal I/O error is thrown on,
 * as it ends the run; anything else `failed`: "cannot DOING: sentence".
 */
export function entryProblem(path: string, err: unknown, doing: string): Problem & { kind: 'refused' | 'failed' } {
  if (err instanceof XtarError) return { path, reason: err.message, kind: 'refused' };
  if (isFatalIoError(err)) throw err;
  return { path, reason: `cannot ${doing}: ${entryErrorMessage(err)}`, kind: 'failed' };
}

/**
 * An error as it crosses from a worker thread to the main thread, with what the main thread needs to
 * handle it as if it had been thrown there: an XtarError's class, code, exit status and path, or an
 * operating-system error's code (isFatalIoError, entryErrorMessage) and path.
 */
export interface CarriedError {
  message: string;
  code: string | undefined;
  path: string | undefined;
  /** The exit status of an XtarError; undefined for any other error. */
  exitCode: number | undefined;
}

export function carryError(e: unknown): CarriedError {
  if (e instanceof XtarError) return { message: e.message, code: e.code, path: e.path, exitCode: e.exitCode };
  const err = e as NodeJS.ErrnoException | undefined;
  const code = typeof err?.code === 'string' ? err.code : undefined;
  const path = typeof err?.path === 'string' ? err.path : undefined;
  return { message: e instanceof Error ? e.message : String(e), code, path, exitCode: undefined };
}

export function restoreError(c: CarriedError): Error {
  if (c.exitCode === undefined) return Object.assign(new Error(c.message), c.code === undefined ? {} : { code: c.code }, c.path === undefined ? {} : { path: c.path });
  if (c.code === 'EDAMAGED') return new DamagedBlobError(c.message, c.path);
  if (c.code === 'EUNSAFE') return new UnsafePathError(c.message, c.path);
  return new XtarError(c.message, { code: c.code ?? 'EINTERNAL', exitCode: c.exitCode, ...(c.path === undefined ? {} : { path: c.path }) });
}
