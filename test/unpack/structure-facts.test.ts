/** StructureFacts gathered from undecoded lines (the check pass's one read) are those decoding gives. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStructureEntry, encodeStructureEntry, type StructureEntry } from '../../src/format/records.js';
import { StructureFacts } from '../../src/unpack/choose-records.js';
import { PathFilter } from '../../src/unpack/select.js';

const base = { mode: 0o644, uid: 1000, gid: 1000, user: 'a"size":9', group: 'g', mtimeNs: 1_700_000_000_000_000_000n };
const entries: StructureEntry[] = [
  { ...base, path: 'r', type: 'dir', mode: 0o755 },
  { ...base, path: 'r/a', type: 'dir' },
  { ...base, path: 'r/a/f', type: 'file', size: 14 },
  { ...base, path: 'r/a/holes', type: 'file', size: 9_000_000_000, sparse: true },
  { ...base, path: 'r/a/"quoted"\\name', type: 'file', size: 7 },
  { ...base, path: 'r/a/é €', type: 'file', size: 0 },
  { ...base, path: 'r/b/link', type: 'symlink', target: 'x,"sparse":true' },
  { path: 'r/b/hard', type: 'hardlink', target: 'r/a/f', mode: 0, uid: 0, gid: 0, mtimeNs: 0n },
];

function facts(filter: PathFilter, lines: boolean): StructureFacts {
  const f = new StructureFacts(filter);
  for (const e of entries) {
    const line = encodeStructureEntry(e);
    if (lines) f.addLine(line);
    else f.add(decodeStructureEntry(line));
  }
  return f;
}

describe('StructureFacts.addLine', () => {
  for (const paths of [[], ['r/a/f', 'r/b']]) {
    it(`gathers what decoding gathers (--paths ${JSON.stringify(paths)})`, () => {
      const a = facts(new PathFilter(paths), true);
      const b = facts(new PathFilter(paths), false);
      assert.deepEqual([a.totalBytes, [...a.sparse], [...a.keepDirs].sort()], [b.totalBytes, [...b.sparse], [...b.keepDirs].sort()]);
      assert.ok(paths.length > 0 || a.totalBytes === 9_000_000_021);
    });
  }
});
