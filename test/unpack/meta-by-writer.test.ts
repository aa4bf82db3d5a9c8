/**
 * Each file's owner, mode and times set by its writer, by descriptor, as it is written (issue 17):
 * writeVerifiedAt with metadata, the StructureCursor that finds it in the structure record beside the
 * catalog, restore-by-catalog handing it over (with the pool's threads and without), and the
 * structure's pass leaving those files be.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Destination, writeVerifiedAt } from '../../src/dest/destination.js';
import { pack } from '../../src/pack/pack.js';
import { locate, type VolumeSource } from '../../src/set/locate.js';
import { chooseStructure } from '../../src/unpack/choose-records.js';
import { restoreByCatalog } from '../../src/unpack/restore-by-catalog.js';
import { StructureCursor } from '../../src/unpack/structure-cursor.js';
import { structureEntries } from '../../src/set/read-records.js';
import { WriteSink } from '../../src/unpack/sink.js';
import { removeTree, tempDir } from '../helpers/tree.js';
import { openContext } from './archive.js';

/** A fixed time in the past (seconds), far from any test run's clock. */
const PAST = 1_500_000_000;

describe('metadata set by the writer', () => {
  let work: string;
  let set: string;
  let newest: VolumeSource;
  /** Each file's path as records give it, and the mode it was packed with. */
  const modes = new Map<string, number>();

  before(async () => {
    work = await tempDir();
    const src = join(work, 'src', 'tree');
    await mkdir(join(src, 'a'), { recursive: true });
    await mkdir(join(src, 'b'), { recursive: true });
    for (let i = 0; i < 12; i++) {
      const rel = join(i % 2 ? 'a' : 'b', `f${i}.txt`);
      await writeFile(join(src, rel), `file ${i}\n`);
      const mode = [0o640, 0o600, 0o755, 0o444][i % 4] as number;
      await chmod(join(src, rel), mode);
      await utimes(join(src, rel), PAST + i, PAST + i);
      modes.set(`tree/${rel}`, mode);
    }
    set = join(work, 'set');
    await pack({ source: src, out: set, jobs: 1, now: new Date('2026-11-01T00:00:00Z') });
    newest = (await locate(set)).at(-1) as VolumeSource;
  });
  after(() => removeTree(work));

  it('writeVerifiedAt sets the mode and times by descriptor before the file takes its name', async () => {
    const dir = join(work, 'direct');
    await mkdir(dir);
    const d = new Destination(dir);
    assert.equal(writeVerifiedAt(d.filePath(['f']), 'f', Buffer.from('x\n'), false, d.tmpTag, Infinity, { mode: 0o604, owner: null, time: PAST + 0.5 }), true);
    const st = await stat(join(dir, 'f'));
    assert.equal(st.mode & 0o7777, 0o604);
    assert.equal(Math.floor(st.mtimeMs / 1000), PAST);
    assert.deepEqual(await readdir(dir), ['f']);
    // Without metadata, as before: nothing is set, and it says so.
    assert.equal(writeVerifiedAt(d.filePath(['g']), 'g', Buffer.from('y\n'), false, d.tmpTag, Infinity), false);
  });

  it('the cursor gives each regular file its metadata in depth-first order, nothing for folders or paths passed', async () => {
    const c = new StructureCursor({ path: newest.structure as string, label: 'structure' }, false);
    try {
      assert.equal(await c.metaOf('tree/a'), null, 'a folder');
      const a1 = await c.metaOf('tree/a/f1.txt');
      assert.equal(a1?.mode, 0o600);
      assert.equal(a1?.owner, null);
      assert.equal(Math.floor(a1?.time ?? 0), PAST + 1);
      assert.equal((await c.metaOf('tree/a/f5.txt'))?.mode, 0o600, 'f3.txt passed over');
      assert.equal(await c.metaOf('tree/a/f3.txt'), null, 'passed: left to the structure\'s pass');
      assert.equal(await c.metaOf('tree/a/zzz.txt'), null, 'not in the record');
      assert.equal((await c.metaOf('tree/b/f0.txt'))?.mode, 0o640, 'still found after a miss');
    } finally {
      await c.close();
    }
  });

  it('the cursor gives nothing for a line that does not decode, nor for one after the end line', async () => {
    const path = join(work, 'hand.jsonl');
    const f = (p: string, mode: string) => `{"path":"${p}","type":"file","mode":"${mode}","uid":0,"gid":0,"mtime":"${PAST}.000000000","size":1}`;
    await writeFile(path, [`{"xtar":"structure","version":1,"backup":"20261101T000000Z","root":"r"}`, '{"path":"r","type":"dir","mode":"0755","uid":0,"gid":0,"mtime":"1.000000000"}', f('r/a', '9999'), f('r/b', '0640'), '{"end":true,"entries":3}', f('r/c', '0600')].join('\n') + '\n');
    const c = new StructureCursor({ path, label: 'hand' }, false);
    try {
      assert.equal(await c.metaOf('r/a'), null, 'a mode that is not octal: left to the structure\'s pass, which lists it');
      assert.equal((await c.metaOf('r/b'))?.mode, 0o640);
      assert.equal(await c.metaOf('r/c'), null, 'after the end line');
    } finally {
      await c.close();
    }
  });

  for (const jobs of [1, 2]) {
    it(`restore-by-catalog writes each file with its mode and time, before the structure's pass (${jobs === 1 ? 'on the main thread' : 'by the pool\'s threads'})`, async () => {
      const dest = join(work, `stage-${jobs}`);
      const sink = new WriteSink(new Destination(dest));
      const { ctx } = await openContext({ inputs: [set], jobs }, sink);
      try {
        // (The pool starts only for large archives: started here to run the threads' path.)
        if (jobs > 1) ctx.pool.startFor(Number.MAX_SAFE_INTEGER);
        await chooseStructure(ctx);
        await restoreByCatalog(ctx);
        await ctx.pool.settle();
        // metaDone holds the files' structure lines, by number (the header is line 1).
        const lines = (await readFile(newest.structure as string, 'utf8')).split('\n');
        const lineOf = (path: string): number => lines.findIndex((l) => l.startsWith(`{"path":${JSON.stringify(path)},`)) + 1;
        assert.equal(ctx.metaDone.size, modes.size);
        for (const path of modes.keys()) assert.ok(ctx.metaDone.has(lineOf(path)), path);
        for (const [path, mode] of modes) {
          const st = await stat(join(dest, path));
          assert.equal(st.mode & 0o7777, mode, path);
          assert.equal(Math.floor(st.mtimeMs / 1000), PAST + Number(/f(\d+)/.exec(path)?.[1]), path);
        }
      } finally {
        await ctx.close();
      }
    });
  }

  it('the structure record read with skipFile passes over the files it accepts, and only regular files', async () => {
    const src = { path: newest.structure as string, label: 'structure' };
    const asked: string[] = [];
    const seen: string[] = [];
    for await (const e of structureEntries(src, () => assert.fail('no bad line'), (_n, p) => (asked.push(p), p.startsWith('tree/a/')))) seen.push(e.path);
    assert.deepEqual(seen.filter((p) => p.startsWith('tree/a/')), [], 'the files of tree/a are passed over');
    assert.ok(seen.includes('tree/a') && seen.includes('tree/b/f0.txt'), 'folders and the other files are not');
    assert.ok(!asked.includes('tree') && !asked.includes('tree/a'), 'only regular files are asked about');
    assert.equal(asked.length, modes.size);
  });

  it("the structure's pass leaves a file whose metadata its writer set, and counts it", async () => {
    const dest = join(work, 'pass');
    const sink = new WriteSink(new Destination(dest));
    const { ctx } = await openContext({ inputs: [set] }, sink);
    try {
      await chooseStructure(ctx);
      await restoreByCatalog(ctx);
      await ctx.pool.settle();
      // Changed after it was written: a pass that set it again (by path) would undo this.
      await chmod(join(dest, 'tree/a/f1.txt'), 0o611);
      const r = await sink.finishStructure(ctx, ctx.structureSrc as NonNullable<typeof ctx.structureSrc>);
      assert.equal(r.files, modes.size);
      assert.equal((await stat(join(dest, 'tree/a/f1.txt'))).mode & 0o7777, 0o611);
      assert.equal(ctx.metaDone.size, 0, 'each is met once');
    } finally {
      await ctx.close();
    }
  });
});
