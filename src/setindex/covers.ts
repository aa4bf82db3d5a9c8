/**
 * An index fetched from elsewhere (a set in object storage, whose index object another machine
 * wrote, or whose upload failed after the volumes were published) may not know every backup whose
 * volumes are in the set: then it is made again from the volumes, said in one line. The caller
 * holds the set's lock.
 */
import { setVolumes } from '../set/locate.js';
import { SetIndex } from './db.js';
import { openHealed } from './heal.js';
import { rebuildIndex } from './rebuild.js';

/** Make sure the index knows every backup in the set; the backups it did not know (then rebuilt), or none. */
export async function indexCoversVolumes(set: string, note: (line: string) => void): Promise<string[]> {
  const index: SetIndex = await openHealed(set, { write: true, note });
  let known: Set<string>;
  try {
    known = index.ids();
  } finally {
    index.close();
  }
  const unknown = [...(await setVolumes(set)).keys()].filter((id) => !known.has(id)).sort();
  if (unknown.length === 0) return [];
  await rebuildIndex(set);
  note(`the set's index did not know backup(s) ${unknown.join(', ')} (packed elsewhere, or its index never reached the set); rebuilt it from the volumes.`);
  return unknown;
}
