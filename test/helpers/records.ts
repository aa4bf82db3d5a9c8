/** Records edited by a test as a forger (or a newer xtar) would write them: with a trailer that checks. */
import { createHash } from 'node:crypto';

/**
 * The text of a record whose lines (header and entries, no trailer) are `lines`: each with its
 * newline, then the trailer counting the entries with the digest of those bytes (format revision 2.1).
 */
export function sealedRecord(lines: readonly string[]): string {
  const body = lines.map((l) => `${l}\n`).join('');
  return `${body}${JSON.stringify({ end: true, entries: lines.length - 1, sha256: createHash('sha256').update(body).digest('hex') })}\n`;
}

/** The lines of a record's text before its trailer (the header and entries). */
export function recordLines(text: string): string[] {
  const lines = text.trimEnd().split('\n');
  return lines[lines.length - 1]?.startsWith('{"end":') ? lines.slice(0, -1) : lines;
}
