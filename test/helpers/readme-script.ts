/** The restore script a volume's README.txt carries (src/pack/readme.ts), as the by-hand tests run it. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SCRIPT_BEGIN, SCRIPT_END } from '../../src/pack/readme.js';

export async function scriptFromReadme(volume: string): Promise<string> {
  const text = await readFile(join(volume, 'README.txt'), 'utf8');
  const start = text.indexOf(SCRIPT_BEGIN);
  const end = text.indexOf(SCRIPT_END);
  assert.ok(start >= 0 && end > start, 'README.txt holds the restore script');
  return text.slice(start, end + SCRIPT_END.length) + '\n';
}
