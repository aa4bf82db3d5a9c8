import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { extract as tarStreamExtract } from 'tar-stream';
import { FormatError } from '../../src/errors.js';
import {
  applyPax,
  BLOCK_SIZE,
  decodeHeaderBlock,
  encodeHeader,
  END_OF_ARCHIVE_LENGTH,
  endOfArchive,
  entryLength,
  isHeaderBlock,
  paddingLength,
  parsePaxRecords,
  patchHeaderSize,
  USTAR_MAX_NUMERIC,
  type DecodedHeader,
  type HeaderInput,
} from '../../src/format/tar.js';

// ---------------------------------------------------------------------------------------------
// Helpers

interface Entry {
  name: string;
  data: Buffer;
  mtimeSec?: number;
  sizeBound?: number;
}

interface ReadEntry {
  header: DecodedHeader;
  data: Buffer;
}

/** A header whose size is a placeholder and is patched afterwards, as the writer does when sizeBound is given. */
function entryBytes(e: Entry): Buffer {
  const mtimeSec = e.mtimeSec ?? 1_700_000_000;
  let header: Buffer;
  if (e.sizeBound === undefined) {
    header = encodeHeader({ name: e.name, size: e.data.length, mtimeSec });
  } else {
    header = encodeHeader({ name: e.name, size: 0, mtimeSec, sizeBound: e.sizeBound });
    patchHeaderSize(header, e.data.length);
  }
  return Buffer.concat([header, e.data, Buffer.alloc(paddingLength(e.data.length))]);
}

function tarOf(entries: readonly Entry[]): Buffer {
  return Buffer.concat([...entries.map(entryBytes), endOfArchive()]);
}

/** A minimal reader built only from the module's decoders (pax 'x', global 'g' skipped, GNU 'L' long names). */
function readTar(tar: Buffer): ReadEntry[] {
  const out: ReadEntry[] = [];
  let pos = 0;
  let pax: Map<string, string> | null = null;
  let longName: string | null = null;
  for (;;) {
    assert.ok(pos + BLOCK_SIZE <= tar.length, 'tar ends without end-of-archive');
    const h = decodeHeaderBlock(tar.subarray(pos, pos + BLOCK_SIZE));
    if (h === null) {
      assert.ok(isAllZero(tar.subarray(pos, pos + END_OF_ARCHIVE_LENGTH)), 'two zero blocks at the end');
      return out;
    }
    pos += BLOCK_SIZE;
    // The pax size (if any) decides where the data ends.
    let header: DecodedHeader = pax === null ? h : applyPax(h, pax);
    const data = tar.subarray(pos, pos + header.size);
    assert.equal(data.length, header.size, 'entry data runs past the end');
    pos += header.size + paddingLength(header.size);
    if (h.typeflag === 'x') {
      pax = parsePaxRecords(data);
      continue;
    }
    if (h.typeflag === 'g') continue;
    if (h.typeflag === 'L') {
      longName = data.subarray(0, data.indexOf(0) < 0 ? data.length : data.indexOf(0)).toString('utf8');
      continue;
    }
    if (longName !== null) header = { ...header, name: longName };
    pax = null;
    longName = null;
    out.push({ header, data: Buffer.from(data) });
  }
}

function isAllZero(b: Buffer): boolean {
  return b.every((x) => x === 0);
}

function cstr(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

/** Recompute the checksum of a block after editing it (unsigned sum, our format). */
function fixChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

function throwsFormat(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

function roundTrip(e: Entry): ReadEntry {
  const tar = tarOf([e]);
  const got = readTar(tar);
  assert.equal(got.length, 1);
  const r = got[0] as ReadEntry;
  assert.equal(r.header.name, e.name);
  assert.equal(r.header.size, e.data.length);
  assert.equal(r.header.mtimeSec, e.mtimeSec ?? 1_700_000_000);
  assert.equal(r.header.typeflag, '0');
  assert.equal(r.header.mode, 0o644);
  assert.equal(r.header.linkname, '');
  assert.deepEqual(r.data, e.data);
  return r;
}

function hasTool(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

const GNU_TAR = hasTool('tar', ['--version']) && execFileSync('tar', ['--version']).toString().includes('GNU tar');
const UTF8_ENV = { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' };

const long300 = 'n'.repeat(300);
const splitName = `${'d'.repeat(150)}/${'f'.repeat(90)}`;
const unicodeLong = '€'.repeat(40); // 120 bytes, no '/': pax path
const GiB = 1024 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------

describe('tar header layout', () => {
  it('writes exactly the documented ustar bytes', () => {
    const h = encodeHeader({ name: 'demo.xtar-structure.jsonl', size: 1234, mtimeSec: 1763881500 });
    assert.equal(h.length, BLOCK_SIZE);
    assert.equal(cstr(h.subarray(0, 100)), 'demo.xtar-structure.jsonl');
    assert.ok(isAllZero(h.subarray(25, 100)));
    assert.equal(h.toString('latin1', 100, 108), '0000644\0');
    assert.equal(h.toString('latin1', 108, 116), '0000000\0');
    assert.equal(h.toString('latin1', 116, 124), '0000000\0');
    assert.equal(h.toString('latin1', 124, 136), `${(1234).toString(8).padStart(11, '0')}\0`);
    assert.equal(h.toString('latin1', 136, 148), `${(1763881500).toString(8).padStart(11, '0')}\0`);
    assert.match(h.toString('latin1', 148, 156), /^[0-7]{6}\0 $/);
    assert.equal(h.toString('latin1', 156, 157), '0');
    assert.ok(isAllZero(h.subarray(157, 257)), 'linkname');
    assert.equal(h.toString('latin1', 257, 265), 'ustar\x0000');
    assert.ok(isAllZero(h.subarray(265, 329)), 'uname, gname');
    assert.equal(h.toString('latin1', 329, 337), '0000000\0');
    assert.equal(h.toString('latin1', 337, 345), '0000000\0');
    assert.ok(isAllZero(h.subarray(345, 512)), 'prefix and the rest');
    const copy = Buffer.from(h);
    copy.fill(0x20, 148, 156);
    const sum = copy.reduce((a, b) => a + b, 0);
    assert.equal(parseInt(h.toString('latin1', 148, 154), 8), sum);
  });

  it('pads data to 512 and ends with two zero blocks, without record blocking', () => {
    assert.deepEqual([0, 1, 511, 512, 513, 1024].map(paddingLength), [0, 511, 1, 0, 511, 0]);
    const eoa = endOfArchive();
    assert.equal(eoa.length, 1024);
    assert.equal(END_OF_ARCHIVE_LENGTH, 1024);
    assert.ok(isAllZero(eoa));
    eoa[0] = 1;
    assert.ok(isAllZero(endOfArchive()), 'each call gives a fresh buffer');
    assert.equal(tarOf([{ name: 'a', data: Buffer.from('abc') }]).length, 512 + 512 + 1024);
    assert.equal(entryLength({ name: 'a', size: 3, mtimeSec: 0 }), 1024);
    assert.equal(entryLength({ name: long300, size: 512, mtimeSec: -1, sizeBound: 9 * GiB }), 512 + 512 + 512 + 512);
  });

  it('writes a pax header: fixed name, same mtime field, records path/size/mtime in order', () => {
    const h = encodeHeader({ name: long300, size: 7, mtimeSec: -5, sizeBound: 9 * GiB });
    assert.equal(h.length, 3 * BLOCK_SIZE);
    const pax = decodeHeaderBlock(h.subarray(0, 512));
    assert.ok(pax !== null);
    assert.equal(pax.typeflag, 'x');
    assert.equal(pax.name, 'PaxHeader');
    assert.equal(pax.mode, 0o644);
    assert.equal(pax.mtimeSec, 0);
    const records = h.subarray(512, 512 + pax.size).toString('utf8');
    assert.equal(records, `310 path=${long300}\n29 size=00000000000000000007\n12 mtime=-5\n`);
    assert.ok(isAllZero(h.subarray(512 + pax.size, 1024)), 'records padded with zeros');
    const ustar = h.subarray(1024);
    assert.equal(ustar.toString('latin1', 124, 136), '00000000000\0', 'ustar size 0 under a pax size');
    assert.equal(ustar.toString('latin1', 136, 148), '00000000000\0', 'ustar mtime 0 under a pax mtime');
    assert.equal(cstr(ustar.subarray(0, 100)), 'n'.repeat(100), 'informational first 100 bytes');
  });

  it('computes pax record lengths right at digit-count boundaries', () => {
    // A path record for an n-byte name without '/' is n + 7 bytes plus the length's digits.
    for (const n of [101, 102, 985, 986, 987, 988, 989, 990, 991, 992, 993, 994, 995, 9987, 9988, 9989, 9990, 9991]) {
      const name = 'x'.repeat(n);
      const h = encodeHeader({ name, size: 0, mtimeSec: 0 });
      const pax = decodeHeaderBlock(h.subarray(0, 512));
      assert.ok(pax !== null);
      const data = h.subarray(512, 512 + pax.size);
      const sp = data.indexOf(0x20);
      assert.equal(Number(data.toString('latin1', 0, sp)), data.length, `record length for n=${n}`);
      assert.equal(parsePaxRecords(data).get('path'), name);
    }
  });

  it('uses the name field up to 100 bytes, then prefix at the last fitting slash, then pax', () => {
    const n100 = 'a'.repeat(100);
    const h100 = encodeHeader({ name: n100, size: 0, mtimeSec: 0 });
    assert.equal(h100.length, 512);
    assert.equal(h100.toString('latin1', 0, 100), n100, 'full field, no NUL');

    const hs = encodeHeader({ name: splitName, size: 0, mtimeSec: 0 });
    assert.equal(hs.length, 512);
    assert.equal(cstr(hs.subarray(345, 500)), 'd'.repeat(150));
    assert.equal(cstr(hs.subarray(0, 100)), 'f'.repeat(90));

    // Several slashes: the longest prefix that fits (GNU tar's choice).
    const multi = `${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(60)}`;
    const hm = encodeHeader({ name: multi, size: 0, mtimeSec: 0 });
    assert.equal(hm.length, 512);
    assert.equal(cstr(hm.subarray(345, 500)), `${'a'.repeat(60)}/${'b'.repeat(60)}`);
    assert.equal(cstr(hm.subarray(0, 100)), 'c'.repeat(60));

    // Prefix would exceed 155 at every slash whose name part fits → pax.
    assert.equal(encodeHeader({ name: `${'a'.repeat(156)}/${'c'.repeat(10)}`, size: 0, mtimeSec: 0 }).length, 3 * 512);
    // Name part over 100 → pax.
    assert.equal(encodeHeader({ name: `${'a'.repeat(10)}/${'c'.repeat(101)}`, size: 0, mtimeSec: 0 }).length, 3 * 512);
    // A trailing slash is not a split point; an earlier one is.
    const trailing = `${'a'.repeat(60)}/${'b'.repeat(60)}/`;
    const ht = encodeHeader({ name: trailing, size: 0, mtimeSec: 0 });
    assert.equal(ht.length, 512);
    assert.equal(cstr(ht.subarray(345, 500)), 'a'.repeat(60));
    assert.equal(cstr(ht.subarray(0, 100)), `${'b'.repeat(60)}/`);
  });

  it('cuts the informational ustar name of a pax path at a character boundary', () => {
    const h = encodeHeader({ name: unicodeLong, size: 0, mtimeSec: 0 });
    const ustar = decodeHeaderBlock(h.subarray(h.length - 512));
    assert.ok(ustar !== null);
    assert.equal(ustar.name, '€'.repeat(33)); // 99 bytes: a 100th would split a character
  });
});

describe('encode → decode round trips', () => {
  it('short, 100-byte, prefix-split and 300-byte names', () => {
    roundTrip({ name: 'a.txt.zip', data: Buffer.from('hello') });
    roundTrip({ name: 'x'.repeat(100), data: Buffer.alloc(512, 7) });
    roundTrip({ name: splitName, data: Buffer.alloc(513, 1) });
    roundTrip({ name: long300, data: Buffer.from('long name') });
  });

  it('Unicode names (field, prefix split, pax)', () => {
    roundTrip({ name: 'ünïcødé-📀.txt.zip', data: Buffer.from('u') });
    roundTrip({ name: `${'é'.repeat(70)}/${'📀'.repeat(20)}.zip`, data: Buffer.from('u') });
    roundTrip({ name: unicodeLong, data: Buffer.from('u') });
    roundTrip({ name: '日本語'.repeat(40), data: Buffer.from('u') });
  });

  it('mtimes: 0, the ustar maximum, negative and huge (pax mtime)', () => {
    for (const mtimeSec of [0, USTAR_MAX_NUMERIC, -1, -86400 * 365 * 100, USTAR_MAX_NUMERIC + 1, 2 ** 40, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      const r = roundTrip({ name: 'm.zip', data: Buffer.from('t'), mtimeSec });
      assert.equal(r.header.mtimeSec, mtimeSec);
      const paxed = mtimeSec < 0 || mtimeSec > USTAR_MAX_NUMERIC;
      assert.equal(encodeHeader({ name: 'm.zip', size: 1, mtimeSec }).length, paxed ? 3 * 512 : 512);
    }
  });

  it('sizeBound beyond 8 GiB: fixed 20-digit pax size, patched to 5 and to 9e9', () => {
    const h = encodeHeader({ name: 'big/.xtar', size: 0, mtimeSec: 1_700_000_000, sizeBound: 16 * GiB });
    const length = h.length;
    assert.equal(length, 3 * 512);
    const decode = (): DecodedHeader => {
      const pax = decodeHeaderBlock(h.subarray(0, 512));
      assert.ok(pax !== null && pax.typeflag === 'x');
      const records = parsePaxRecords(h.subarray(512, 512 + pax.size));
      const ustar = decodeHeaderBlock(h.subarray(1024));
      assert.ok(ustar !== null);
      assert.equal(ustar.size, 0);
      assert.match(records.get('size') ?? '', /^[0-9]{20}$/);
      return applyPax(ustar, records);
    };
    assert.equal(decode().size, 0);
    patchHeaderSize(h, 5);
    assert.equal(decode().size, 5);
    assert.equal(decode().name, 'big/.xtar');
    patchHeaderSize(h, 9e9);
    assert.equal(decode().size, 9e9);
    assert.equal(decode().mtimeSec, 1_700_000_000);
    patchHeaderSize(h, Number.MAX_SAFE_INTEGER);
    assert.equal(decode().size, Number.MAX_SAFE_INTEGER);
    assert.equal(h.length, length);
    assert.throws(() => patchHeaderSize(h, -1), RangeError);
    assert.throws(() => patchHeaderSize(h, 1.5), RangeError);
    assert.throws(() => patchHeaderSize(h, Number.MAX_SAFE_INTEGER + 2), RangeError);
  });

  it('a pax size under a name that itself contains " size=" is patched in the right place', () => {
    const name = `${'a size=0000'.repeat(30)}.zip`; // no '/', > 100 bytes: pax path too
    const h = encodeHeader({ name, size: 0, mtimeSec: -1, sizeBound: 9 * GiB });
    patchHeaderSize(h, 123456);
    const tar = Buffer.concat([h, Buffer.alloc(123456, 3), Buffer.alloc(paddingLength(123456)), endOfArchive()]);
    const [r] = readTar(tar);
    assert.equal(r?.header.name, name);
    assert.equal(r?.header.size, 123456);
    assert.equal(r?.header.mtimeSec, -1);
  });

  it('patches a ustar size field and refuses what no longer fits it', () => {
    const h = encodeHeader({ name: 'd/.xtar', size: 0, mtimeSec: 1, sizeBound: USTAR_MAX_NUMERIC });
    assert.equal(h.length, 512);
    patchHeaderSize(h, 12345);
    assert.equal(decodeHeaderBlock(h)?.size, 12345);
    patchHeaderSize(h, USTAR_MAX_NUMERIC);
    assert.equal(decodeHeaderBlock(h)?.size, USTAR_MAX_NUMERIC);
    assert.throws(() => patchHeaderSize(h, USTAR_MAX_NUMERIC + 1), RangeError);
    assert.equal(decodeHeaderBlock(h)?.size, USTAR_MAX_NUMERIC, 'unchanged after a refused patch');
    // A pax header without a size record (long name only) patches the ustar field.
    const hp = encodeHeader({ name: long300, size: 0, mtimeSec: 1 });
    patchHeaderSize(hp, 77);
    assert.equal(readTar(Buffer.concat([hp, Buffer.alloc(77), Buffer.alloc(paddingLength(77)), endOfArchive()]))[0]?.header.size, 77);
    assert.throws(() => patchHeaderSize(hp, 9e9), RangeError);
  });

  it('refuses to patch bytes that are not an encoded header', () => {
    throwsFormat(() => patchHeaderSize(Buffer.alloc(100), 1));
    throwsFormat(() => patchHeaderSize(Buffer.alloc(512), 1));
    throwsFormat(() => patchHeaderSize(Buffer.alloc(1024, 1), 1));
    const h = encodeHeader({ name: long300, size: 0, mtimeSec: 0, sizeBound: 9 * GiB });
    throwsFormat(() => patchHeaderSize(h.subarray(512), 1), /regular-file|pax|magic/);
  });

  it('header length does not depend on size, only on name, mtime and sizeBound', () => {
    const cases: Omit<HeaderInput, 'size'>[] = [
      { name: 'a.zip', mtimeSec: 0 },
      { name: 'a/.xtar', mtimeSec: 5, sizeBound: USTAR_MAX_NUMERIC },
      { name: 'a/.xtar', mtimeSec: 5, sizeBound: USTAR_MAX_NUMERIC + 1 },
      { name: long300, mtimeSec: -7, sizeBound: Number.MAX_SAFE_INTEGER },
      { name: unicodeLong, mtimeSec: 2 ** 45, sizeBound: 20 * GiB },
    ];
    for (const c of cases) {
      const bound = c.sizeBound ?? 0;
      const sizes = [0, 1, 511, 512, Math.floor(bound / 2), bound].filter((s) => s <= bound);
      const lengths = new Set(sizes.map((size) => encodeHeader({ ...c, size }).length));
      assert.equal(lengths.size, 1, `one length for ${c.name.slice(0, 10)}… bound ${bound}`);
      const [len] = lengths;
      assert.equal((len as number) % 512, 0);
    }
  });

  it('refuses invalid input with RangeError', () => {
    assert.throws(() => encodeHeader({ name: '', size: 0, mtimeSec: 0 }), RangeError);
    assert.throws(() => encodeHeader({ name: 'a\0b', size: 0, mtimeSec: 0 }), RangeError);
    assert.throws(() => encodeHeader({ name: 'bad\ud800', size: 0, mtimeSec: 0 }), RangeError);
    assert.throws(() => encodeHeader({ name: 'a', size: -1, mtimeSec: 0 }), RangeError);
    assert.throws(() => encodeHeader({ name: 'a', size: 0.5, mtimeSec: 0 }), RangeError);
    assert.throws(() => encodeHeader({ name: 'a', size: Number.MAX_SAFE_INTEGER + 1, mtimeSec: 0 }), RangeError);
    assert.throws(() => encodeHeader({ name: 'a', size: 10, mtimeSec: 0, sizeBound: 9 }), RangeError);
    assert.throws(() => encodeHeader({ name: 'a', size: 0, mtimeSec: 1.5 }), RangeError);
    assert.throws(() => encodeHeader({ name: 'a', size: 0, mtimeSec: Number.NaN }), RangeError);
  });
});

describe('strict decoding', () => {
  const good = encodeHeader({ name: 'ünïcødé.txt.zip', size: 1000, mtimeSec: 1_700_000_000 });

  it('all-zero block is the end; a short block is truncation', () => {
    assert.equal(decodeHeaderBlock(Buffer.alloc(512)), null);
    assert.equal(isHeaderBlock(Buffer.alloc(512)), false);
    throwsFormat(() => decodeHeaderBlock(good.subarray(0, 511)));
    assert.equal(isHeaderBlock(good), true);
  });

  it('any flipped byte outside the checksum field is a checksum error', () => {
    for (const at of [0, 5, 99, 100, 124, 135, 136, 156, 157, 258, 300, 345, 400, 511]) {
      const b = Buffer.from(good);
      b[at] = (b[at] as number) ^ 0x10;
      assert.equal(isHeaderBlock(b), false);
      throwsFormat(() => decodeHeaderBlock(b), at >= 257 && at < 265 ? /magic/ : /checksum/);
    }
    const b = Buffer.from(good);
    b[150] = 0x37; // inside the checksum digits
    throwsFormat(() => decodeHeaderBlock(b), /checksum/);
  });

  it('accepts the signed-sum checksum variant and checksum field spacing variants', () => {
    const b = Buffer.from(good); // its name has bytes > 127
    b.fill(0x20, 148, 156);
    let signed = 0;
    for (const x of b) signed += x > 127 ? x - 256 : x;
    b.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    assert.equal(decodeHeaderBlock(b)?.name, 'ünïcødé.txt.zip');
    const c = Buffer.from(good);
    const sum = parseInt(c.toString('latin1', 148, 154), 8);
    c.write(` ${sum.toString(8)}\0`.padEnd(8, ' '), 148, 'latin1');
    assert.equal(decodeHeaderBlock(c)?.size, 1000);
  });

  it('requires the ustar magic and version (or GNU magic)', () => {
    const v7 = Buffer.from(good);
    v7.fill(0, 257, 265);
    fixChecksum(v7);
    throwsFormat(() => decodeHeaderBlock(v7), /magic/);
    assert.equal(isHeaderBlock(v7), false);
    const badVersion = Buffer.from(good);
    badVersion.write('01', 263, 'latin1');
    fixChecksum(badVersion);
    throwsFormat(() => decodeHeaderBlock(badVersion), /magic/);
    const gnu = Buffer.from(good);
    gnu.write('ustar  \0', 257, 'latin1');
    fixChecksum(gnu);
    assert.equal(decodeHeaderBlock(gnu)?.size, 1000);
  });

  it('parses numeric fields strictly', () => {
    const withField = (offset: number, text: string | Buffer): Buffer => {
      const b = Buffer.from(good);
      const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
      bytes.copy(b, offset);
      fixChecksum(b);
      return b;
    };
    for (const bad of ['00006x4\0', '0000 644', '       \0', '\0\0\0\0\0\0\0\0', '-000644\0', '0000648\0']) {
      throwsFormat(() => decodeHeaderBlock(withField(100, bad)), /octal mode/);
    }
    throwsFormat(() => decodeHeaderBlock(withField(124, '0000000001+\0')), /octal size/);
    throwsFormat(() => decodeHeaderBlock(withField(124, '00000001750\x01')), /octal size/);
    throwsFormat(() => decodeHeaderBlock(withField(136, '1234567\0abc\0')), /octal mtime/);
    for (const ok of ['   644 \0', '644\0\0\0\0\0', '0000644 ', '00000644']) {
      assert.equal(decodeHeaderBlock(withField(100, ok))?.mode, 0o644, JSON.stringify(ok));
    }
    assert.equal(decodeHeaderBlock(withField(124, '777777777777'))?.size, 0o777777777777, '12 digits, no terminator');
  });

  it('accepts GNU base-256 sizes and mtimes, rejects negative or unsafe sizes', () => {
    const b256 = (v: bigint, width: number): Buffer => {
      const out = Buffer.alloc(width);
      let x = v < 0n ? (1n << BigInt(width * 8)) + v : v;
      for (let i = width - 1; i >= 0; i--) {
        out[i] = Number(x & 0xffn);
        x >>= 8n;
      }
      if (v >= 0n) out[0] = (out[0] as number) | 0x80;
      return out;
    };
    const set = (offset: number, bytes: Buffer): Buffer => {
      const b = Buffer.from(good);
      bytes.copy(b, offset);
      fixChecksum(b);
      return b;
    };
    assert.equal(decodeHeaderBlock(set(124, b256(9_000_000_000n, 12)))?.size, 9e9);
    assert.equal(decodeHeaderBlock(set(124, b256(BigInt(Number.MAX_SAFE_INTEGER), 12)))?.size, Number.MAX_SAFE_INTEGER);
    throwsFormat(() => decodeHeaderBlock(set(124, b256(BigInt(Number.MAX_SAFE_INTEGER) + 1n, 12))), /too large/);
    throwsFormat(() => decodeHeaderBlock(set(124, b256(-5n, 12))), /negative size/);
    assert.equal(decodeHeaderBlock(set(136, b256(-1000n, 12)))?.mtimeSec, -1000);
    assert.equal(decodeHeaderBlock(set(136, b256(2n ** 40n, 12)))?.mtimeSec, 2 ** 40);
  });

  it('requires UTF-8 names', () => {
    const b = Buffer.from(good);
    b[0] = 0xff;
    fixChecksum(b);
    throwsFormat(() => decodeHeaderBlock(b), /UTF-8/);
  });

  it('parses pax records strictly', () => {
    assert.deepEqual([...parsePaxRecords(Buffer.from('8 a=bcd\n12 path=x y\n'))], [['a', 'bcd'], ['path', 'x y']]);
    assert.deepEqual([...parsePaxRecords(Buffer.from('6 a=b\n6 a=c\n'))], [['a', 'c']], 'the later record wins');
    assert.deepEqual([...parsePaxRecords(Buffer.alloc(0))], []);
    assert.equal(parsePaxRecords(Buffer.from('11 k=a=b\nc\n')).get('k'), 'a=b\nc', 'value may hold = and newline');
    const bad: [string | Buffer, RegExp][] = [
      ['13 path=abcd', /past the end/], // truncated
      ['13 path=abc\n', /past the end/], // length too long
      ['11 path=abc\n7 a=b\n', /length does not match/], // length too short
      ['13 path=abcd\n\0\0\0', /length/], // trailing padding inside the declared size
      ['12 path=abcdX', /past the end|length does not match/],
      ['012 path=ab\n', /not a number/],
      ['+12 path=ab\n', /not a number/],
      ['x path=abc\n', /not a number/],
      [' 6 a=b\n', /length/],
      ['1234567890123456789012 a=b\n', /length/],
      ['8 abcde\n', /no "="/],
      ['6 =ab\n', /empty key/],
      ['3 \n', /length does not match|no "="/],
      [Buffer.concat([Buffer.from('9 path='), Buffer.from([0xc3]), Buffer.from('\n')]), /UTF-8/],
    ];
    for (const [text, re] of bad) throwsFormat(() => parsePaxRecords(Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1')), re);
  });

  it('applies path, size, mtime (and linkpath) overrides; ignores the rest', () => {
    const base: DecodedHeader = { name: 'short', size: 0, mtimeSec: 0, typeflag: '0', mode: 0o644, linkname: '' };
    const m = new Map([
      ['path', 'a/very/long/name'],
      ['size', '00000000009000000000'],
      ['mtime', '-1.5'],
      ['atime', 'garbage'],
      ['uid', 'x'],
      ['ctime', '1.0'],
    ]);
    assert.deepEqual(applyPax(base, m), { ...base, name: 'a/very/long/name', size: 9e9, mtimeSec: -2 });
    assert.equal(base.name, 'short', 'input not mutated');
    assert.equal(applyPax(base, new Map([['mtime', '1700000000.999999999999']])).mtimeSec, 1700000000);
    assert.equal(applyPax(base, new Map([['mtime', '-3']])).mtimeSec, -3);
    assert.equal(applyPax(base, new Map([['mtime', '-3.000']])).mtimeSec, -3);
    assert.equal(applyPax(base, new Map([['path', '']])).name, 'short', 'empty value: no override');
    assert.equal(applyPax(base, new Map([['linkpath', 'target']])).linkname, 'target');
    for (const [k, v] of [['size', '-5'], ['size', '1e3'], ['size', ' 5'], ['size', '9007199254740992'], ['mtime', '1e9'], ['mtime', '--1'], ['mtime', '1.'], ['mtime', '99999999999999999999']]) {
      throwsFormat(() => applyPax(base, new Map([[k as string, v as string]])), new RegExp(`pax ${k as string}`));
    }
  });

  it('fuzz: a mutated header block decodes, is the end, or throws FormatError — nothing else', () => {
    const seeds = [
      good,
      encodeHeader({ name: splitName, size: 5, mtimeSec: 1 }),
      ...(() => {
        const h = encodeHeader({ name: long300, size: 0, mtimeSec: -9, sizeBound: 9 * GiB });
        return [h.subarray(0, 512), h.subarray(1024)];
      })(),
    ];
    const check = (b: Buffer): void => {
      try {
        const r = decodeHeaderBlock(b);
        if (r !== null) {
          assert.equal(typeof r.name, 'string');
          assert.ok(Number.isSafeInteger(r.size) && r.size >= 0);
          assert.ok(Number.isSafeInteger(r.mtimeSec));
          assert.ok(Number.isSafeInteger(r.mode) && r.mode >= 0);
          assert.equal(r.typeflag.length, 1);
          assert.equal(typeof r.linkname, 'string');
          assert.equal(isHeaderBlock(b), true);
        }
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        assert.equal(e.code, 'ETAR');
      }
    };
    fc.assert(
      fc.property(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat({ max: 511 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        (which, edits, refix) => {
          const b = Buffer.from(seeds[which] as Buffer);
          for (const [at, v] of edits) b[at] = v;
          if (refix) fixChecksum(b); // reach the field parsers, not only the checksum
          check(b);
        },
      ),
      { seed: 0x7a5, numRuns: 3000 },
    );
    // Whole random blocks, and random blocks given valid magic and checksum.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 512, maxLength: 512 }), fc.boolean(), (bytes, framed) => {
        const b = Buffer.from(bytes);
        if (framed) {
          b.write('ustar\x0000', 257, 'latin1');
          fixChecksum(b);
        }
        check(b);
      }),
      { seed: 0x7a6, numRuns: 1000 },
    );
  });

  it('fuzz: mutated pax records parse, or throw FormatError', () => {
    const h = encodeHeader({ name: long300, size: 0, mtimeSec: -9, sizeBound: 9 * GiB });
    const data = h.subarray(512, 512 + (decodeHeaderBlock(h.subarray(0, 512))?.size ?? 0));
    const base: DecodedHeader = { name: 'x', size: 0, mtimeSec: 0, typeflag: '0', mode: 0o644, linkname: '' };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: data.length - 1 }), fc.constantFrom(0x00, 0x0a, 0x20, 0x3d, 0x30, 0x39, 0x2d, 0x2e, 0xc3, 0x61)), { minLength: 1, maxLength: 4 }),
        fc.nat({ max: data.length }),
        (edits, cut) => {
          const d = Buffer.from(data.subarray(0, cut));
          for (const [at, v] of edits) if (at < d.length) d[at] = v;
          try {
            const m = parsePaxRecords(d);
            const r = applyPax(base, m);
            assert.ok(Number.isSafeInteger(r.size) && r.size >= 0);
            assert.ok(Number.isSafeInteger(r.mtimeSec));
          } catch (e) {
            if (!(e instanceof FormatError)) throw e;
          }
        },
      ),
      { seed: 0x7a7, numRuns: 2000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Oracles

const oracleEntries: Entry[] = [
  { name: 'small.txt', data: Buffer.from('hello') },
  { name: `${'p'.repeat(120)}/${'q'.repeat(200)}`, data: Buffer.alloc(700, 0x41) }, // pax path
  { name: long300, data: Buffer.from('three hundred') }, // pax path, one component
  { name: `${'d'.repeat(150)}/${'f'.repeat(90)}`, data: Buffer.alloc(0) }, // prefix split
  { name: 'bigbound.bin', data: Buffer.alloc(1234, 0x42), sizeBound: 16 * GiB }, // pax size, small real size patched in
  { name: 'old.txt', data: Buffer.from('before 1970'), mtimeSec: -100_000 }, // pax mtime
  { name: 'future.txt', data: Buffer.from('far ahead'), mtimeSec: 2 ** 36 }, // pax mtime
  { name: 'ünïcødé-📀.txt', data: Buffer.alloc(512, 0x43) },
  { name: 'combo-€.txt', data: Buffer.alloc(1025, 0x44), mtimeSec: -1, sizeBound: 9 * GiB },
];

describe('oracles', () => {
  let dir: string;
  let file: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'xtar-tar-test-'));
    file = join(dir, 'oracle.tar');
    writeFileSync(file, tarOf(oracleEntries));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('our own reader sees every entry', () => {
    const got = readTar(readFileSync(file));
    assert.deepEqual(
      got.map((e) => [e.header.name, e.header.size, e.header.mtimeSec]),
      oracleEntries.map((e) => [e.name, e.data.length, e.mtimeSec ?? 1_700_000_000]),
    );
    got.forEach((e, i) => assert.deepEqual(e.data, oracleEntries[i]?.data));
  });

  it('GNU tar lists exactly the names and sizes and extracts the right bytes', { skip: !GNU_TAR && 'GNU tar not found' }, () => {
    const names = execFileSync('tar', ['--quoting-style=literal', '-tf', file], { env: UTF8_ENV }).toString('utf8').split('\n').slice(0, -1);
    assert.deepEqual(names, oracleEntries.map((e) => e.name));
    const r = spawnSync('tar', ['--quoting-style=literal', '--numeric-owner', '--utc', '-tvf', file], { env: UTF8_ENV });
    assert.equal(r.status, 0, r.stderr.toString());
    const lines = r.stdout.toString('utf8').split('\n').slice(0, -1);
    assert.equal(lines.length, oracleEntries.length);
    lines.forEach((line, i) => {
      const m = /^(\S+) (\S+)\s+(\d+) (\S+) (\S+) (.*)$/.exec(line);
      assert.ok(m !== null, line);
      const e = oracleEntries[i] as Entry;
      assert.equal(m[1], '-rw-r--r--');
      assert.equal(m[2], '0/0');
      assert.equal(Number(m[3]), e.data.length, line);
      assert.equal(m[6], e.name);
    });
    // Dates: GNU tar prints the pax mtimes (negative and far future), not the zero ustar fields.
    assert.match(lines[5] as string, / 1969-12-30 /);
    assert.match(lines[6] as string, / 4147-08-20 /);
    for (const e of oracleEntries) {
      const bytes = execFileSync('tar', ['-xOf', file, e.name], { env: UTF8_ENV, maxBuffer: 1 << 20 });
      assert.deepEqual(bytes, e.data, e.name);
    }
    // A real extraction to disk, for the names a file system can hold.
    const out = join(dir, 'x');
    mkdirSync(out);
    const extractable = oracleEntries.filter((e) => e.name !== long300);
    const x = spawnSync('tar', ['-xf', file, '-C', out, ...extractable.map((e) => e.name)], { env: UTF8_ENV });
    assert.equal(x.status, 0, x.stderr.toString());
    for (const e of extractable) assert.deepEqual(readFileSync(join(out, e.name)), e.data, e.name);
  });

  it('tar-stream sees the same names, sizes and data', async () => {
    const seen: { name: string; size: number; data: Buffer; mtime: unknown }[] = [];
    const ex = tarStreamExtract();
    const done = (async () => {
      for await (const entry of ex) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        seen.push({ name: entry.header.name, size: entry.header.size, data: Buffer.concat(chunks), mtime: entry.header.pax?.['mtime' as keyof typeof entry.header.pax] });
      }
    })();
    Readable.from([readFileSync(file)]).pipe(ex);
    await done;
    assert.deepEqual(
      seen.map((s) => [s.name, s.size]),
      oracleEntries.map((e) => [e.name, e.data.length]),
    );
    seen.forEach((s, i) => assert.deepEqual(s.data, oracleEntries[i]?.data));
    assert.equal(seen[5]?.mtime, '-100000');
  });

  it('nested: d/.xtar holds a tar that tar can expand in place (written the one-pass way)', { skip: !GNU_TAR && 'GNU tar not found' }, () => {
    const inner = tarOf([
      { name: 'a.txt', data: Buffer.from('inner a\n') },
      { name: 'e/.xtar', data: endOfArchive() },
      { name: `${'l'.repeat(200)}.txt`, data: Buffer.from('long inner\n') },
    ]);
    // Header first with a placeholder size, then the content, then patch — as the writer does.
    const header = encodeHeader({ name: 'd/.xtar', size: 0, mtimeSec: 1_700_000_000, sizeBound: USTAR_MAX_NUMERIC });
    const before = header.length;
    patchHeaderSize(header, inner.length);
    assert.equal(header.length, before);
    const outer = Buffer.concat([header, inner, Buffer.alloc(paddingLength(inner.length)), entryBytes({ name: 'top.txt', data: Buffer.from('top\n') }), endOfArchive()]);
    const out = join(dir, 'nested');
    mkdirSync(out);
    writeFileSync(join(dir, 'nested.tar'), outer);
    execFileSync('tar', ['-xf', join(dir, 'nested.tar'), '-C', out], { env: UTF8_ENV });
    assert.deepEqual(readFileSync(join(out, 'd/.xtar')), inner);
    execFileSync('tar', ['-xf', join(out, 'd/.xtar'), '-C', join(out, 'd')], { env: UTF8_ENV });
    assert.equal(readFileSync(join(out, 'd/a.txt'), 'utf8'), 'inner a\n');
    assert.equal(readFileSync(join(out, `d/${'l'.repeat(200)}.txt`), 'utf8'), 'long inner\n');
    assert.equal(readFileSync(join(out, 'top.txt'), 'utf8'), 'top\n');
    execFileSync('tar', ['-xf', join(out, 'd/e/.xtar'), '-C', join(out, 'd/e')], { env: UTF8_ENV });
    // And our reader walks the nested tar as a byte range of the outer one.
    const [d] = readTar(outer);
    assert.equal(d?.header.name, 'd/.xtar');
    assert.deepEqual(readTar(d?.data as Buffer).map((e) => e.header.name), ['a.txt', 'e/.xtar', `${'l'.repeat(200)}.txt`]);
  });

  it('bsdtar (if installed) lists the same names and extracts the same bytes', { skip: !hasTool('bsdtar', ['--version']) && 'bsdtar not installed' }, () => {
    const names = execFileSync('bsdtar', ['-tf', file], { env: UTF8_ENV }).toString('utf8').split('\n').slice(0, -1);
    assert.deepEqual(names, oracleEntries.map((e) => e.name));
    for (const e of oracleEntries) assert.deepEqual(execFileSync('bsdtar', ['-xOf', file, e.name], { env: UTF8_ENV }), e.data);
  });
});

describe("reading GNU tar's own output", { skip: !GNU_TAR && 'GNU tar not found' }, () => {
  let dir: string;
  const files: { name: string; data: Buffer; mtimeSec: number }[] = [
    { name: 'hello.txt', data: Buffer.from('hello\n'), mtimeSec: 1_600_000_000 },
    { name: 'sub/ünï.txt', data: Buffer.alloc(1000, 0x61), mtimeSec: 1_600_000_001 },
    { name: `sub/${'L'.repeat(96)}.txt`, data: Buffer.from('long'), mtimeSec: 1_600_000_002 }, // prefix split; GNU long name
    { name: 'old.txt', data: Buffer.from('old'), mtimeSec: -1000 },
    { name: 'empty', data: Buffer.alloc(0), mtimeSec: 0 },
  ];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'xtar-gnutar-'));
    const src = join(dir, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    for (const f of files) {
      writeFileSync(join(src, f.name), f.data);
      // touch, not utimes: Node turns a negative time into "now".
      execFileSync('touch', ['-d', `@${f.mtimeSec}`, join(src, f.name)]);
    }
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  for (const format of ['posix', 'gnu', 'ustar'] as const) {
    it(`--format=${format}`, () => {
      const out = join(dir, `${format}.tar`);
      const want = format === 'ustar' ? files.filter((f) => f.mtimeSec >= 0) : files; // ustar cannot hold a negative time
      execFileSync('tar', [`--format=${format}`, '-C', join(dir, 'src'), '-cf', out, ...want.map((f) => f.name)], { env: UTF8_ENV });
      const got = readTar(readFileSync(out)).filter((e) => e.header.typeflag === '0');
      assert.deepEqual(
        got.map((e) => [e.header.name, e.header.size, e.header.mtimeSec]),
        want.map((f) => [f.name, f.data.length, f.mtimeSec]),
      );
      got.forEach((e, i) => assert.deepEqual(e.data, want[i]?.data));
    });
  }
});
