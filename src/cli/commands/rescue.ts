/** `xtar rescue VOLUME... --to DIR`: call the rescue, render what it read and what it could not. */
import { resolve } from 'node:path';
import { rescue } from '../../rescue/rescue.js';
import type { ReadPolicy } from '../../unpack/random-reader.js';
import { humanBytes, printJson, type Io } from '../output/render.js';
import { reportProblems } from '../output/json.js';

export interface RescueArgs {
  volumes: string[];
  to: string;
  json: boolean;
  quiet: boolean;
  read: ReadPolicy;
  command: string;
}

export async function runRescue(a: RescueArgs, io: Io): Promise<number> {
  const r = await rescue(a.volumes.map((v) => resolve(v)), resolve(a.to), a.read, a.command);
  const files = r.volumes.flatMap((v) => v.files);
  const damaged = files.filter((f) => f.bad.length > 0);
  reportProblems(io, a, damaged.length, () => {
    for (const f of damaged) {
      const ranges = f.bad.map((b) => `${b.offset}+${b.length}`).join(', ');
      io.stderr.write(`xtar: ${f.path}: ${f.badBytes} bytes unreadable (offset+length: ${ranges}); zeros in the copy, '-' in ${f.path}.map\n`);
    }
  });
  if (a.json) {
    printJson(io, 'rescue', {
      volumes: r.volumes.map((v) => ({ volume: v.volume, copy: v.copy, files: v.files.map((f) => ({ path: f.path, map: `${f.path}.map`, bytes: f.bytes, read: f.read, badBytes: f.badBytes, bad: f.bad })) })),
      badBytes: r.badBytes,
      retrySeconds: r.retrySeconds,
    });
  } else if (!a.quiet) {
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    io.stdout.write(`rescued ${files.length} file(s) of ${r.volumes.length} volume(s), ${humanBytes(bytes - r.badBytes)} of ${humanBytes(bytes)}`);
    io.stdout.write(r.badBytes > 0 ? `; ${humanBytes(r.badBytes)} unreadable in ${damaged.length} file(s): run again (another drive, a cleaned disc) to retry only those\n` : '; everything read\n');
  }
  return r.badBytes > 0 ? 1 : 0;
}
