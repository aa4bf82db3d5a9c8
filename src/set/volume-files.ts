/**
 * File-system helpers for the files of a set's volumes: gzip copies, folder sizes, fsync of a folder
 * and of the files in it.
 * Knows nothing of what the files hold.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export async function gzipFile(from: string, to: string): Promise<void> {
  await pipeline(createReadStream(from), createGzip({ level: 9 }), createWriteStream(to));
}

/** Bytes of the files in a volume folder: what it takes on a disc, before the disc's own file system. */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const n of await readdir(dir)) total += (await stat(join(dir, n))).size;
  return total;
}

/** fsync every file in `dir` (not below it), then `dir` itself. */
export async function syncFolder(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isFile()) continue;
    const fh = await open(join(dir, e.name), 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  await syncDir(dir);
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
