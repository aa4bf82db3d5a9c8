/**
 * The exclusion matcher shared by the scan and the quick walk, GNU tar style. It decides from names
 * and paths only; it never looks at the disk.
 */
import picomatch from 'picomatch';

/** A pattern without '/' matches a name at any depth; with '/' it matches the path below the source. */
export function compileExcludes(patterns: readonly string[]): (rel: string, name: string) => boolean {
  if (patterns.length === 0) return () => false;
  const byName: picomatch.Matcher[] = [];
  const byPath: picomatch.Matcher[] = [];
  for (const raw of patterns) {
    const p = raw.replace(/^\.\//, '').replace(/\/+$/, '');
    (p.includes('/') ? byPath : byName).push(picomatch(p, { dot: true }));
  }
  return (rel, name) => byName.some((m) => m(name)) || byPath.some((m) => m(rel));
}
