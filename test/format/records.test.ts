import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from '../../src/errors.js';
import {
  decodeCatalogHeader,
  decodeCatalogLine,
  encodeCatalogHeader,
  decodeStructureEntry,
  decodeStructureHeader,
  decodeTrailer,
  RecordDigest,
  encodeCatalogLine,
  encodeStructureEntry,
  encodeStructureHeader,
  encodeTrailer,
  formatTimeNs,
  parseTimeNs,
  type StructureEntry,
} from '../../src/format/records.js';

describe('structure record lines', () => {
  it('round-trip every node type exactly', () => {
    const base = { mode: 0o4755, uid: 1000, gid: 100, user: 'ann', group: 'users', mtimeNs: 1_700_000_000_123_456_789n };
    const entries: StructureEntry[] = [
      { ...base, path: 'r', type: 'dir' },
      { ...base, path: 'r/f', type: 'file', size: 12, sparse: true },
      { ...base, path: 'r/l', type: 'symlink', target: '../../etc/passwd' },
      { path: 'r/h', type: 'hardlink', target: 'r/f', mode: 0, uid: 0, gid: 0, mtimeNs: 0n },
      { ...base, path: 'r/p', type: 'fifo' },
      { ...base, path: 'r/c', type: 'char', major: 1, minor: 3 },
      { ...base, path: 'r/b', type: 'block', major: 8, minor: 1, mtimeNs: -1_500_000_000n },
    ];
    for (const e of entries) assert.deepEqual(decodeStructureEntry(encodeStructureEntry(e)), e);
  });

  it('writes mode as octal text and time as exact SECONDS.NANOSECONDS', () => {
    const line = encodeStructureEntry({ path: 'r', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: 5n });
    assert.match(line, /"mode":"0755"/);
    assert.match(line, /"mtime":"0.000000005"/);
    assert.equal(formatTimeNs(-1_500_000_000n), '-1.500000000');
    assert.equal(parseTimeNs('-1.500000000', 'x'), -1_500_000_000n);
    assert.equal(parseTimeNs('-0.000000001', 'x'), -1n);
    assert.equal(parseTimeNs('0.000000000', 'x'), 0n);
    assert.equal(parseTimeNs('999999999999999.999999999', 'x'), 999_999_999_999_999_999_999_999n);
    for (const bad of ['1.5', '1.0000000000', '+1.000000000', '1e3.000000000', '٣.000000000', '1.00000000٣', '-.000000000', '1000000000000000.000000000']) assert.throws(() => parseTimeNs(bad, 'x'), FormatError, bad);
  });

  it('refuses unsafe paths and malformed lines', () => {
    const bad = [
      '{"path":"../x","type":"dir","mode":"0755","uid":0,"gid":0,"mtime":"0.000000000"}',
      '{"path":"/etc","type":"dir","mode":"0755","uid":0,"gid":0,"mtime":"0.000000000"}',
      '{"path":"r/h","type":"hardlink","target":"../../etc/passwd"}',
      '{"path":"r","type":"socket","mode":"0755","uid":0,"gid":0,"mtime":"0.000000000"}',
      '{"path":"r","type":"dir","mode":"99","uid":0,"gid":0,"mtime":"0.000000000"}',
      '{"path":"r","type":"dir","mode":"0755","uid":-1,"gid":0,"mtime":"0.000000000"}',
      '{"path":"r","type":"dir","mode":"0755","uid":0,"gid":0,"mtime":1.5}',
      'not json',
      '[]',
    ];
    for (const l of bad) assert.throws(() => decodeStructureEntry(l), FormatError, l);
  });

  it('header, trailer and version check', () => {
    const h = decodeStructureHeader(encodeStructureHeader({ backup: 'b', root: 'r', created: 'c' }));
    assert.equal(h.root, 'r');
    assert.throws(() => decodeStructureHeader('{"xtar":"structure","version":3,"root":"r"}'), /newer/);
    assert.deepEqual(decodeTrailer(encodeTrailer(7)), { end: true, entries: 7 });
    assert.equal(decodeTrailer('{"path":"x"}'), null);
  });

  it('a full backup keeps the v1 header byte for byte; later kinds write v2 with kind and base', () => {
    assert.equal(
      encodeStructureHeader({ backup: '20261123T000000Z', root: 'r', created: 'c' }),
      '{"xtar":"structure","version":1,"backup":"20261123T000000Z","root":"r","created":"c"}',
    );
    const inc = encodeStructureHeader({ backup: '20261124T000000Z', root: 'r', created: 'c', kind: 'incremental', base: '20261123T000000Z' });
    assert.equal(inc, '{"xtar":"structure","version":2,"backup":"20261124T000000Z","root":"r","created":"c","kind":"incremental","base":"20261123T000000Z"}');
    const h = decodeStructureHeader(inc);
    assert.equal(h.kind, 'incremental');
    assert.equal(h.base, '20261123T000000Z');
    assert.equal(decodeStructureHeader(encodeStructureHeader({ backup: 'b', root: 'r', created: 'c' })).kind, undefined);
    const cat = decodeCatalogHeader(encodeCatalogHeader({ backup: '20261124T000000Z', volume: 2, created: 'c', kind: 'cyclic', base: '20261123T000000Z' }));
    assert.deepEqual([cat.version, cat.kind, cat.base, cat.volume], [2, 'cyclic', '20261123T000000Z', 2]);
    assert.throws(() => decodeStructureHeader('{"xtar":"structure","version":2,"root":"r","kind":"weekly"}'), /unknown backup kind/);
    assert.throws(() => decodeStructureHeader('{"xtar":"structure","version":2,"root":"r","kind":"incremental","base":"../x"}'), /base must be a backup id/);
  });
});

describe('record digests (revision 2.1)', () => {
  it('the trailer carries the sha256 of every byte before it; an old reader\'s keys are unchanged', () => {
    const body = '{"xtar":"catalog","version":1}\n{"path":"r/a"}\n';
    const d = new RecordDigest();
    for (const line of body.split('\n').slice(0, -1)) d.line(line);
    const hex = d.hex();
    assert.equal(hex, createHash('sha256').update(body).digest('hex'));
    const bytes = new RecordDigest();
    bytes.bytes(body);
    assert.equal(bytes.hex(), hex);
    const text = encodeTrailer(1, hex);
    assert.equal(text, `{"end":true,"entries":1,"sha256":"${hex}"}`);
    assert.deepEqual(decodeTrailer(text), { end: true, entries: 1, sha256: hex });
    // Without a digest, as every record before revision 2.1: byte for byte as before.
    assert.equal(encodeTrailer(1), '{"end":true,"entries":1}');
    assert.deepEqual(decodeTrailer('{"end":true,"entries":1}'), { end: true, entries: 1 });
    // A damaged digest is kept as found: it will not match.
    assert.deepEqual(decodeTrailer('{"end":true,"entries":1,"sha256":17}'), { end: true, entries: 1, sha256: '17' });
  });
});

describe('catalog lines', () => {
  it('round-trip files and skips', () => {
    const f = { path: 'r/a', size: 3, sha256: 'ab'.repeat(32), crc32: 0xdeadbeef, method: 'deflate' as const, parts: [{ volume: 1, offset: 1536, length: 120 }] };
    assert.deepEqual(decodeCatalogLine(encodeCatalogLine(f)), f);
    assert.deepEqual(decodeCatalogLine(encodeCatalogLine({ path: 'r/b', skipped: 'permission denied' })), { path: 'r/b', skipped: 'permission denied' });
    assert.throws(() => decodeCatalogLine('{"path":"r/a","size":1,"sha256":"x","crc32":"00000000","method":"store","parts":[]}'), FormatError);
    // Exactly 64 and 8 lowercase hex digits: not upper case, not one more or less, not another type.
    const line = encodeCatalogLine(f);
    for (const [from, to] of [
      ['ab'.repeat(32), 'AB'.repeat(32)],
      ['ab'.repeat(32), 'ab'.repeat(31) + 'ag'],
      ['ab'.repeat(32), 'ab'.repeat(32) + 'a'],
      ['ab'.repeat(32), 'ab'.repeat(31) + 'a'],
      ['"deadbeef"', '"DEADBEEF"'],
      ['"deadbeef"', '"deadbee"'],
      ['"deadbeef"', '3735928559'],
    ]) assert.throws(() => decodeCatalogLine(line.replace(from as string, to as string)), /must be (64|8) hex digits/, to);
  });

  it('round-trip a reference to an earlier backup, renamed; refuse unsafe or unanchored ones', () => {
    const f = { path: 'r/new', size: 3, sha256: 'cd'.repeat(32), crc32: 1, method: 'store' as const, parts: [{ volume: 2, offset: 512, length: 90 }], backup: '20261123T000000Z', as: 'r/old' };
    assert.deepEqual(decodeCatalogLine(encodeCatalogLine(f)), f);
    const line = encodeCatalogLine(f);
    assert.throws(() => decodeCatalogLine(line.replace('"r/old"', '"../old"')), FormatError);
    assert.throws(() => decodeCatalogLine(line.replace('"20261123T000000Z"', '"yesterday"')), FormatError);
    assert.throws(() => decodeCatalogLine(line.replace(',"backup":"20261123T000000Z"', '')), /"as" needs "backup"/);
  });
});
