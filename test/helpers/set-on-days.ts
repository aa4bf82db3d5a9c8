/** Sets built day by day by the real CLI, and what their index holds: shared by the e2e tests of records and index rebuild. */
import assert from 'node:assert/strict';
import { SetIndex } from '../../src/setindex/db.js';
import { xtar } from './cli.js';

/** The day 0 of these sets (SOURCE_DATE_EPOCH), and a day. */
const EPOCH = 1_780_000_000;
const DAY = 86_400;

/** What `pack --json` says that these tests read. */
export interface PackedJson {
  backup: string | null;
  nothingChanged?: boolean;
  volumes: { path: string }[];
}

/** `xtar pack SRC --out SET --json` as if run `day` days after day 0; asserts it succeeded. */
export async function packOnDay(src: string, set: string, day: number, extra: readonly string[] = []): Promise<PackedJson> {
  const r = await xtar(['pack', src, '--out', set, '--json', ...extra], { env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH + day * DAY) } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as PackedJson;
}

/** The index's files of every backup (the volumes' folder bytes left out: changing a record changes them). */
export function indexFiles(set: string): Record<string, unknown[]> {
  const ix = SetIndex.open(set);
  try {
    return ix.dump().files;
  } finally {
    ix.close();
  }
}
