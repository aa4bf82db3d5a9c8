/** `xtar pack SRC --out SET`: parse nothing, call pack(), render the result. */
import { InterruptedError } from '../../errors.js';
import { pack } from '../../pack/pack.js';
import { humanBytes, printJson, printProblems, progressBar, type Io } from '../render.js';
import { statusFor } from '../exit.js';

export interface PackArgs {
  src: string;
  out: string;
  jobs?: number | undefined;
  level: number;
  exclude: string[];
  json: boolean;
  quiet: boolean;
  volumeSize?: number | undefined;
  par2?: number | undefined;
  changedSinceNs?: bigint | undefined;
  iso?: boolean;
}

export async function runPack(a: PackArgs, io: Io): Promise<number> {
  const bar = progressBar(!a.quiet && !a.json, 'pack');
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => ac.abort(new InterruptedError(sig));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const r = await pack({
      source: a.src,
      out: a.out,
      level: a.level,
      exclude: a.exclude,
      signal: ac.signal,
      ...(a.volumeSize === undefined ? {} : { volumeSize: a.volumeSize }),
      ...(a.par2 === undefined ? {} : { par2: a.par2 }),
      ...(a.changedSinceNs === undefined ? {} : { changedSinceNs: a.changedSinceNs }),
      ...(a.iso ? { iso: true } : {}),
      ...(a.jobs === undefined ? {} : { jobs: a.jobs }),
      onProgress: (p) => {
        if (p.phase === 'pack') bar.update(p.bytes, p.totalBytes, p.files);
      },
    });
    bar.stop();
    const problems = [...r.skipped, ...r.changed.map((path) => ({ path, reason: 'file changed as we read it' }))];
    printProblems(io, problems);
    printProblems(io, r.ignored);
    if (a.json) {
      printJson(io, {
        set: r.set,
        backup: r.backupId,
        root: r.root,
        files: r.files,
        dirs: r.dirs,
        entries: r.entries,
        bytes: r.bytes,
        archiveBytes: r.archiveBytes,
        bytesWritten: r.bytesWritten,
        volumes: r.volumes,
        skipped: r.skipped,
        changed: r.changed,
        ignored: r.ignored,
      });
    } else if (!a.quiet) {
      const ratio = r.bytes > 0 ? ` (${((100 * r.archiveBytes) / r.bytes).toFixed(1)}% of ${humanBytes(r.bytes)})` : '';
      io.stdout.write(`packed ${r.files} files, ${r.dirs} folders into ${r.volumes.length} volume(s): ${humanBytes(r.archiveBytes)}${ratio}\n`);
      for (const v of r.volumes) io.stdout.write(`  ${v.path}\n`);
    }
    return statusFor(problems.length);
  } finally {
    bar.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
