/**
 * The toolsets the by-hand tests run README.txt's restore script with: GNU (dash as sh), BusyBox
 * alone, and bsdtar (libarchive's tar, no unzip) — each a map from a program the script may call to
 * where it points on this machine (null: absent there).
 */
import { execFileSync } from 'node:child_process';

/** Where `tool` is on PATH, or null. */
export function which(tool: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export const TOOLSETS: Record<string, (tool: string) => string | null> = {
  gnu: (t) => (t === 'sh' ? which('dash') : which(t)),
  busybox: (t) => (t === 'locale' || t === 'bsdtar' ? null : which('busybox')),
  bsdtar: (t) => (t === 'unzip' ? null : t === 'tar' ? which('bsdtar') : t === 'sh' ? which('dash') : which(t)),
};
