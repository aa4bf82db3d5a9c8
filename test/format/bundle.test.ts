/** Bundles (docs/FORMAT.md, "Bundles"): the multi-entry zip, its members read alone, found by their headers, and their names and catalog lines. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { bundleEntryName, classifyEntryName, isBundleName } from '../../src/format/names.js';
import { decodeCatalogLine, encodeCatalogLine, type CatalogFile } from '../../src/format/records.js';
import { bundleMembers, decodeZipBlob, encodeBundle, encodeZipBlob, memberAsBlob } from '../../src/format/zip.js';

function blobs(files: [string, Buffer][]): Buffer[] {
  return files.map(([name, data], i) => encodeZipBlob(name, data, { level: 6, mtimeSec: 1763881500 + 2 * i, mode: 0o640 }).blob);
}

const FILES: [string, Buffer][] = [
  ['a.txt', Buffer.from('hi\n')],
  ['b b', Buffer.from('x'.repeat(300))],
  ['ünïcode', Buffer.alloc(0)],
  ['z.zip', Buffer.from('not a zip at all\n')],
];

describe('bundles', () => {
  it('each member read alone by its range is its file, with the blob it would have had', () => {
    const bs = blobs(FILES);
    const { bundle, ranges } = encodeBundle(bs);
    assert.equal(ranges.length, FILES.length);
    for (const [i, r] of ranges.entries()) {
      const blob = memberAsBlob(bundle.subarray(r.offset, r.offset + r.length));
      assert.ok(blob !== null);
      const { info, data } = decodeZipBlob(blob);
      assert.equal(info.name, FILES[i]![0]);
      assert.deepEqual(data, FILES[i]![1]);
    }
    // A whole blob is not a member: its central directory follows its data.
    assert.equal(memberAsBlob(bs[0]!), null);
  });

  it('is a zip that unzip reads whole, names and modes and bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xtar-bundle-'));
    try {
      writeFileSync(join(dir, 'b.zip'), encodeBundle(blobs(FILES)).bundle);
      execFileSync('unzip', ['-qq', '-o', '-UU', join(dir, 'b.zip'), '-d', join(dir, 'out')], { env: { ...process.env, LC_ALL: 'C' } });
      for (const [name, data] of FILES) assert.deepEqual(readFileSync(join(dir, 'out', name)), data, name);
      const t = execFileSync('unzip', ['-t', join(dir, 'b.zip')]).toString();
      assert.match(t, /No errors detected/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('its members are found by their local headers, and a damaged one costs only itself', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 2, maxLength: 20 }), fc.nat(), (datas, pick) => {
        const files = datas.map((d, i): [string, Buffer] => [`f${i}`, Buffer.from(d)]);
        const { bundle, ranges } = encodeBundle(blobs(files));
        assert.deepEqual(bundleMembers(bundle).map(({ offset, length }) => ({ offset, length })), ranges);
        // Destroy one member's signature: the others are still found, the stretch named.
        const hit = pick % ranges.length;
        const damaged = Buffer.from(bundle);
        damaged.writeUInt32LE(0, ranges[hit]!.offset);
        const found = bundleMembers(damaged);
        const ok = found.filter((m) => m.ok).map((m) => m.offset);
        for (const [i, r] of ranges.entries()) assert.equal(ok.includes(r.offset), i !== hit, `member ${i}`);
        const bad = found.filter((m) => !m.ok);
        assert.equal(bad.length, 1);
        assert.equal(bad[0]!.offset, ranges[hit]!.offset);
      }),
      { numRuns: 60, seed: 21 },
    );
  });

  it('has a name no file blob, folder or part can have', () => {
    assert.equal(bundleEntryName(3), '.xtar-bundle-3');
    assert.deepEqual(classifyEntryName('.xtar-bundle-12'), { kind: 'bundle', name: '.xtar-bundle-12' });
    for (const n of ['.xtar-bundle-0', '.xtar-bundle-01', '.xtar-bundle-x', '.xtar-bundle-1.zip', 'a.xtar-bundle-1']) assert.equal(isBundleName(n), false, n);
    assert.equal(classifyEntryName('.xtar-bundle-1.zip')?.kind, 'blob');
  });

  it('a catalog line names its bundle, and the name is checked', () => {
    const line: CatalogFile = { path: 'r/a.txt', size: 3, sha256: 'a'.repeat(64), crc32: 1, method: 'store', parts: [{ volume: 1, offset: 2048, length: 38 }], bundle: '.xtar-bundle-1' };
    const text = encodeCatalogLine(line);
    assert.match(text, /"bundle":".xtar-bundle-1"/);
    assert.deepEqual(decodeCatalogLine(text), line);
    assert.throws(() => decodeCatalogLine(text.replace('.xtar-bundle-1', '../x')), /bundle must be/);
  });
});
