/**
 * End to end: the real CLI packs the nasty tree and unpacks it, and everything xtar promises to keep
 * comes back — bytes, modes, owners (as root), times (to the microsecond), empty folders, symlinks,
 * hard links, FIFOs, long and Unicode names, a read-only folder, a sparse 300 MiB file and a 40 MiB
 * random one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xtar } from '../helpers/cli.js';
import { diffSnapshots, makeNastyTree, removeTree, snapshot, tempDir } from '../helpers/tree.js';
import { recordLines, sealedRecord } from '../helpers/records.js';

describe('pack → unpack round trip (nasty tree)', () => {
  let work: string;
  let src: string;

  before(async () => {
    work = await tempDir();
    src = await makeNastyTree(join(work, 'in'), { big: true }).catch(async (e: unknown) => {
      throw e;
    });
  });
  after(async () => {
    await removeTree(work);
  });

  it('restores every property, byte-identical', async () => {
    const set = join(work, 'set');
    const pack = await xtar(['pack', src, '--out', set, '--json']);
    assert.equal(pack.stderr.includes('socket'), false);
    assert.equal(pack.status, 0, pack.stderr);
    const info = JSON.parse(pack.stdout) as { files: number; volumes: { path: string }[]; skipped: unknown[] };
    assert.deepEqual(info.skipped, []);
    assert.equal(info.volumes.length, 1);

    const dest = join(work, 'out');
    const un = await xtar(['unpack', set, '--dest', dest, '--json']);
    assert.equal(un.status, 0, un.stderr);
    const before = await snapshot(src);
    const afterSnap = await snapshot(join(dest, 'nasty'));
    assert.deepEqual(diffSnapshots(before, afterSnap), []);

    // The sparse file came back with holes, not 300 MiB of allocated zeros.
    const sparse = await lstat(join(dest, 'nasty/big/sparse.img'));
    assert.equal(sparse.size, 300 * 1024 * 1024);
    assert.ok(sparse.blocks * 512 < 1024 * 1024, `sparse file allocates ${sparse.blocks * 512} bytes`);
    // The volume folder holds exactly the promised files.
    const vol = info.volumes[0]?.path as string;
    assert.deepEqual((await readdir(vol)).sort(), ['README.txt', 'catalog.jsonl', `${vol.split('/').at(-1)}.xtar`, 'structure.jsonl', 'volume.json'].sort());
  });

  it('records mtimes to the nanosecond in the structure record', async () => {
    const set = join(work, 'set-ns');
    const pack = await xtar(['pack', src, '--out', set, '--json', '--exclude', 'big']);
    assert.equal(pack.status, 0, pack.stderr);
    const vol = (JSON.parse(pack.stdout) as { volumes: { path: string }[] }).volumes[0]?.path as string;
    const text = await readFile(join(vol, 'structure.jsonl'), 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const byPath = new Map(lines.map((l) => [l.path, l]));
    assert.equal(byPath.get('nasty/hello.txt')?.mtime, '1700000000.123456789');
    assert.equal(byPath.get('nasty/text.txt')?.mtime, '315532799.999999999');
    assert.equal(byPath.get('nasty/random.bin')?.mtime, '86400.000000001');
    assert.equal(byPath.get('nasty/links/relative')?.mtime, '1600000000.000000005');
    assert.equal(byPath.get('nasty/readonly')?.mode, '0555');
    assert.equal(byPath.get('nasty/setuid-prog')?.mode, '4755');
    assert.equal(byPath.get('nasty/hard/two')?.type, 'hardlink');
    assert.equal(byPath.get('nasty/hard/two')?.target, 'nasty/hard/one');
    assert.equal(byPath.get('nasty/fifo')?.type, 'fifo');
    assert.equal(byPath.has('nasty/big'), false, '--exclude big left the folder out');
    assert.equal(sealedRecord(recordLines(text)), text, 'the trailer counts the entries and carries the digest of the lines before it');
  });
});
