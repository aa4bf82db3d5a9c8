/**
 * Sets in object storage for the reading commands: each s3:// argument opened as its cached set
 * folder (src/set/remote-set.ts) for the command, and what the command prints naming the cache
 * names the URL instead.
 */
import { OpenedSets } from '../../set/remote-set.js';
import { parseStoreUrl } from '../../store/s3-url.js';
import type { Io } from '../output/render.js';

/** Run `fn` with the arguments that are s3:// sets replaced by their cache folders, its output showing the URLs. */
export async function withSets<T>(args: readonly string[], io: Io, fn: (paths: string[], io: Io, sets: OpenedSets) => Promise<T>): Promise<T> {
  // (An index fetched that does not know a backup packed elsewhere is made again from the volumes: said on stderr.)
  // (Only an s3:// set loads the index's code and SQLite, ~10 ms of every run's start-up otherwise.)
  if (!args.some((a) => parseStoreUrl(a) !== null)) return fn([...args], io, await OpenedSets.open([]));
  const { openSetsForReading } = await import('../../setindex/maintain.js');
  const sets = await openSetsForReading(args, (line) => io.stderr.write(`xtar: ${line}\n`));
  try {
    return await fn(sets.paths(args), { stdout: showing(io.stdout, sets), stderr: showing(io.stderr, sets) }, sets);
  } finally {
    sets.close();
  }
}

/** A stream whose text is shown with the cache's paths as URLs. */
function showing<S extends NodeJS.WritableStream>(s: S, sets: OpenedSets): S {
  return new Proxy(s, {
    get(target, prop, receiver) {
      if (prop === 'write') {
        return (chunk: unknown, ...rest: unknown[]) => (target.write as (...x: unknown[]) => boolean)(typeof chunk === 'string' ? sets.show(chunk) : chunk, ...rest);
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
    },
  });
}
