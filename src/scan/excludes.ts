/**
 * `--exclude` alone, as a predicate on a path: the gitignore-style patterns of the selection
 * (select.ts), for callers that hold a path and not a walk. It decides from names and paths only.
 */
import { isExclusion, Selection } from './select.js';

/**
 * A pattern without '/' (other than a trailing one) matches a name at any depth; with '/' it is
 * anchored at the source; a trailing '/' matches folders only; `!` re-includes (gitignore).
 */
export function compileExcludes(patterns: readonly string[]): (rel: string, name: string, isDir?: boolean) => boolean {
  if (patterns.length === 0) return () => false;
  const sel = new Selection({ exclude: patterns, ignoreFile: null, excludeFlag: null });
  const root = sel.root(0);
  return (rel, _name, isDir = false) => {
    // Each folder on the way must be kept for the entry to be reached, as in a walk.
    const parts = rel.split('/');
    let scope = root;
    for (let i = 0; i < parts.length; i++) {
      const here = parts.slice(0, i + 1).join('/');
      const last = i === parts.length - 1;
      if (scope.byNameCheck(parts[i] as string, here, last ? isDir : true) !== null) return true;
      if (!last) {
        const next = scope.enter('', '', here, [], () => undefined);
        if (isExclusion(next)) return true;
        scope = next;
      }
    }
    return false;
  };
}
