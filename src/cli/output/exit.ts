/**
 * Where failures become exit statuses and messages for the command line: the statuses themselves and
 * their meanings live in src/errors.ts (EXIT_STATUSES); this renders them for --help and turns an
 * error that ended a command into one sentence, never a stack trace for a user's mistake.
 */
import { inspect } from 'node:util';
import { EXIT_FATAL, EXIT_STATUSES, osErrorSentence, XtarError } from '../../errors.js';

export { statusFor } from '../../errors.js';

/** The "Exit status" block of --help, from EXIT_STATUSES; `meanings` replaces a status's meaning for one command. */
export function exitStatusHelp(meanings: Readonly<Record<number, string>> = {}): string {
  return `Exit status:\n${EXIT_STATUSES.map((e) => `  ${String(e.status).padEnd(4)} ${meanings[e.status] ?? e.meaning}`).join('\n')}`;
}

export const EXIT_STATUS_HELP = exitStatusHelp();

/** README's "Exit status" table, from EXIT_STATUSES (scripts/readme-exit-status.ts writes it; a test checks README holds it). */
export function exitStatusMarkdown(): string {
  return ['| status | meaning |', '|---|---|', ...EXIT_STATUSES.map((e) => `| ${e.status} | ${e.meaning} |`)].join('\n');
}

/** Message and status for an error that ended a command. */
export function describeFailure(e: unknown): { message: string; status: number } {
  if (e instanceof XtarError) return { message: e.message, status: e.exitCode };
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.message === 'string') {
    // An operating-system error we did not anticipate: still one sentence, with the path it names.
    const what = osErrorSentence(err, 'fatal') ?? err.message;
    return { message: `${what}${err.path ? `: ${err.path}` : ''}.`, status: EXIT_FATAL };
  }
  return { message: `internal error: ${e instanceof Error ? (e.stack ?? e.message) : inspect(e, { depth: 3, breakLength: Infinity })}`, status: EXIT_FATAL };
}
