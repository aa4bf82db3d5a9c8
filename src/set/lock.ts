/**
 * One writer per set: a lock file holding the writer's pid (a lock whose process is gone — a pack
 * killed with -9 — is taken over), and the set's log, one line per pack run.
 */
import { appendFile, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SetBusyError } from '../errors.js';

export const LOCK_FILE = 'xtar.lock';
export const LOG_FILE = 'xtar.log';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take the set's lock; the returned function releases it. */
export async function lockSet(set: string): Promise<() => Promise<void>> {
  const path = join(set, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return () => rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new SetBusyError(`Another xtar (pid ${pid}) is writing to ${set}; wait for it to finish.`, path);
    }
    await rm(path, { force: true }); // left by a process that is gone
  }
}

/** Append one line to the set's log (SET/xtar.log): when, and what a pack did. */
export async function logToSet(set: string, when: Date, message: string): Promise<void> {
  await appendFile(join(set, LOG_FILE), `${when.toISOString()} ${message.replace(/\n/g, ' ')}\n`);
}
