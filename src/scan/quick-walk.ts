/**
 * A quick walk for looking, not packing (the activity commands use it): regular files with mtime and
 * size, in no particular order. Archive order, entries and facts are the scan's (scan.ts, walker.ts).
 */
import { lstatSync, readdirSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { join, resolve } from 'node:path';
import { isExclusion, Selection, type DirScope, type SelectionOptions } from './select.js';

export interface QuickFile {
  /** Path below the walked folder, '/'-separated. */
  path: string;
  mtimeMs: number;
  size: number;
}

/**
 * Regular files only, with synchronous calls (a few microseconds each) and the same selection as
 * the scan (select.ts). Symlinks are never followed; unreadable folders are passed over.
 */
export function walkFilesSync(dir: string, select: SelectionOptions | readonly string[], visit: (f: QuickFile) => void): void {
  const sel = new Selection(isPatterns(select) ? { exclude: select } : select);
  const top = resolve(dir);
  let rootDev = 0;
  try {
    rootDev = lstatSync(top).dev;
  } catch {
    return;
  }
  const stack: [string, string, DirScope][] = [[top, '', sel.root(rootDev)]];
  while (stack.length > 0) {
    const [abs, rel, parent] = stack.pop() as [string, string, DirScope];
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      continue;
    }
    const scope = parent.enter(abs, rel, rel, entries.map((d) => d.name), () => undefined);
    if (isExclusion(scope)) continue;
    for (const d of entries) {
      const r = rel === '' ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) {
        if (scope.needsDirStat) {
          try {
            if (scope.check(d.name, r, lstatSync(join(abs, d.name))) !== null) continue;
          } catch {
            continue;
          }
        } else if (scope.byNameCheck(d.name, r, true) !== null) continue;
        stack.push([join(abs, d.name), r, scope]);
      } else if (d.isFile()) {
        try {
          const st = lstatSync(join(abs, d.name));
          if (scope.check(d.name, r, st) !== null) continue;
          visit({ path: r, mtimeMs: st.mtimeMs, size: st.size });
        } catch {
          /* removed meanwhile */
        }
      }
    }
  }
}

function isPatterns(s: SelectionOptions | readonly string[]): s is readonly string[] {
  return Array.isArray(s);
}
