/**
 * Opening the set's index so that a damaged one never decides anything: the index is a cache of the
 * volumes, so an index that is empty while the set holds volumes, that SQLite cannot open, or that
 * fails SQLite's own check (`PRAGMA quick_check`) is moved aside (kept for a post-mortem, never
 * deleted) and made again from the volumes, said in one line. An index that cannot be written (a
 * read-only file or folder) is not damage: the run stops with a sentence naming the file and the
 * command that makes it again. One made by a newer xtar is refused with its own sentence.
 * The caller holds the set's lock.
 */
import { access, constants, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { IndexError } from '../errors.js';
import { setVolumes } from '../set/locate.js';
import { INDEX_FILE, SetIndex } from './db.js';
import { rebuildIndex } from './rebuild.js';
import { recoverIncomplete } from './recover.js';
import { lockSet } from '../set/lock.js';

/** SQLite's codes that mean the file is not a sound database (better-sqlite3 puts them in `code`). */
const DAMAGE = /^SQLITE_(CORRUPT|NOTADB)/;

/** The SQLite error behind `e` (itself, or the cause of an IndexError), or null. */
function sqliteCode(e: unknown): string | null {
  for (let x = e; x instanceof Error; x = (x as Error & { cause?: unknown }).cause) {
    const code = (x as Error & { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_')) return code;
  }
  return null;
}

/** Whether an error says the index file is damaged (as opposed to full, read-only or busy). */
export function isIndexDamage(e: unknown): boolean {
  return DAMAGE.test(sqliteCode(e) ?? '');
}

/** The command that makes a set's index again, for messages. */
export function rebuildCommand(set: string): string {
  return `xtar index rebuild ${set}`;
}

/**
 * Move a damaged index (and a journal beside it) to `xtar-index.sqlite.damaged-<time>`, so the next
 * open starts from the volumes; returns where it went.
 */
export async function moveAside(set: string): Promise<string> {
  const file = join(set, INDEX_FILE);
  const aside = `${file}.damaged-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
  await rename(file, aside);
  await rename(`${file}-journal`, `${aside}-journal`).catch(() => undefined);
  return aside;
}

/** Why the index cannot be used as it is (null: it can), having tried to open and check it. */
async function damage(set: string, file: string, hasVolumes: boolean): Promise<string | null> {
  if ((await stat(file)).size === 0) return hasVolumes ? 'an empty file' : null;
  let index: SetIndex | null = null;
  try {
    index = SetIndex.open(set);
    const found = index.quickCheck();
    if (found !== null) return `SQLite's check: ${found}`;
    return null;
  } catch (e) {
    if (isIndexDamage(e)) return (sqliteCause(e) ?? (e as Error)).message.replace(/\.$/, '');
    throw e;
  } finally {
    index?.close();
  }
}

function sqliteCause(e: unknown): Error | null {
  for (let x = e; x instanceof Error; x = (x as Error & { cause?: unknown }).cause) if (sqliteCode(x) !== null && !(x instanceof IndexError)) return x;
  return null;
}

/** Refuse an index (or its folder) that cannot be written: rebuilding it in place is impossible too. */
async function requireWritable(set: string, file: string): Promise<void> {
  for (const p of [file, set]) {
    try {
      await access(p, constants.W_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'not writable';
      throw new IndexError(
        `The set's index ${file} cannot be written (${p === set ? `its folder: ${code}` : code}): make it writable, or move it away and run \`${rebuildCommand(set)}\` where it can be.`,
        e,
      );
    }
  }
}

/**
 * The set's index, sound: made from the volumes when missing, moved aside and made again when
 * damaged (`note` gets the one line that says so). With `write`, an index that cannot be written
 * stops the run with a sentence naming it and the command.
 */
export async function openHealed(set: string, opts: { write: boolean; note: (line: string) => void }): Promise<SetIndex> {
  const file = join(set, INDEX_FILE);
  const volumes = await setVolumes(set);
  const exists = await stat(file).then(
    () => true,
    () => false,
  );
  // A set whose index was lost (or that was copied back from discs) gets it back from its volumes.
  if (!exists) {
    if (volumes.size > 0) await rebuildIndex(set);
    return SetIndex.open(set);
  }
  if (opts.write) await requireWritable(set, file);
  const why = await damage(set, file, volumes.size > 0);
  if (why !== null) {
    const aside = await moveAside(set).catch((e: unknown) => {
      throw new IndexError(`The set's index ${file} is damaged (${why}) and cannot be moved aside (${(e as Error).message}); move it away and run \`${rebuildCommand(set)}\`.`, e);
    });
    const r = await rebuildIndex(set);
    const unread = r.failed.length > 0 ? `; ${r.failed.length} backup(s) could not be read: ${r.failed.map((f) => f.id).join(', ')}` : '';
    opts.note(`the set's index ${file} was damaged (${why}); rebuilt it from the volumes (${r.backups.length} backup(s)${unread}); the damaged file is kept as ${aside}.`);
  }
  return SetIndex.open(set);
}

/**
 * The set's index for a reader (`list --obsolete`), under the set's lock while it is healed and
 * brought up to date with the volumes: an answer never comes from an empty, damaged or stale index.
 */
export async function openIndex(set: string, note: (line: string) => void): Promise<SetIndex> {
  const unlock = await lockSet(set).catch(async (e: unknown) => {
    if (!READ_ONLY.has(String((e as NodeJS.ErrnoException).code))) throw e;
    return null;
  });
  // A set on a read-only file system (discs) is read as it is, when its index is sound.
  if (unlock === null) return openReadOnly(set);
  try {
    const index = await openHealed(set, { write: false, note });
    try {
      await recoverIncomplete(index, set);
    } catch (e) {
      index.close();
      throw e;
    }
    return index;
  } finally {
    await unlock();
  }
}

/** Errors that say the set folder cannot be written. */
const READ_ONLY = new Set(['EROFS', 'EACCES', 'EPERM']);

/** The index of a set that cannot be written: used when sound, else refused with its path and the command. */
async function openReadOnly(set: string): Promise<SetIndex> {
  const file = join(set, INDEX_FILE);
  const why = await stat(file).then(
    () => damage(set, file, true),
    () => 'missing',
  );
  if (why !== null) {
    throw new IndexError(`The set's index ${file} is ${why === 'missing' ? 'missing' : `damaged (${why})`} and the set cannot be written: copy the set where it can be and run \`${rebuildCommand(set)}\` there.`);
  }
  return SetIndex.open(set);
}
