/**
 * Unpack is a security boundary: hostile archives built here try to write outside --dest (.., absolute
 * names, a zip whose inner name lies, a symlink on the way, hard links out, structure records that
 * plant a symlink and then write through it), to exhaust the stack (nesting), or are simply garbage.
 * Each must be refused and listed, the rest restored, exit status 1 (or 2 for unreadable input), and
 * nothing may appear outside --dest. Never a stack trace.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, symlink, utimes, writeFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeHeader, endOfArchive, paddingLength } from '../../src/format/tar.js';
import { encodeZipBlob } from '../../src/format/zip.js';
import { encodeStructureEntry, encodeStructureHeader, encodeTrailer } from '../../src/format/records.js';
import { POOL_MIN_BYTES } from '../../src/unpack/extract-pool.js';
import { xtar, type CliResult } from '../helpers/cli.js';
import { diffSnapshots, removeTree, seededBytes, snapshot, tempDir } from '../helpers/tree.js';
import { resealManifest, sealedRecord } from '../helpers/records.js';

interface TarEntry {
  name: string;
  data: Buffer;
  typeflag?: string;
}

/** A tar of these entries, exactly as named (no checks: that is the point). */
function tarOf(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const h = encodeHeader({ name: e.name, size: e.data.length, mtimeSec: 0 });
    if (e.typeflag !== undefined) setTypeflag(h, e.typeflag);
    parts.push(h, e.data, Buffer.alloc(paddingLength(e.data.length)));
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}

/** Change the typeflag of the (last) ustar block of a header and fix its checksum. */
function setTypeflag(header: Buffer, flag: string): void {
  const block = header.subarray(header.length - 512);
  block.write(flag, 156, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

function zip(name: string, data: string | Buffer): Buffer {
  return encodeZipBlob(name, Buffer.from(data), { level: 6, mtimeSec: 0, mode: 0o644 }).blob;
}

/** Replace the inner name of a zip (same length) in both headers, keeping it otherwise valid. */
function renameInside(blob: Buffer, from: string, to: string): Buffer {
  assert.equal(Buffer.byteLength(from), Buffer.byteLength(to));
  const out = Buffer.from(blob);
  let at = out.indexOf(from);
  while (at >= 0) {
    out.write(to, at);
    at = out.indexOf(from, at + 1);
  }
  return out;
}

function noStackTrace(r: CliResult): void {
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, `stack trace on stderr:\n${r.stderr}`);
}

describe('hostile archives', () => {
  let work: string;
  let outside: string;

  before(async () => {
    work = await tempDir();
    outside = join(work, 'outside');
    await mkdir(outside);
  });
  after(async () => {
    await removeTree(work);
  });

  async function unpackArchive(name: string, archive: Buffer, prepare?: (dest: string) => Promise<void>): Promise<{ r: CliResult; dest: string }> {
    const file = join(work, `${name}.xtar`);
    await writeFile(file, archive);
    const dest = join(work, `dest-${name}`);
    await mkdir(dest);
    if (prepare) await prepare(dest);
    const r = await xtar(['unpack', file, '--dest', dest]);
    noStackTrace(r);
    assert.deepEqual(await readdir(outside), [], 'nothing was written outside --dest');
    return { r, dest };
  }

  it('refuses .. and absolute names at every level, restores the rest', async () => {
    const inner = tarOf([
      { name: '../escape.zip', data: zip('escape', 'x') },
      { name: '../.xtar', data: endOfArchive() },
      { name: 'ok.txt.zip', data: zip('ok.txt', 'fine\n') },
      { name: 'a/b/.xtar', data: endOfArchive() },
    ]);
    const top = tarOf([
      { name: 'root/.xtar', data: inner },
      { name: `${outside}/abs.zip`, data: zip('abs', 'x') },
      { name: '../../top.zip', data: zip('top', 'x') },
    ]);
    const { r, dest } = await unpackArchive('dotdot', top);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(await readFile(join(dest, 'root/ok.txt'), 'utf8'), 'fine\n');
    for (const bad of ['../escape.zip', '../.xtar', 'a/b/.xtar', 'abs.zip', '../../top.zip']) assert.ok(r.stderr.includes(bad), `lists ${bad}:\n${r.stderr}`);
    await assert.rejects(stat(join(work, 'escape')));
  });

  it('refuses a zip whose inner name is not the tar entry name minus .zip', async () => {
    const lying = renameInside(zip('safename.txt', 'evil'), 'safename.txt', '../escape.tx');
    const other = zip('other.txt', 'swapped');
    const inner = tarOf([
      { name: 'safename.txt.zip', data: lying },
      { name: 'innocent.txt.zip', data: other },
      { name: 'good.txt.zip', data: zip('good.txt', 'good') },
    ]);
    const { r, dest } = await unpackArchive('inner-name', tarOf([{ name: 'root/.xtar', data: inner }]));
    assert.equal(r.status, 1);
    assert.deepEqual((await readdir(join(dest, 'root'))).sort(), ['good.txt']);
    assert.match(r.stderr, /root\/safename\.txt: Zip blob: the name "\.\.\/escape\.tx" holds a path separator\./);
    assert.match(r.stderr, /root\/innocent\.txt: Refused root\/innocent\.txt\.zip: the zip inside holds "other\.txt", not the name its tar entry gives\./);
    await assert.rejects(stat(join(dest, 'escape.tx')));
  });

  it('never writes through a symlink already in --dest', async () => {
    const inner = tarOf([{ name: 'planted.txt.zip', data: zip('planted.txt', 'through the link') }]);
    const { r } = await unpackArchive('through-symlink', tarOf([{ name: 'root/.xtar', data: inner }]), async (dest) => {
      await symlink(outside, join(dest, 'root'));
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /xtar: root: Refused root: it would be written through the symlink \S*dest-through-symlink\/root\./);
  });

  it('refuses tar symlink, hard link and device entries', async () => {
    const inner = tarOf([
      { name: 'link.zip', data: Buffer.alloc(0), typeflag: '2' },
      { name: 'hard.zip', data: Buffer.alloc(0), typeflag: '1' },
      { name: 'dev.zip', data: Buffer.alloc(0), typeflag: '3' },
      { name: 'kept.txt.zip', data: zip('kept.txt', 'kept') },
    ]);
    const { r, dest } = await unpackArchive('typeflags', tarOf([{ name: 'root/.xtar', data: inner }]));
    assert.equal(r.status, 1);
    assert.deepEqual(await readdir(join(dest, 'root')), ['kept.txt']);
  });

  it('bounds nesting depth without crashing', async () => {
    // 2100 levels of d/.xtar, built from the inside out in one pass: headers, the bottom tar, end blocks.
    const bottom = tarOf([{ name: 'bottom.txt.zip', data: zip('bottom.txt', 'deep') }]);
    const levels = 2100;
    const headers: Buffer[] = [];
    let size = bottom.length;
    for (let i = 0; i < levels; i++) {
      headers.push(encodeHeader({ name: 'd/.xtar', size, mtimeSec: 0 }));
      size += 512 + 1024;
    }
    headers.reverse();
    const nested = Buffer.concat([...headers, bottom, ...Array.from({ length: levels }, () => endOfArchive())]);
    const { r } = await unpackArchive('deep', tarOf([{ name: 'root/.xtar', data: nested }]));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /deeper than 2048/);
  });

  it('a zip that inflates beyond its declared size is damaged, not written', async () => {
    const big = zip('bomb.txt', Buffer.alloc(1_000_000));
    // Lower the declared size to 10 bytes in both headers (local at 22, central after the data).
    const bomb = Buffer.from(big);
    bomb.writeUInt32LE(10, 22);
    const cd = bomb.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bomb.writeUInt32LE(10, cd + 24);
    const inner = tarOf([{ name: 'bomb.txt.zip', data: bomb }, { name: 'fine.txt.zip', data: zip('fine.txt', 'fine') }]);
    const { r, dest } = await unpackArchive('bomb', tarOf([{ name: 'root/.xtar', data: inner }]));
    assert.equal(r.status, 1);
    assert.deepEqual(await readdir(join(dest, 'root')), ['fine.txt']);
    assert.match(r.stderr, /root\/bomb\.txt: The compressed data of zip blob "bomb\.txt" is damaged/);
  });

  it('a path named twice, a file then a folder of its name, a folder then a file: the same with the worker pool as on one thread', async () => {
    // The pool starts for archives of POOL_MIN_BYTES: the same entries run once after 150 files that
    // make the archive that large (by the pool) and once alone (on the main thread); files, problems
    // and their order must not differ.
    const damaged = zip('bad.txt', 'bytes that will not match their CRC');
    damaged.writeUInt32LE(damaged.readUInt32LE(14) ^ 1, 14);
    const cd = damaged.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    damaged.writeUInt32LE(damaged.readUInt32LE(cd + 16) ^ 1, cd + 16);
    const conflicts: TarEntry[] = [
      { name: 'dup.txt.zip', data: zip('dup.txt', 'first') },
      { name: 'dup.txt.zip', data: zip('dup.txt', 'second') },
      { name: 'x.zip', data: zip('x', 'x is a file') },
      { name: 'x/.xtar', data: tarOf([{ name: 'inner.txt.zip', data: zip('inner.txt', 'inner') }]) },
      { name: 'z/.xtar', data: tarOf([{ name: 'in-z.txt.zip', data: zip('in-z.txt', 'in z') }]) },
      { name: 'z.zip', data: zip('z', 'z is a file') },
      { name: 'bad.txt.zip', data: damaged },
      { name: 'late.txt.zip', data: zip('late.txt', 'late') },
    ];
    const fillerSize = Math.ceil(POOL_MIN_BYTES / 150);
    const fillers: TarEntry[] = Array.from({ length: 150 }, (_, i) => ({ name: `f${i}.zip`, data: zip(`f${i}`, seededBytes(i, fillerSize)) }));
    const alone = await unpackArchive('conflicts-alone', tarOf([{ name: 'root/.xtar', data: tarOf(conflicts) }]));
    const pooled = await unpackArchive('conflicts-pooled', tarOf([{ name: 'root/.xtar', data: tarOf([...fillers, ...conflicts]) }]));
    for (const { r, dest } of [alone, pooled]) {
      assert.equal(r.status, 1, r.stderr);
      assert.equal(await readFile(join(dest, 'root/dup.txt'), 'utf8'), 'second');
      assert.equal(await readFile(join(dest, 'root/x'), 'utf8'), 'x is a file');
      assert.equal(await readFile(join(dest, 'root/z/in-z.txt'), 'utf8'), 'in z');
      assert.equal(await readFile(join(dest, 'root/late.txt'), 'utf8'), 'late');
      await assert.rejects(stat(join(dest, 'root/bad.txt')));
    }
    // (Less the note that the archive holds no structure record, which names the archive.)
    const problems = (x: { r: CliResult; dest: string }): string[] => x.r.stderr.split(x.dest).join('DEST').split('\n').filter((l) => l.startsWith('xtar: root/'));
    assert.deepEqual(problems(pooled), problems(alone));
    assert.deepEqual(
      problems(alone).map((l) => l.slice(0, l.indexOf(': ', 6))),
      ['xtar: root/x', 'xtar: root/x', 'xtar: root/z', 'xtar: root/bad.txt'],
      alone.r.stderr,
    );
    assert.equal((await readdir(join(pooled.dest, 'root'))).length, 150 + 4);
  });

  it('a structure record that names a file twice, puts a symlink in a file\'s place, lists a missing file and a folder as a file: the same with the worker pool as on one thread', async () => {
    // The files' metadata is set by the pool's threads when the archive is large enough: one tree
    // with a filler of POOL_MIN_BYTES (pooled), one with a tiny filler (alone); the same hostile
    // lines are added to both structure records. Final trees and problems (and their order) must match.
    const restoreOf = async (name: string, fillerBytes: number): Promise<{ r: CliResult; dest: string }> => {
      const src = join(work, `meta-src-${name}`);
      await mkdir(join(src, 'root/sub'), { recursive: true });
      for (let i = 0; i < 40; i++) await writeFile(join(src, `root/sub/f${i}.txt`), `file ${i}\n`);
      await writeFile(join(src, 'root/dup.txt'), 'dup\n');
      await writeFile(join(src, 'root/link-me.txt'), 'soon a symlink\n');
      await writeFile(join(src, 'root/filler.bin'), seededBytes(3, fillerBytes));
      // The same times in both trees (folders last: writing into them changed theirs).
      for (const p of [...(await readdir(join(src, 'root/sub'))).map((n) => `root/sub/${n}`), 'root/dup.txt', 'root/link-me.txt', 'root/filler.bin', 'root/sub', 'root']) {
        await utimes(join(src, p), 1_700_000_000, 1_700_000_000);
      }
      const set = join(work, `meta-set-${name}`);
      const packed = await xtar(['pack', join(src, 'root'), '--out', set, '--quiet']);
      assert.equal(packed.status, 0, packed.stderr);
      const vol = join(set, (await readdir(set)).find((n) => n.endsWith('-vol001')) as string);
      const lines = (await readFile(join(vol, 'structure.jsonl'), 'utf8')).trimEnd().split('\n');
      const time = { uid: 0, gid: 0, mtimeNs: 1_600_000_000_123_456_789n };
      const hostile = [
        { path: 'root/dup.txt', type: 'file' as const, mode: 0o600, size: 4, ...time },
        { path: 'root/dup.txt', type: 'file' as const, mode: 0o640, size: 4, ...time, mtimeNs: 1_500_000_000_000_000_000n },
        // (The file's metadata is still queued when its symlink line comes.)
        { path: 'root/link-me.txt', type: 'file' as const, mode: 0o600, size: 15, ...time },
        { path: 'root/link-me.txt', type: 'symlink' as const, mode: 0o777, target: 'dup.txt', ...time },
        { path: 'root/gone.txt', type: 'file' as const, mode: 0o644, size: 1, ...time },
        { path: 'root/sub', type: 'file' as const, mode: 0o644, size: 1, ...time },
        { path: 'root/sub/f7.txt', type: 'file' as const, mode: 0o444, size: 7, ...time },
      ].map(encodeStructureEntry);
      // Sealed as a forger would, volume.json's digest of it too: the record checks and is this volume's, so it is the one applied.
      await writeFile(join(vol, 'structure.jsonl'), sealedRecord([...lines.slice(0, -1), ...hostile]));
      await resealManifest(vol);
      const dest = join(work, `meta-dest-${name}`);
      const r = await xtar(['unpack', set, '--dest', dest]);
      noStackTrace(r);
      return { r, dest };
    };
    const pooled = await restoreOf('pooled', POOL_MIN_BYTES);
    const alone = await restoreOf('alone', 10);
    for (const { r } of [alone, pooled]) assert.equal(r.status, 1, r.stderr);
    const problems = (x: { r: CliResult; dest: string }): string[] => x.r.stderr.split('\n').filter((l) => l.startsWith('xtar: root/'));
    assert.deepEqual(problems(pooled), problems(alone));
    assert.deepEqual(
      problems(alone).map((l) => l.slice(0, l.indexOf(': ', 6))),
      ['xtar: root/gone.txt', 'xtar: root/sub'],
      alone.r.stderr,
    );
    const [a, b] = [await snapshot(join(alone.dest, 'root')), await snapshot(join(pooled.dest, 'root'))];
    assert.deepEqual(diffSnapshots(a, b, (path) => path === 'filler.bin'), []);
    assert.equal(a.get('dup.txt')?.mode, 0o640, 'the later line wins');
    assert.equal(a.get('dup.txt')?.mtimeUs, 1_500_000_000_000_000n);
    assert.equal(a.get('link-me.txt')?.type, 'symlink');
    assert.equal(a.get('sub/f7.txt')?.mode, 0o444);
  });

  it('garbage and truncated input: a clear message, exit 1 or 2, no crash', async () => {
    const garbage = await unpackArchive('garbage', seededBytes(7, 100_000));
    assert.ok(garbage.r.status === 1 || garbage.r.status === 2, garbage.r.stderr);
    assert.match(garbage.r.stderr, /garbage\.xtar: the archive is damaged at byte 0: not a tar header \(no ustar magic\)/);
    const empty = await unpackArchive('empty', Buffer.alloc(0));
    assert.ok(empty.r.status === 1 || empty.r.status === 2, empty.r.stderr);
    assert.match(empty.r.stderr, /empty\.xtar: the archive is damaged at byte 0: the tar ends without its end-of-archive blocks/);
    const ok = tarOf([{ name: 'root/.xtar', data: tarOf([{ name: 'a.txt.zip', data: zip('a.txt', 'a') }, { name: 'b.txt.zip', data: zip('b.txt', seededBytes(3, 5000)) }]) }]);
    const cut = await unpackArchive('truncated', ok.subarray(0, 1700));
    assert.equal(cut.r.status, 1, cut.r.stderr);
    assert.match(cut.r.stderr, /xtar: root: the archive is cut short inside this folder; what it holds up to the cut is restored/);
    assert.match(cut.r.stderr, /truncated\.xtar: the archive is damaged at byte 1700: the tar ends without its end-of-archive blocks/);
    assert.equal(await readFile(join(cut.dest, 'root/a.txt'), 'utf8'), 'a');
  });

  it('a missing input or a non-archive is a usage-level error (exit 2, one sentence)', async () => {
    const r = await xtar(['unpack', join(work, 'no-such-set'), '--dest', join(work, 'd')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^xtar: \S*\/no-such-set does not exist\.$/m);
    noStackTrace(r);
    const bad = await xtar(['pack']);
    assert.equal(bad.status, 2);
    // pack's sources may also come from --config (sources:), so pack says itself what it lacks.
    assert.match(bad.stderr, /^xtar: Name the folder\(s\) to back up, e\.g\. `xtar pack ~\/photos --out \/media\/backup`/m);
    noStackTrace(bad);
  });
});

describe('hostile structure records (expand-structure)', () => {
  let work: string;
  let outside: string;

  before(async () => {
    work = await tempDir();
    outside = join(work, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 'do not touch');
  });
  after(async () => {
    await removeTree(work);
  });

  async function expand(lines: string[]): Promise<{ r: CliResult; dest: string }> {
    const file = join(work, `structure-${Math.random().toString(36).slice(2)}.jsonl`);
    await writeFile(file, [encodeStructureHeader({ backup: 'b', root: 'root', created: 'c' }), ...lines, encodeTrailer(lines.length)].join('\n') + '\n');
    const dest = join(work, `dest-${Math.random().toString(36).slice(2)}`);
    await mkdir(dest);
    const r = await xtar(['expand-structure', file, '--dest', dest]);
    noStackTrace(r);
    assert.deepEqual((await readdir(outside)).sort(), ['secret']);
    assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'do not touch');
    assert.equal(((await stat(join(outside, 'secret'))).mode & 0o777), 0o644);
    return { r, dest };
  }

  const meta = { mode: 0o777, uid: 0, gid: 0, mtimeNs: 0n };

  it('a planted symlink cannot be written through, chmod-ed through or linked through', async () => {
    const { r, dest } = await expand([
      encodeStructureEntry({ ...meta, path: 'root', type: 'dir', mode: 0o755 }),
      encodeStructureEntry({ ...meta, path: 'root/link', type: 'symlink', target: outside }),
      encodeStructureEntry({ ...meta, path: 'root/link/sub', type: 'dir' }),
      encodeStructureEntry({ ...meta, path: 'root/link/secret', type: 'file', size: 1, mode: 0o777 }),
      encodeStructureEntry({ ...meta, path: 'root/link/fifo', type: 'fifo' }),
      encodeStructureEntry({ path: 'root/hard', type: 'hardlink', target: 'root/link/secret', mode: 0, uid: 0, gid: 0, mtimeNs: 0n }),
      encodeStructureEntry({ ...meta, path: 'root/to-secret', type: 'symlink', target: join(outside, 'secret') }),
      encodeStructureEntry({ path: 'root/hard2', type: 'hardlink', target: 'root/to-secret', mode: 0, uid: 0, gid: 0, mtimeNs: 0n }),
    ]);
    assert.equal(r.status, 1, r.stderr);
    assert.equal((await lstat(join(dest, 'root/link'))).isSymbolicLink(), true);
    await assert.rejects(lstat(join(dest, 'root/hard')));
    await assert.rejects(lstat(join(dest, 'root/hard2')));
    for (const p of ['root/link/sub', 'root/link/secret', 'root/link/fifo', 'root/hard', 'root/hard2']) assert.ok(r.stderr.includes(p), `lists ${p}:\n${r.stderr}`);
  });

  it('lines with .. or absolute paths are refused', async () => {
    const { r } = await expand([
      encodeStructureEntry({ ...meta, path: 'root', type: 'dir', mode: 0o755 }),
      '{"path":"../outside/secret","type":"file","mode":"0777","uid":0,"gid":0,"mtime":"0.000000000","size":1}',
      `{"path":"${outside}/secret","type":"file","mode":"0777","uid":0,"gid":0,"mtime":"0.000000000","size":1}`,
      '{"path":"root/h","type":"hardlink","target":"../outside/secret"}',
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /path "\.\.\/outside\/secret" is not a safe relative path\./);
    assert.match(r.stderr, new RegExp(`path "${outside}/secret" is not a safe relative path\\.`));
  });
});
