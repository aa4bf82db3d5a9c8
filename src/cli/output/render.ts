/**
 * What the CLI shows: a progress bar on a TTY (nothing in a pipe), human-readable sizes, lists of
 * problems on stderr, and the one JSON object of --json.
 */
import { createRequire } from 'node:module';
import { humanBytes } from '../../util/human.js';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
}

export { humanBytes };

export interface Progress {
  update(done: number, total: number, files: number): void;
  stop(): void;
}

const silent: Progress = { update: () => undefined, stop: () => undefined };

/** A bytes/files/ETA bar on stderr when it is a terminal and output is not quiet or JSON. */
export function progressBar(enabled: boolean, label: string): Progress {
  const tty = process.stderr.isTTY === true;
  if (!enabled || !tty) return silent;
  // (Loaded only to draw: a run in a pipe, or --quiet, does not pay its ~10 ms of start-up.)
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {doneH}/{totalH} | {files} files | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 500,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, files) {
      const payload = { doneH: humanBytes(done), totalH: humanBytes(total), files };
      if (!started) {
        bar.start(Math.max(total, 1), done, payload);
        started = true;
      } else {
        bar.setTotal(Math.max(total, 1));
        bar.update(done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export function printProblems(io: Io, items: readonly { path: string; reason: string }[], verb = 'xtar'): void {
  for (const p of items) io.stderr.write(`${verb}: ${p.path}: ${p.reason}\n`);
}

/** Notes on stderr, once each: what was left out on purpose (the set inside the source). They change no exit status. */
export function printNotes(io: Io, items: readonly { reason: string }[]): void {
  for (const n of items) io.stderr.write(`xtar: note: ${n.reason}\n`);
}

export { printJson } from './json.js';
