/**
 * Every failure xtar reports is an XtarError: a one-sentence message, a stable `code`, and the exit
 * status the CLI maps it to (GNU tar's convention: 1 = finished but something was skipped, damaged or
 * refused; 2 = fatal). Nothing here does I/O.
 */

export const EXIT_OK = 0;
export const EXIT_SOME_SKIPPED = 1;
export const EXIT_FATAL = 2;
export const EXIT_INTERRUPTED = 130;

export class XtarError extends Error {
  readonly code: string;
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

/** Bytes that should be a tar header, a zip blob or a record are not what the format allows. */
export class FormatError extends XtarError {
  constructor(message: string, opts: { code?: string; path?: string; cause?: unknown } = {}) {
    super(message, { code: opts.code ?? 'EFORMAT', exitCode: EXIT_SOME_SKIPPED, ...(opts.path === undefined ? {} : { path: opts.path }), cause: opts.cause });
  }
}

/** A blob's bytes do not match its checksum (zip CRC-32 or the catalog's sha256). */
export class DamagedBlobError extends XtarError {
  constructor(message: string, path?: string) {
    super(message, { code: 'EDAMAGED', exitCode: EXIT_SOME_SKIPPED, ...(path === undefined ? {} : { path }) });
  }
}

/** An archive entry would write outside --dest, through a symlink, or otherwise unsafely. */
export class UnsafePathError extends XtarError {
  constructor(message: string, path?: string) {
    super(message, { code: 'EUNSAFE', exitCode: EXIT_SOME_SKIPPED, ...(path === undefined ? {} : { path }) });
  }
}

/** The input named on the command line is not a set, a volume or an .xtar file, or cannot be read. */
export class InputError extends XtarError {
  constructor(message: string, path?: string, cause?: unknown) {
    super(message, { code: 'EINPUT', ...(path === undefined ? {} : { path }), cause });
  }
}

/** The run was interrupted by a signal (SIGINT/SIGTERM). */
export class InterruptedError extends XtarError {
  constructor(signal: string) {
    super(`Interrupted by ${signal}; the volumes being written were removed.`, { code: 'EINTR', exitCode: EXIT_INTERRUPTED });
  }
}

/** Operating-system errors that stop a whole run (nothing further could succeed), as opposed to one entry's failure. */
export function isFatalIoError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EIO' || code === 'EROFS' || code === 'EDQUOT' || code === 'EMFILE' || code === 'ENFILE';
}

/** One sentence for an error that concerns one entry. */
export function entryErrorMessage(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const known: Record<string, string> = {
    ENAMETOOLONG: 'the path is too long for this file system',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOTDIR: 'a file is in the way of a folder',
    EEXIST: 'something is in the way',
  };
  if (code !== undefined && known[code] !== undefined) return known[code] as string;
  return e instanceof Error ? e.message : String(e);
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
