import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resultOf } from '../../src/pack/compress.js';
import { storedLine } from '../../src/pack/store-files.js';
import { fileJob, Lookahead, mtimeSeconds, type Item } from '../../src/pack/lookahead.js';
import { writeStructure } from '../../src/pack/write-structure.js';
import type { PackContext } from '../../src/pack/context.js';
import { withFixture } from './context-fixture.js';

async function items(ctx: PackContext): Promise<string[]> {
  const st = await writeStructure(ctx);
  assert.ok(st.entries !== null);
  const fromRecord = await itemsOf(new Lookahead(ctx, st.path, new Map(st.early)));
  const fromMemory = await itemsOf(new Lookahead(ctx, st.path, st.early, st.entries));
  assert.deepEqual(fromMemory, fromRecord, 'the entries kept in memory and the record read back give the same items');
  return fromMemory;
}

async function itemsOf(q: Lookahead): Promise<string[]> {
  q.start();
  const out: string[] = [];
  for (;;) {
    q.fill();
    const item: Item | undefined = q.next();
    if (item === undefined) return out;
    out.push(item.kind === 'exit' ? 'exit' : `${item.kind} ${item.e.path}`);
    if (item.kind === 'small') assert.ok((await resultOf(item.ticket)).ok);
  }
}

describe('Lookahead', () => {
  const fx = withFixture();

  it('turns the structure record into folder enters and exits and files to compress', async () => {
    assert.deepEqual(await items(await fx().context()), ['enter src', 'small src/a', 'enter src/sub', 'small src/sub/b', 'exit', 'exit']);
  });

  it('refers to an unchanged file of the base instead of compressing it', async () => {
    const base = await fx().context();
    base.recorder.begin({ id: base.backupId, kind: 'full', base: null, source: fx().tree, root: 'src', created: base.createdIso });
    const a = { path: 'src/a', type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtimeNs: 1_700_000_000_000_000_000n, size: 5 };
    const b = { ...a, path: 'src/sub/b', size: 99 };
    for (const e of [a, b]) base.recorder.stored(e, storedLine(e, { size: e.size, sha256: 'f'.repeat(64), crc32: 0, method: 8, changed: false }, [{ volume: 1, offset: 512, length: 9 }]), e.size);
    base.recorder.complete({ volumeCount: 1, volumes: [{ number: 1, bytes: 1, files: 2 }], files: 2, bytes: 104, structureSha256: 'x' });
    const ctx = await fx().context();
    assert.equal(ctx.plan.kind, 'incremental');
    assert.deepEqual(await items(ctx), ['enter src', 'ref src/a', 'enter src/sub', 'small src/sub/b', 'exit', 'exit']);
  });

  it('makes compression jobs with the file\'s path, seconds and earlier copy', () => {
    const e = { path: 'src/sub/b', type: 'file' as const, mode: 0o600, uid: 0, gid: 0, mtimeNs: -1_500_000_000n, size: 3 };
    assert.deepEqual(fileJob('/t/src', e, null), { abs: '/t/src/sub/b', name: 'b', size: 3, mtimeSec: -2, mode: 0o600 });
    assert.equal(mtimeSeconds(2_999_999_999n), 2);
  });
});
