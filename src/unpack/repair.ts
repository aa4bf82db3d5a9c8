/**
 * `xtar repair`: let par2 verify and repair each volume from the recovery files inside it, then say
 * what is now intact (by verifying the volumes as `xtar verify` does).
 */
import { readdir } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { par2Repair, type RepairResult } from '../set/par2.js';
import { locate } from '../set/locate.js';
import { verify, type VerifyResult } from './verify.js';

export interface RepairReport {
  volumes: { path: string; outcome: RepairResult['outcome'] | 'no recovery files' }[];
  after: VerifyResult;
}

export async function repair(inputs: readonly string[]): Promise<RepairReport> {
  const volumes = [];
  for (const input of inputs) volumes.push(...(await locate(input)));
  const out: RepairReport['volumes'] = [];
  for (const v of volumes) {
    if (v.dir === null) throw new InputError(`${v.archive} is a bare archive: repair needs its volume folder, where the .par2 files are.`, v.archive);
    const index = (await readdir(v.dir)).find((n) => n.endsWith('.par2') && !/\.vol\d+\+\d+\.par2$/.test(n));
    if (index === undefined) {
      out.push({ path: v.dir, outcome: 'no recovery files' });
      continue;
    }
    out.push({ path: v.dir, outcome: (await par2Repair(v.dir, index)).outcome });
  }
  const after = await verify({ inputs });
  return { volumes: out, after };
}
