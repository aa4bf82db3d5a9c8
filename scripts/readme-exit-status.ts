/**
 * Writes README's "Exit status" table from EXIT_STATUSES (src/errors.ts), between its markers, so the
 * list in README and in `xtar --help` come from one place. test/cli/exit.test.ts fails when they differ.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { exitStatusMarkdown } from '../src/cli/output/exit.js';

export const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const BEGIN = /<!-- exit-status:begin[^>]*-->\n/;
const END = '<!-- exit-status:end -->';

/** README's text with the table between the markers made afresh. */
export function withExitStatusTable(readme: string): string {
  const begin = BEGIN.exec(readme);
  const end = readme.indexOf(END);
  if (begin === null || end < begin.index) throw new Error('README.md has no exit-status markers');
  const from = begin.index + begin[0].length;
  return `${readme.slice(0, from)}${exitStatusMarkdown()}\n${readme.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(README, withExitStatusTable(await readFile(README, 'utf8')));
}
