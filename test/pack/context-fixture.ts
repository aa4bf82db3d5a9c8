/** Test fixture: a set folder with an index, a small source tree, and a PackContext over them. */
import { after, before } from 'node:test';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SetIndex } from '../../src/setindex/db.js';
import { CompressPool } from '../../src/pack/compress.js';
import { startBackup, type PackContext } from '../../src/pack/context.js';
import type { PackOptions } from '../../src/pack/pack.js';
import { IndexRecorder } from '../../src/pack/recorder.js';
import { removeTree, tempDir, touchNs } from '../helpers/tree.js';

export interface Fixture {
  dir: string;
  set: string;
  tree: string;
  index: SetIndex;
  context(opts?: Partial<PackOptions>): Promise<PackContext>;
  close(): Promise<void>;
}

/** `src/a` (5 bytes), `src/sub/b` (3 bytes), mtimes fixed; the set is empty. */
export async function fixture(): Promise<Fixture> {
  const dir = await tempDir();
  const set = join(dir, 'set');
  const tree = join(dir, 'src');
  await mkdir(join(tree, 'sub'), { recursive: true });
  await mkdir(set);
  await writeFile(join(tree, 'a'), 'hello');
  await writeFile(join(tree, 'sub', 'b'), 'abc');
  touchNs(join(tree, 'a'), 1_700_000_000, 0);
  touchNs(join(tree, 'sub', 'b'), 1_700_000_001, 0);
  const index = SetIndex.open(set);
  const pools: CompressPool[] = [];
  let seconds = 0;
  return {
    dir,
    set,
    tree,
    index,
    async context(opts = {}) {
      const o: PackOptions = { source: tree, out: set, now: new Date(Date.UTC(2026, 10, 20, 12, 0, seconds++)), ...opts };
      const start = await startBackup(o, set, tree, index);
      const pool = new CompressPool(6, 1);
      pools.push(pool);
      return { ...start, opts: o, set, tree, level: 6, index, pool, recorder: new IndexRecorder(index), volumes: null, changed: [], spooled: 0, sealing: null };
    },
    async close() {
      for (const p of pools) await p.close();
      index.close();
      await removeTree(dir);
    },
  };
}

/** A fixture for the tests of the current describe(), made before them and removed after them. */
export function withFixture(): () => Fixture {
  let f: Fixture | undefined;
  before(async () => {
    f = await fixture();
  });
  after(async () => {
    await f?.close();
  });
  return () => f as Fixture;
}
