import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { StructureEntry } from '../../src/format/records.js';
import { compileExcludes } from '../../src/scan/excludes.js';
import { scanTree, type ScanOptions, type ScanResult } from '../../src/scan/scan.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const OLD = new Date('2001-02-03T04:05:06Z');
const BAD = Buffer.from([0xff]);

async function scan(src: string, opts?: ScanOptions): Promise<{ seen: StructureEntry[]; r: ScanResult }> {
  const seen: StructureEntry[] = [];
  const r = await scanTree(src, (e) => void seen.push(e), opts);
  return { seen, r };
}

const listed = (seen: StructureEntry[]): string[] => seen.map((e) => `${e.type}:${e.path}`);

describe('scanTree, case by case', () => {
  let work: string;
  let src: string;
  let server: Server;
  before(async () => {
    work = await tempDir();
    src = join(work, 'src');
    await mkdir(join(src, 'a'), { recursive: true });
    await mkdir(join(src, 'm/build'), { recursive: true });
    await mkdir(join(src, 'x.zip'));
    await mkdir(join(src, 'y.zip.001'));
    await mkdir(join(src, 'w.zip'));
    await writeFile(join(src, 'a/two'), 'linked');
    await link(join(src, 'a/two'), join(src, 'm/one'));
    await writeFile(join(src, 'm/build/out'), 'built');
    await writeFile(join(src, 'm/old'), 'old!');
    await utimes(join(src, 'm/old'), OLD, OLD);
    await writeFile(join(src, 'x'), 'x');
    await writeFile(join(src, 'y'), 'y');
    await writeFile(join(src, 'z'), 'z');
    await writeFile(join(src, 'z.zip'), 'a file, not a folder');
    await symlink(Buffer.concat([Buffer.from('to-'), BAD]), join(src, 'badlink'));
    // A folder whose name is not UTF-8: skipped, and nothing below it is walked.
    const badDir = Buffer.concat([Buffer.from(join(src, 'dir-')), BAD]);
    await mkdir(badDir);
    await writeFile(Buffer.concat([badDir, Buffer.from('/inside')]), 'hidden');
    server = createServer();
    await new Promise<void>((ok) => server.listen(join(src, 'sock'), ok));
  });
  after(async () => {
    await new Promise<void>((ok) => server.close(() => ok()));
    await removeTree(work);
  });

  it('a second name of one inode becomes a hardlink entry to the first name met, counted once', async () => {
    const { seen, r } = await scan(src);
    const one = seen.find((e) => e.path === 'src/m/one');
    assert.equal(one?.type, 'hardlink');
    assert.equal(one?.target, 'src/a/two');
    assert.equal(seen.find((e) => e.path === 'src/a/two')?.type, 'file');
    assert.equal(r.files, 7); // a/two, m/build/out, m/old, x, y, z, z.zip
    assert.equal(r.bytes, 6 + 5 + 4 + 1 + 1 + 1 + 20);
  });

  it('skips a name or a symlink target that is not UTF-8, and a socket, each with its sentence', async () => {
    const { seen, r } = await scan(src);
    // A socket is a skipped file like any other (README: skipped → exit 1), not merely "ignored".
    assert.deepEqual(r.skipped, [
      { path: 'src/badlink', reason: 'symlink target is not valid UTF-8' },
      { path: 'src/dir-\ufffd', reason: 'name is not valid UTF-8' },
      { path: 'src/sock', reason: 'a socket cannot be stored' },
    ]);
    assert.deepEqual(r.ignored, []);
    const paths = seen.map((e) => e.path);
    for (const p of ['src/badlink', 'src/dir-\ufffd', 'src/dir-\ufffd/inside', 'src/sock']) assert.ok(!paths.includes(p), p);
    assert.equal(r.entries, seen.length);
  });

  it('leaves out the one folder named by leaveOut (by device and inode), not another of its name, and notes it', async () => {
    const tree = join(work, 'with-set');
    await mkdir(join(tree, 'set/vol'), { recursive: true });
    await mkdir(join(tree, 'docs/set'), { recursive: true });
    await writeFile(join(tree, 'set/vol/a'), 'a');
    await writeFile(join(tree, 'docs/set/b'), 'b');
    const { seen, r } = await scan(tree, { leaveOut: { path: join(tree, 'set'), reason: 'the set is left out' } });
    assert.deepEqual(listed(seen), ['dir:with-set', 'dir:with-set/docs', 'dir:with-set/docs/set', 'file:with-set/docs/set/b']);
    assert.deepEqual(r.ignored, [{ path: 'with-set/set', reason: 'the set is left out' }]);
    assert.deepEqual(r.skipped, []);
    // A folder that does not exist leaves nothing out; the source itself cannot be the folder left out.
    assert.equal((await scan(tree, { leaveOut: { path: join(work, 'nowhere'), reason: 'x' } })).seen.length, 7);
    await assert.rejects(scan(tree, { leaveOut: { path: tree, reason: 'x' } }), /is the set itself/);
  });

  it('--changed-since leaves old leaves out but keeps every folder', async () => {
    const all = await scan(src);
    const since = await scan(src, { changedSinceNs: BigInt(OLD.getTime() + 1000) * 1_000_000n });
    assert.deepEqual(
      listed(since.seen),
      listed(all.seen).filter((l) => l !== 'file:src/m/old'),
    );
    assert.equal(since.r.dirs, all.r.dirs);
    assert.equal(since.r.files, all.r.files - 1);
    assert.equal(since.r.bytes, all.r.bytes - 4);
    const none = await scan(src, { changedSinceNs: BigInt(Date.now() + 86_400_000) * 1_000_000n });
    assert.ok(none.seen.every((e) => e.type === 'dir'));
    assert.equal(none.seen.length, all.r.dirs);
  });

  it('a file whose blob name is a sibling folder (x.zip, y.zip.001) takes the short form; others do not', async () => {
    const { r } = await scan(src);
    // z.zip is a file, not a folder; w.zip has no file w beside it.
    assert.deepEqual([...r.shortBlobs].sort(), ['src/x', 'src/y']);
  });

  it('excludes a pattern without "/" by name at any depth, one with "/" by the path below the source', async () => {
    const byName = await scan(src, { exclude: ['build', 'x*'] });
    assert.deepEqual(
      listed(byName.seen).filter((l) => /build|\/x/.test(l)),
      [],
    );
    assert.ok(byName.seen.some((e) => e.path === 'src/m/old'));
    // No file x: no short blob for it any more.
    assert.deepEqual([...byName.r.shortBlobs], ['src/y']);
    const byPath = await scan(src, { exclude: ['./m/build/', 'old'] });
    const paths = byPath.seen.map((e) => e.path);
    assert.ok(!paths.includes('src/m/build') && !paths.includes('src/m/build/out'));
    assert.ok(!paths.includes('src/m/old'));
    const anchored = await scan(src, { exclude: ['build/out'] }); // the path below the source is m/build/out
    assert.ok(anchored.seen.some((e) => e.path === 'src/m/build/out'));
    const m = compileExcludes(['*.o', 'b/*.o']);
    assert.equal(m('deep/er/x.o', 'x.o'), true);
    const p = compileExcludes(['b/*.c', '.git']);
    assert.equal(p('b/x.c', 'x.c'), true);
    assert.equal(p('c/b/x.c', 'x.c'), false); // a path pattern is anchored at the source
    assert.equal(p('deep/.git', '.git'), true);
    assert.equal(compileExcludes([])('anything', 'anything'), false);
  });

  it('a single file as the source is one entry of type file', async () => {
    const { seen, r } = await scan(join(src, 'x'));
    assert.deepEqual(listed(seen), ['file:x']);
    assert.equal(r.rootType, 'file');
    assert.equal(r.rootBound > 0, true);
  });
});
