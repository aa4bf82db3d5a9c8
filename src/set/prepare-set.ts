/**
 * Making a folder a set (its marker file), or checking that it is one. Knows nothing of backups,
 * volumes or the index.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError, XtarError } from '../errors.js';
import { SET_MARKER } from '../format/layout.js';
import { decodeSetMarker, encodeSetMarker } from '../format/manifest.js';

/** Make `out` a set folder (or check that it is one) and return its absolute path. */
export async function prepareSet(out: string): Promise<string> {
  const set = resolve(out);
  let entries: string[] = [];
  try {
    const st = await stat(set);
    if (!st.isDirectory()) throw new InputError(`${out} exists and is not a folder.`, out);
    entries = await readdir(set);
  } catch (e) {
    if (e instanceof XtarError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(`Cannot use ${out}: ${(e as Error).message}.`, out, e);
    await mkdir(set, { recursive: true });
  }
  if (entries.length > 0 && !entries.includes(SET_MARKER)) {
    throw new InputError(`${out} is not empty and is not an xtar set; give a new or empty folder.`, out);
  }
  if (!entries.includes(SET_MARKER)) await writeFile(join(set, SET_MARKER), encodeSetMarker());
  // A set of a newer layout is not written into by an older xtar.
  else decodeSetMarker(await readFile(join(set, SET_MARKER), 'utf8'), join(set, SET_MARKER));
  return set;
}
