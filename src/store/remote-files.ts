/**
 * The archives of a set in object storage as the readers see them: a local stand-in path (in the
 * set's cache, a sparse file of the object's size) registered with the object it stands for, so a
 * reader given that path fetches the bytes it asks for with ranged GETs instead.
 */
import { open } from 'node:fs/promises';
import type { PositionalFile } from '../util/lines.js';
import type { ObjectStore } from './object-store.js';

export interface RemoteFile {
  store: ObjectStore;
  /** The object's name below the store's prefix. */
  name: string;
  size: number;
}

const byPath = new Map<string, RemoteFile>();

export function registerRemoteFile(localPath: string, file: RemoteFile): void {
  byPath.set(localPath, file);
}

/** The object a local stand-in path reads from, or undefined for a real file. */
export function remoteFileAt(localPath: string): RemoteFile | undefined {
  return byPath.get(localPath);
}

/**
 * A file to read at positions: a stand-in's object, by ranged GETs (its local bytes are zeros); any
 * other path, the file itself. The caller closes it.
 */
export async function openPositional(path: string): Promise<PositionalFile> {
  return (await standInReader(path)) ?? open(path, 'r');
}

/** The object behind a stand-in, to read instead of its zeros; undefined for any other path (read it as it is). The caller closes it. */
export async function standInReader(path: string): Promise<PositionalFile | undefined> {
  const remote = remoteFileAt(path);
  return remote === undefined ? undefined : new RemoteHandle(remote);
}

/** Every store a stand-in was registered for (to total what was fetched). */
export function remoteStores(): ObjectStore[] {
  return [...new Set([...byPath.values()].map((f) => f.store))];
}

/** Positional reads of a remote file, shaped as a FileHandle's read: one ranged GET each. */
export class RemoteHandle {
  constructor(readonly file: RemoteFile) {}

  async read(b: Uint8Array, off: number, len: number, at: number): Promise<{ bytesRead: number }> {
    const end = Math.min(at + len, this.file.size);
    if (at >= end) return { bytesRead: 0 };
    const got = await this.file.store.getRange(this.file.name, at, end - at);
    b.set(got, off);
    return { bytesRead: got.length };
  }

  async close(): Promise<void> {}
}
