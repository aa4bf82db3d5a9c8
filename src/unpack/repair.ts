/**
 * `xtar repair`: let par2 verify and repair each volume from the recovery files inside it, then say
 * what is now intact (by verifying the volumes as `xtar verify` does).
 *
 * par2 cannot repair on a disc that fails its sectors (its reads answer EIO): when it gives up, the
 * volume's files are read through once to tell, and such a volume is named with the way out — copy
 * the readable bytes off first, then repair the copy. The verify after still names every file lost.
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, type Problem } from '../errors.js';
import { par2Repair, type RepairResult } from '../set/par2.js';
import { locate } from '../set/locate.js';
import { verify, type VerifyResult } from './verify.js';

export interface RepairReport {
  volumes: { path: string; outcome: RepairResult['outcome'] | 'no recovery files' | 'unreadable' }[];
  after: VerifyResult;
}

export async function repair(inputs: readonly string[]): Promise<RepairReport> {
  const volumes = [];
  for (const input of inputs) volumes.push(...(await locate(input)));
  const out: RepairReport['volumes'] = [];
  const unreadable: Problem[] = [];
  for (const v of volumes) {
    if (v.dir === null) throw new InputError(`${v.archive} is a bare archive: repair needs its volume folder, where the .par2 files are.`, v.archive);
    const index = (await readdir(v.dir)).find((n) => n.endsWith('.par2') && !/\.vol\d+\+\d+\.par2$/.test(n));
    if (index === undefined) {
      out.push({ path: v.dir, outcome: 'no recovery files' });
      continue;
    }
    const { outcome } = await par2Repair(v.dir, index);
    const failing = outcome === 'unrepairable' ? await firstUnreadable(v.dir) : null;
    if (failing !== null) {
      out.push({ path: v.dir, outcome: 'unreadable' });
      unreadable.push({ path: v.dir, reason: `the drive cannot read ${failing}, so par2 cannot repair it here: copy the readable bytes off first (xtar rescue, or GNU ddrescue), then repair the copy`, kind: 'header' });
    } else out.push({ path: v.dir, outcome });
  }
  const after = await verify({ inputs });
  return { volumes: out, after: { ...after, problems: [...unreadable, ...after.problems] } };
}

/** The first file of a volume folder the drive cannot read to its end (EIO), or null when every one reads. */
async function firstUnreadable(dir: string): Promise<string | null> {
  const buf = Buffer.alloc(1024 * 1024);
  for (const name of (await readdir(dir)).sort()) {
    const fh = await open(join(dir, name), 'r').catch(() => null);
    if (fh === null) continue;
    try {
      while ((await fh.read(buf, 0, buf.length, null)).bytesRead > 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EIO') return name;
      if ((e as NodeJS.ErrnoException).code !== 'EISDIR') throw e;
    } finally {
      await fh.close();
    }
  }
  return null;
}
