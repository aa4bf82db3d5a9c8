import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VOLUME_CATALOG } from '../../src/format/layout.js';
import { storedLine, storeFiles } from '../../src/pack/store-files.js';
import { VolumeWriter } from '../../src/pack/volume-writer.js';
import { gzipStructure, writeStructure } from '../../src/pack/write-structure.js';
import type { PackContext } from '../../src/pack/context.js';
import { withFixture } from './context-fixture.js';

/** Run the stages up to storeFiles and finish the volumes; the catalog lines of the last volume. */
async function store(ctx: PackContext): Promise<Record<string, unknown>[]> {
  const st = await writeStructure(ctx);
  await gzipStructure(st);
  ctx.recorder.begin({ id: ctx.backupId, kind: ctx.plan.kind, base: ctx.plan.base?.id ?? null, source: ctx.source, root: 'src', created: ctx.createdIso });
  const vs = new VolumeWriter({
    set: ctx.set, backupId: ctx.backupId, root: 'src', createdIso: ctx.createdIso, metaMtimeSec: 0, volumeSize: null, structurePath: st.path, structureGzPath: st.gzPath,
    workDir: ctx.workDir, par2Percent: null, iso: false, kind: ctx.plan.kind, base: ctx.plan.base?.id ?? null, source: ctx.source,
  });
  await vs.start();
  await storeFiles(ctx, st, vs);
  const out = await vs.finish();
  ctx.recorder.complete({ volumeCount: 1, volumes: [], files: st.scan.files, bytes: st.scan.bytes, structureSha256: st.sha256 });
  const lines = (await readFile(join(out[0]?.path as string, VOLUME_CATALOG), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return lines.slice(1, -1);
}

describe('storeFiles', () => {
  const fx = withFixture();

  it('stores every file of a full backup, one catalog line and one index row each', async () => {
    const ctx = await fx().context();
    const lines = await store(ctx);
    assert.deepEqual(lines.map((l) => [l.path, l.size, l.backup]), [['src/a', 5, undefined], ['src/sub/b', 3, undefined]]);
    assert.deepEqual([ctx.recorder.storedFiles, ctx.recorder.storedBytes, ctx.recorder.unchangedFiles], [2, 8, 0]);
    const row = ctx.index.backup(ctx.backupId)?.rowid as number;
    assert.equal(ctx.index.lookup(row, 'src/sub/b')?.blob?.sha256, lines[1]?.sha256);
  });

  it('an incremental refers to the unchanged files and stores the changed one', async () => {
    await writeFile(join(fx().tree, 'sub', 'b'), 'abcd');
    const ctx = await fx().context();
    assert.equal(ctx.plan.kind, 'incremental');
    const lines = await store(ctx);
    assert.deepEqual(lines.map((l) => [l.path, l.size, l.backup === undefined ? 'stored' : 'ref']), [['src/a', 5, 'ref'], ['src/sub/b', 4, 'stored']]);
    assert.deepEqual([ctx.recorder.storedFiles, ctx.recorder.unchangedFiles, ctx.recorder.skippedFiles], [1, 1, 0]);
  });

  it('stops at once when the signal is aborted', async () => {
    const ctx = await fx().context({ signal: AbortSignal.abort() });
    await assert.rejects(store(ctx), (e: unknown) => e instanceof Error && e.name === 'AbortError');
  });

  it('tells progress once for a few files: at the end', async () => {
    const seen: number[][] = [];
    const ctx = await fx().context({ onProgress: (p) => p.phase === 'pack' && seen.push([p.files, p.totalFiles]) });
    await store(ctx);
    assert.deepEqual(seen, [[2, 2]]);
  });

  it('storedLine names the method as the catalog does', () => {
    const e = { path: 'p', type: 'file' as const, mode: 0, uid: 0, gid: 0, mtimeNs: 0n, size: 1 };
    assert.equal(storedLine(e, { size: 1, sha256: 's', crc32: 1, method: 0, changed: false }, []).method, 'store');
    assert.equal(storedLine(e, { size: 1, sha256: 's', crc32: 1, method: 8, changed: false }, []).method, 'deflate');
  });
});

describe('storeFiles progress', () => {
  const fx = withFixture();

  it('is told every 64 small files and at the end, not per file', async () => {
    for (let i = 0; i < 130; i++) await writeFile(join(fx().tree, `f${String(i).padStart(3, '0')}`), `${i}`);
    const seen: number[] = [];
    const ctx = await fx().context({ onProgress: (p) => p.phase === 'pack' && seen.push(p.files) });
    await store(ctx);
    assert.deepEqual(seen, [64, 128, 132]);
  });
});
