/** Records edited by a test as a forger (or a newer xtar) would write them: with a trailer that checks. */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeVolumeManifest, encodeVolumeManifest } from '../../src/format/manifest.js';

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

/**
 * A volume folder's volume.json made again as a forger (or a tool that rewrote the records) would:
 * `structureSha256` and `catalogSha256` taken from the trailers of the records now beside it, and its
 * own `sum` over the result — so the records there are this volume's by every check but their blobs'.
 */
export async function resealManifest(dir: string): Promise<void> {
  const trailerSha = async (name: string): Promise<string | undefined> => {
    const last = (await readFile(join(dir, name), 'utf8')).trimEnd().split('\n').pop() ?? '';
    return (JSON.parse(last) as { sha256?: string }).sha256;
  };
  const m = decodeVolumeManifest(await readFile(join(dir, 'volume.json'), 'utf8'));
  const { xtar: _x, version: _v, summed: _s, ...fields } = m;
  await writeFile(join(dir, 'volume.json'), encodeVolumeManifest({ ...fields, structureSha256: await trailerSha('structure.jsonl'), catalogSha256: await trailerSha('catalog.jsonl') }));
}
