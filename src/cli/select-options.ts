/**
 * The selection flags shared by `pack` (and its dry run) and `activity`: their yargs definitions and
 * their parse into the SelectionOptions the scan takes (src/scan/select.ts). Nothing is matched here.
 */
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import type { SelectionOptions } from '../scan/select.js';

export const EXCLUDE_HELP =
  "leave out paths matching a gitignore line: a pattern without '/' (other than a trailing one) matches a name at any depth (*.log), one with '/' is anchored at the source (build/cache, /TODO), a trailing '/' matches folders only, ** spans folders, !PATTERN re-includes; a leading ./ is read as /. Each folder's .xtarignore (the same lines, anchored at its folder) is read too: the command line wins over it, a deeper file over a shallower one. pack -n names the rule that left each path out";

/** --exclude, --exclude-regex, --exclude-from, --exclude-flag, --exclude-caches, --max-age, --one-file-system. */
export function selectionFlags<T>(y: Argv<T>) {
  return y
    .option('exclude', { type: 'string', array: true, default: [] as string[], describe: EXCLUDE_HELP })
    .option('exclude-regex', { type: 'string', array: true, default: [] as string[], describe: "leave out paths whose path below the source ('/'-separated, no leading or trailing '/') matches the JavaScript regular expression RE" })
    .option('exclude-from', { type: 'string', array: true, default: [] as string[], describe: 'read gitignore lines from FILE, as if each were an --exclude given before the others' })
    .option('exclude-flag', { type: 'string', default: '.bkexclude', describe: "leave out, with everything below it, any folder holding an entry of this name ('' for none)" })
    .option('exclude-caches', { type: 'boolean', default: false, describe: 'leave out any folder holding a CACHEDIR.TAG that begins with the standard signature' })
    .option('max-age', { type: 'string', describe: 'leave out files modified less than DURATION ago, still being written (10m, 2h, 1d)' })
    .option('one-file-system', { type: 'boolean', default: false, describe: "stay on the source's file system: leave out mount points of others and what is below them" });
}

export interface SelectionArgs {
  exclude: readonly (string | number)[];
  excludeRegex: readonly (string | number)[];
  excludeFrom: readonly (string | number)[];
  excludeFlag: string;
  excludeCaches: boolean;
  maxAge?: string | undefined;
  oneFileSystem: boolean;
}

/** The flags as SelectionOptions; `parseDuration` is activity's (1h, 90m, 2d). */
export function selectionOf(a: SelectionArgs, parseDuration: (text: string) => number | null): SelectionOptions {
  const o: SelectionOptions = {};
  if (a.exclude.length > 0) o.exclude = a.exclude.map(String);
  if (a.excludeRegex.length > 0) o.excludeRegex = a.excludeRegex.map(String);
  if (a.excludeFrom.length > 0) o.excludeFrom = a.excludeFrom.map(String);
  o.excludeFlag = a.excludeFlag === '' ? null : a.excludeFlag;
  if (a.excludeFlag.includes('/')) throw new UsageError(`--exclude-flag ${JSON.stringify(a.excludeFlag)} must be a name, without '/'.`);
  if (a.excludeCaches) o.excludeCaches = true;
  if (a.maxAge !== undefined) {
    const ms = parseDuration(a.maxAge);
    if (ms === null) throw new UsageError(`--max-age ${JSON.stringify(a.maxAge)} is not a duration such as 10m, 2h or 1d.`);
    o.maxAgeMs = ms;
  }
  if (a.oneFileSystem) o.oneFileSystem = true;
  return o;
}
