/**
 * The one place where failures become exit statuses and messages (GNU tar's convention):
 * 0 all well; 1 finished, but something was skipped, damaged or refused; 2 fatal or usage error;
 * 130 interrupted. A user's mistake gets one sentence, never a stack trace.
 */
import { EXIT_FATAL, EXIT_OK, EXIT_SOME_SKIPPED, XtarError } from '../errors.js';

export const EXIT_STATUS_HELP = `Exit status:
  0    all well
  1    finished, but something was skipped, damaged or refused (each listed on stderr)
  2    fatal error or usage error
  130  interrupted`;

export function statusFor(problems: number): number {
  return problems > 0 ? EXIT_SOME_SKIPPED : EXIT_OK;
}

/** Message and status for an error that ended a command. */
export function describeFailure(e: unknown): { message: string; status: number } {
  if (e instanceof XtarError) return { message: e.message, status: e.exitCode };
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.message === 'string') {
    // An operating-system error we did not anticipate: still one sentence, with the path it names.
    const known: Record<string, string> = {
      ENOSPC: 'the disk is full',
      EACCES: 'permission denied',
      EROFS: 'the file system is read-only',
      EDQUOT: 'the disk quota is exceeded',
      EIO: 'an input/output error (failing disc or disk?)',
    };
    const what = known[err.code] ?? err.message;
    return { message: `${what}${err.path ? `: ${err.path}` : ''}.`, status: EXIT_FATAL };
  }
  return { message: `internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, status: EXIT_FATAL };
}
