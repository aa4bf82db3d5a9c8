/**
 * One writer per set: a lock file naming the writer, and the set's log, one line per pack run.
 *
 * The lock file holds the writer's pid, and where /proc exists (Linux) also the process's start time
 * (field 22 of /proc/PID/stat, clock ticks since boot) and the boot id: `PID START BOOT`. A lock is
 * held while a process with that pid, that start time and that boot runs — so a pid reused by another
 * program after a crash (or a reboot) does not block the set forever. A lock of the old form (the pid
 * alone) is held while that pid runs an xtar. Without /proc (macOS), a lock is held while its pid
 * runs. A lock not held — its writer killed with -9 — is taken over.
 */
import { readFileSync } from 'node:fs';
import { appendFile, open, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SetBusyError } from '../errors.js';

export const LOCK_FILE = 'xtar.lock';
export const LOG_FILE = 'xtar.log';

/** What a lock file says of its writer; start and boot are null in an old lock, or without /proc. */
export interface LockOwner {
  pid: number;
  start: string | null;
  boot: string | null;
}

/** Whether process `pid` of this machine runs (kill 0: EPERM means it runs as another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A /proc file's text, or null where it cannot be read (no /proc, or no such process). */
function procText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The start time of a process, in clock ticks since boot (field 22 of /proc/PID/stat), or null. */
export function processStart(pid: number): string | null {
  const stat = procText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // Field 2 (the command, in parentheses) may hold spaces and ')': the fields after it follow the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[22 - 3] ?? null;
}

function bootId(): string | null {
  return procText('/proc/sys/kernel/random/boot_id')?.trim() ?? null;
}

/** This process as a lock file names it. */
export function lockOwnerLine(): string {
  const start = processStart(process.pid);
  const boot = bootId();
  return start === null || boot === null ? `${process.pid}\n` : `${process.pid} ${start} ${boot}\n`;
}

export function parseLockOwner(text: string): LockOwner | null {
  const [pid, start, boot] = text.trim().split(/\s+/);
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0) return null;
  return { pid: n, start: start ?? null, boot: boot ?? null };
}

/** Whether a process's command line is xtar's: this very script, a command named xtar, or xtar's cli/main.js. */
function runsXtar(pid: number): boolean {
  const cmdline = procText(`/proc/${pid}/cmdline`);
  if (cmdline === null) return true; // alive but not readable: it may be xtar
  return cmdline.split('\0').some((arg) => arg === process.argv[1] || basename(arg) === 'xtar' || /(^|\/)cli\/main\.js$/.test(arg));
}

/** Whether the process a lock file names still runs (and is the one that wrote it). */
export function lockHeld(owner: LockOwner): boolean {
  if (owner.pid === process.pid || !alive(owner.pid)) return false;
  if (procText('/proc/self/stat') === null) return true; // no /proc: the pid is all there is to go by
  if (owner.start === null || owner.boot === null) return runsXtar(owner.pid);
  const start = processStart(owner.pid);
  // A live process whose /proc entry cannot be read (hidepid) may be the writer: held, as before.
  return owner.boot === bootId() && (start === null || owner.start === start);
}

/** Take the set's lock; the returned function releases it. */
export async function lockSet(set: string): Promise<() => Promise<void>> {
  const path = join(set, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(lockOwnerLine());
      await fh.close();
      return () => rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
    }
    const owner = parseLockOwner(await readFile(path, 'utf8').catch(() => ''));
    if (owner !== null && lockHeld(owner)) {
      throw new SetBusyError(`Another xtar (pid ${owner.pid}) is writing to ${set}; wait for it to finish.`, path);
    }
    await rm(path, { force: true }); // left by a process that is gone
  }
}

/** Append one line to the set's log (SET/xtar.log): when, and what a pack did. */
export async function logToSet(set: string, when: Date, message: string): Promise<void> {
  await appendFile(join(set, LOG_FILE), `${when.toISOString()} ${message.replace(/\n/g, ' ')}\n`);
}
