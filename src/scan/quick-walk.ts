/**
 * A quick walk for looking, not packing (the activity commands use it): regular files with mtime and
 * size, in no particular order. Archive order, entries and facts are the scan's (scan.ts, walker.ts).
 */
import { lstatSync, readdirSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { join, resolve } from 'node:path';
import { compileExcludes } from './excludes.js';

export interface QuickFile {
  /** Path below the walked folder, '/'-separated. */
  path: string;
  mtimeMs: number;
  size: number;
}

/**
 * Regular files only, with synchronous calls (a few microseconds each) and the same exclusions as
 * the scan. Symlinks are never followed; unreadable folders are passed over.
 */
export function walkFilesSync(dir: string, exclude: readonly string[], visit: (f: QuickFile) => void): void {
  const excluded = compileExcludes(exclude);
  const stack: [string, string][] = [[resolve(dir), '']];
  while (stack.length > 0) {
    const [abs, rel] = stack.pop() as [string, string];
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const d of entries) {
      const r = rel === '' ? d.name : `${rel}/${d.name}`;
      if (excluded(r, d.name)) continue;
      if (d.isDirectory()) stack.push([join(abs, d.name), r]);
      else if (d.isFile()) {
        try {
          const st = lstatSync(join(abs, d.name));
          visit({ path: r, mtimeMs: st.mtimeMs, size: st.size });
        } catch {
          /* removed meanwhile */
        }
      }
    }
  }
}
