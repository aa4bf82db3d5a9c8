/**
 * `pack --chown UID[:GID]`: hand what a pack wrote to another owner, as a final pass once the volumes
 * are committed — the set folder, the files at its top (index, marker, log) and each new volume
 * folder with everything in it, and its ISO image. Volumes of earlier runs are left as they are.
 */
import { lchown, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

export interface Owner {
  uid: number;
  /** Absent: the group is left as it is. */
  gid?: number;
}

/** `UID[:GID]` (numbers, as chown(1) takes them) as an Owner; a usage error otherwise. */
export function parseOwner(text: string): Owner {
  const m = /^(\d+)(?::(\d+))?$/.exec(text.trim());
  if (m === null) throw new UsageError(`--chown takes UID or UID:GID as numbers (e.g. --chown 1000:1000), not ${JSON.stringify(text)}.`);
  const uid = Number(m[1]);
  const gid = m[2] === undefined ? undefined : Number(m[2]);
  if (uid > 0xfffffffe || (gid !== undefined && gid > 0xfffffffe)) throw new UsageError(`--chown ${text}: an id is at most 4294967294.`);
  return gid === undefined ? { uid } : { uid, gid };
}

/** Give `path` and, for a folder, everything below it to `owner` (links themselves, never their targets). */
async function chownTree(path: string, owner: Owner): Promise<void> {
  await lchown(path, owner.uid, owner.gid ?? -1);
  const entries = await readdir(path, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOTDIR') return [];
    throw e;
  });
  for (const e of entries) await chownTree(join(path, e.name), owner);
}

/** The set folder and its top-level files, then each of `written` (volume folders, ISO images) whole. */
export async function chownWritten(set: string, written: readonly string[], owner: Owner): Promise<void> {
  await lchown(set, owner.uid, owner.gid ?? -1);
  for (const e of await readdir(set, { withFileTypes: true })) if (!e.isDirectory()) await lchown(join(set, e.name), owner.uid, owner.gid ?? -1);
  for (const path of written) await chownTree(path, owner);
}
