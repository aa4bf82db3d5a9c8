/**
 * A command's standard output as a source (`pack --from-command NAME -- CMD ARGS…`, the config's
 * `commands:`): the output is streamed into a spool file NAME in a folder `.xtar-tmp-cmd-*` of the
 * set, hashed on the way, then packed by pack() as a source of one file under the source id
 * `command:NAME` — compressed and placed as any file. When its sha256 equals the copy the newest
 * backup of `command:NAME` holds, the spool file is given that copy's mtime, so pack finds the tree
 * unchanged and makes no backup (that backup still restores NAME). A command that fails (non-zero
 * exit, killed, not started) fails this source with its status and the last lines of its stderr;
 * nothing of its output is stored. The spool folder is removed afterwards, on failure and on Ctrl-C.
 */
import { plannedSet } from './remote-pack.js';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InterruptedError, UsageError, XtarError } from '../errors.js';
import { isSafeComponent } from '../format/names.js';
import { prepareSet } from '../set/prepare-set.js';
import { creationTime } from '../set/backup-id.js';
import { INDEX_FILE, SetIndex } from '../setindex/db.js';
import { plannedIndex, type DryRunResult } from './dry-run.js';
import { checkPackOptions } from './options.js';
import { pack, type PackOptions, type PackResult } from './pack.js';
import { historyOf, planBackup, policyOf } from './plan-backup.js';

/** One command whose output is a source: the file name it is stored under, and the program with its arguments (no shell). */
export interface CommandSpec {
  name: string;
  argv: readonly string[];
}

/** The prefix of the spool folders in the set (the temporary-name rule of docs/FORMAT.md). */
export const COMMAND_SPOOL_PREFIX = '.xtar-tmp-cmd-';

/** The source id a command's backups carry in the index and in volume.json (`unpack --source command:NAME`). */
export function commandSourceId(name: string): string {
  return `command:${name}`;
}

/** How many lines of a failed command's stderr its error quotes, and how many bytes of stderr are kept for them. */
const STDERR_LINES = 10;
const STDERR_KEEP = 8192;

/** The spool file's permission bits (a dump may hold secrets); restored as such. */
const SPOOL_MODE = 0o600;

/** A command source's command did not finish well: its exit status or signal, and the end of its stderr. */
export class CommandFailedError extends XtarError {
  constructor(
    readonly output: string,
    readonly argv: readonly string[],
    readonly exitStatus: number | null,
    readonly signal: string | null,
    readonly stderrTail: string,
    cause?: unknown,
  ) {
    const how = cause !== undefined ? `could not be started (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})` : signal !== null ? `was killed by ${signal}` : `exited with status ${exitStatus ?? '?'}`;
    const tail = stderrTail === '' ? '' : `; its stderr ended:\n${stderrTail.replace(/^/gm, '  ')}`;
    super(`the command ${shellWords(argv)} for ${output} ${how}; nothing was stored as ${output}${tail}`, { code: 'ECOMMAND', path: commandSourceId(output), cause });
  }
}

/** A command line as one would type it (for messages only). */
export function shellWords(argv: readonly string[]): string {
  return argv.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** A command's name and program are usable: NAME one storable file name, the program given. */
export function checkCommandSpec(c: CommandSpec): void {
  if (!isSafeComponent(c.name) || c.name.startsWith('.xtar-tmp')) {
    throw new UsageError(`${JSON.stringify(c.name)} cannot be the name of a command's output: give a file name without '/' (e.g. db.sql).`);
  }
  if (c.argv.length === 0 || c.argv[0] === '') throw new UsageError(`--from-command ${c.name} needs the command after \`--\`, e.g. \`--from-command ${c.name} -- pg_dump mydb\`.`);
}

/** The end of a stream's text, at most `keep` bytes: what a failed command's stderr said last. */
class Tail {
  private buf = Buffer.alloc(0);
  constructor(private readonly keep: number) {}
  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (this.buf.length > this.keep) this.buf = this.buf.subarray(this.buf.length - this.keep);
  }
  lines(n: number): string {
    return this.buf.toString('utf8').replace(/\s+$/, '').split('\n').slice(-n).join('\n');
  }
}

interface Spooled {
  sha256: string;
  size: number;
}

/** Run the command with its stdout into `file` (created, never replaced), hashing it; reject with CommandFailedError or InterruptedError. */
async function spool(c: CommandSpec, file: string, signal: AbortSignal | undefined): Promise<Spooled> {
  const [program, ...args] = c.argv as [string, ...string[]];
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = new Tail(STDERR_KEEP);
  child.stderr.on('data', (d: Buffer) => stderr.push(d));
  // Ctrl-C: the command is told to stop, and its pipes are closed on our side, so a child of it that
  // lives on (a shell's `sleep`) holds up nothing; it gets SIGPIPE when it writes.
  const onAbort = (): void => {
    child.kill('SIGTERM');
    child.stdout.destroy();
    child.stderr.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const ended = new Promise<{ code: number | null; sig: NodeJS.Signals | null; error?: unknown }>((res) => {
    child.once('error', (error) => res({ code: null, sig: null, error }));
    child.once('close', (code, sig) => res({ code, sig }));
  });
  const hash = createHash('sha256');
  let size = 0;
  try {
    const written = pipeline(
      child.stdout,
      async function* (src: AsyncIterable<Buffer>) {
        for await (const chunk of src) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(file, { flags: 'wx', mode: SPOOL_MODE }),
    );
    // A write that fails (a full disk) stops the command: nothing more of its output can be kept.
    const wrote = written.then(
      () => null,
      (e: unknown) => {
        child.kill('SIGTERM');
        return e;
      },
    );
    const end = await ended;
    const writeError = await wrote;
    if (signal?.aborted || (end.sig !== null && (await abortedSoon(signal)))) throw signal?.reason instanceof Error ? signal.reason : new InterruptedError('SIGINT');
    if (end.error !== undefined) throw new CommandFailedError(c.name, c.argv, null, null, stderr.lines(STDERR_LINES), end.error);
    if (end.code !== 0) throw new CommandFailedError(c.name, c.argv, end.code, end.sig, stderr.lines(STDERR_LINES));
    if (writeError !== null) throw writeError;
    return { sha256: hash.digest('hex'), size };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Ctrl-C reaches the command too: its death by SIGINT is the run's interruption once the signal is handled. */
async function abortedSoon(signal: AbortSignal | undefined): Promise<boolean> {
  if (signal === undefined) return false;
  await new Promise((r) => setTimeout(r, 20));
  return signal.aborted;
}

/**
 * The mtime (whole seconds) the spool file gets: the copy's in the newest backup of this source when
 * the output is the same (so pack finds nothing changed), else now — never the copy's, so a changed
 * output of the same size is never taken for the same.
 */
function chooseMtimeSec(set: string, c: CommandSpec, out: Spooled): number {
  const previous = previousCopy(set, c);
  if (previous !== null && previous.sha256 === out.sha256 && previous.size === out.size && previous.mtimeNs % 1_000_000_000n === 0n) return Number(previous.mtimeNs / 1_000_000_000n);
  const now = Math.floor(Date.now() / 1000);
  return previous !== null && BigInt(now) * 1_000_000_000n === previous.mtimeNs ? now + 1 : now;
}

/** NAME as the newest backup of `command:NAME` holds it (sha256, size, mtime), or null. */
function previousCopy(set: string, c: CommandSpec): { sha256: string; size: number; mtimeNs: bigint } | null {
  if (!existsSync(join(set, INDEX_FILE))) return null;
  let index: SetIndex | undefined;
  try {
    index = SetIndex.open(set);
    const latest = index.latest(commandSourceId(c.name));
    const v = latest === null ? null : index.lookup(latest.rowid, c.name);
    return v?.blob == null || v.skipped !== null ? null : { sha256: v.blob.sha256, size: v.size, mtimeNs: v.mtimeNs };
  } catch {
    // An index that cannot be read now is pack's to heal; the output is then stored as new.
    return null;
  } finally {
    index?.close();
  }
}

/** Run the command, and pack its output as the file NAME of the source `command:NAME`. */
export async function packCommand(c: CommandSpec, opts: Omit<PackOptions, 'source'>): Promise<PackResult> {
  checkCommandSpec(c);
  if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new InterruptedError('SIGINT');
  const set = await prepareSet(opts.out);
  const dir = await mkdtemp(join(set, COMMAND_SPOOL_PREFIX));
  const removeSpool = (): void => {
    try {
      // Synchronous, so an exit between now and a later tick still leaves no spool behind.
      rmSpoolSync(dir);
    } catch {
      /* removed below, or by nobody: a .xtar-tmp-* name is never a backup */
    }
  };
  process.once('exit', removeSpool);
  try {
    const file = join(dir, c.name);
    const out = await spool(c, file, opts.signal);
    const sec = chooseMtimeSec(set, c, out);
    await chmod(file, SPOOL_MODE);
    await utimes(file, sec, sec);
    return await pack({ ...opts, source: file, sourceId: commandSourceId(c.name) });
  } finally {
    process.off('exit', removeSpool);
    await rm(dir, { recursive: true, force: true });
  }
}

function rmSpoolSync(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * `pack --dry-run` of a command: the command is not run (a dry run runs and writes nothing), so only
 * the plan is known — the kind of backup its output would go into, were it changed — and the one
 * file it would store, of a size not known (0 here).
 */
export async function dryRunCommand(c: CommandSpec, opts: Omit<PackOptions, 'source'>): Promise<DryRunResult> {
  checkCommandSpec(c);
  checkPackOptions(opts);
  const set = await plannedSet(opts.out);
  const index = await plannedIndex(set, opts);
  try {
    const history = index === null ? { latest: null, latestFull: null, sinceFull: 0 } : historyOf(index, commandSourceId(c.name));
    const plan = planBackup(history, policyOf(opts), creationTime(opts.now));
    return { kind: plan.kind, base: plan.base?.id ?? null, reason: plan.reason, files: 1, bytes: 0, storedFiles: 1, storedBytes: 0, unchangedFiles: 0, renamedFiles: 0, metadataFiles: 0, deletedFiles: 0, ignored: [] };
  } finally {
    index?.close();
  }
}
