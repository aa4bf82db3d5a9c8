import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import yauzl from 'yauzl';
import { DamagedBlobError, FormatError } from '../../src/errors.js';
import {
  DEFAULT_MODE,
  decodeZipBlob,
  dosDateTime,
  encodeLocalHeader,
  encodeTrailer,
  encodeZipBlob,
  fromDosDateTime,
  needsZip64,
  parseLocalHeader,
  parseTrailer,
  probeCompressible,
  trailerLength,
  ZIP64_THRESHOLD,
  zipNameProblem,
  zipOverhead,
  type ZipEntryInfo,
} from '../../src/format/zip.js';
import { crc32Of, inflateWhole } from '../../src/worker/deflate.js';
import { mulberry32 } from '../helpers/prng.js';

// ---------------------------------------------------------------------------------------------
// Helpers

/** Deterministic bytes: the low byte of each mulberry32 draw. */
function prng(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  const next = mulberry32(seed);
  for (let i = 0; i < length; i++) out[i] = (next() * 4294967296) & 0xff;
  return out;
}

const MTIME = Date.UTC(2021, 2, 4, 12, 34, 56) / 1000;
const TEXT = Buffer.from('The quick brown fox jumps over the lazy dog.\n'.repeat(200));

function blobOf(name: string, raw: Buffer, extra: { level?: number; mode?: number; zip64?: boolean; mtimeSec?: number } = {}) {
  return encodeZipBlob(name, raw, { level: extra.level ?? 6, mtimeSec: extra.mtimeSec ?? MTIME, mode: extra.mode ?? 0o644, ...(extra.zip64 === undefined ? {} : { zip64: extra.zip64 }) });
}

/** Flip bits of one byte in place. */
/** A hand-built deflated blob whose headers are consistent but claim `size` and `crc`, whatever `data` holds. */
function lyingBlob(data: Buffer, size: number, crc: number): Buffer {
  const info: ZipEntryInfo = { name: 'lie', method: 8, crc32: crc, compressedSize: data.length, size, mtimeSec: MTIME, mode: 0o644 };
  const local = encodeLocalHeader(info, false);
  return Buffer.concat([local, data, encodeTrailer(info, false, local.length + data.length)]);
}

function xor(b: Buffer, at: number, mask: number): void {
  b[at] = (b[at] ?? 0) ^ mask;
}

function isOurError(e: unknown): boolean {
  return e instanceof FormatError || e instanceof DamagedBlobError;
}

/** `fn` must throw an instance of `cls` (or, without `cls`, a FormatError or DamagedBlobError) and nothing else. */
function assertRejects(fn: () => unknown, cls?: typeof FormatError | typeof DamagedBlobError, what = ''): void {
  let thrown: unknown = undefined;
  let threw = false;
  try {
    fn();
  } catch (e) {
    threw = true;
    thrown = e;
  }
  assert.ok(threw, `expected a throw ${what}`);
  if (cls === undefined) assert.ok(isOurError(thrown), `expected FormatError or DamagedBlobError ${what}, got ${String(thrown)}`);
  else assert.ok(thrown instanceof cls, `expected ${cls.name} ${what}, got ${String(thrown)}`);
}

// Offsets in a non-zip64 blob, from the APPNOTE layout.
const L_FLAGS = 6;
const L_METHOD = 8;
const L_TIME = 10;
const L_DATE = 12;
const L_CRC = 14;

function cdStart(blob: Buffer): number {
  const h = parseLocalHeader(blob);
  return h.headerLength + h.info.compressedSize;
}

/** Patch a u16 at the same field in both headers (local offset `lo`; the central copy is 2 bytes further on). */
function patchBoth16(blob: Buffer, lo: number, v: number): Buffer {
  const b = Buffer.from(blob);
  const cd = cdStart(blob);
  b.writeUInt16LE(v, lo);
  b.writeUInt16LE(v, cd + lo + 2);
  return b;
}

/**
 * Read every entry with yauzl. `decodeStrings: false` leaves names as raw bytes: needed for a name with
 * a backslash, which yauzl otherwise refuses (strict) or turns into '/' (Windows reading).
 */
function yauzlRead(blob: Buffer, decodeStrings = true): Promise<{ name: string; data: Buffer; attrs: number; madeBy: number; date: Date }[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(blob, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true, decodeStrings }, (err, zf) => {
      if (err !== null) return reject(err);
      const out: { name: string; data: Buffer; attrs: number; madeBy: number; date: Date }[] = [];
      zf.on('error', reject);
      zf.on('end', () => resolve(out));
      zf.on('entry', (entry: yauzl.Entry) => {
        zf.openReadStream(entry, (err2, stream) => {
          if (err2 !== null) return reject(err2);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            const name: unknown = entry.fileName;
            out.push({ name: Buffer.isBuffer(name) ? name.toString('utf8') : String(name), data: Buffer.concat(chunks), attrs: entry.externalFileAttributes, madeBy: entry.versionMadeBy, date: entry.getLastModDate({ timezone: 'UTC', forceDosFormat: true }) });
            zf.readEntry();
          });
        });
      });
      zf.readEntry();
    });
  });
}

// ---------------------------------------------------------------------------------------------

describe('zip blobs: round trip', () => {
  const cases: { label: string; name: string; raw: Buffer; method: 0 | 8; level?: number }[] = [
    { label: 'empty', name: 'empty', raw: Buffer.alloc(0), method: 0 },
    { label: 'tiny', name: 'a', raw: Buffer.from('x'), method: 0 },
    { label: 'text', name: 'text.txt', raw: TEXT, method: 8 },
    { label: 'random (deflate does not help)', name: 'r.bin', raw: prng(1, 1000), method: 0 },
    { label: '200 KB random', name: 'big.bin', raw: prng(2, 200_000), method: 0 },
    { label: 'level 0 stores text', name: 'text0.txt', raw: TEXT, method: 0, level: 0 },
    { label: 'Unicode name', name: 'résumé 日本.txt', raw: Buffer.from('bonjour\n'), method: 0 },
    { label: 'astral and BOM name', name: '\ufeff📀 x', raw: TEXT, method: 8 },
    { label: '251-byte name', name: 'n'.repeat(251), raw: TEXT, method: 8 },
  ];
  for (const c of cases) {
    for (const zip64 of [false, true]) {
      it(`${c.label}${zip64 ? ' (forced zip64)' : ''}`, () => {
        const { blob, info, zip64: z } = blobOf(c.name, c.raw, { zip64, mode: 0o751, ...(c.level === undefined ? {} : { level: c.level }) });
        assert.equal(z, zip64);
        assert.equal(info.method, c.method);
        assert.equal(info.size, c.raw.length);
        assert.equal(info.crc32, zlib.crc32(c.raw));
        assert.equal(blob.length, info.compressedSize + zipOverhead(Buffer.byteLength(c.name), zip64));
        const d = decodeZipBlob(blob);
        assert.ok(d.data.equals(c.raw));
        assert.deepEqual(d.info, { ...info, mode: 0o751 });
      });
    }
  }

  it('the probe stores a large file whose head is incompressible, without deflating the whole', () => {
    // First 64 KiB random, then 1 MiB of zeros: whole-file deflate would shrink it a lot, the probe says no.
    const raw = Buffer.concat([prng(3, 65536), Buffer.alloc(1 << 20)]);
    assert.equal(probeCompressible(raw.subarray(0, 65536)), false);
    assert.equal(blobOf('p', raw).info.method, 0);
    // …and the other way round deflates.
    const raw2 = Buffer.concat([Buffer.alloc(65536), prng(4, 1000)]);
    assert.equal(blobOf('p', raw2).info.method, 8);
    // Below 64 KiB there is no probe: deflate is tried directly.
    assert.equal(blobOf('p', Buffer.concat([prng(5, 40_000), Buffer.alloc(20_000)])).info.method, 8);
  });

  it('keeps only permission bits of the mode', () => {
    const { blob } = blobOf('m', TEXT, { mode: 0o104755 });
    assert.equal(decodeZipBlob(blob).info.mode, 0o4755);
  });

  it('is deterministic', () => {
    assert.ok(blobOf('d', TEXT).blob.equals(blobOf('d', TEXT).blob));
  });

  it('zip64 threshold and overhead', () => {
    assert.equal(needsZip64(ZIP64_THRESHOLD - 1), false);
    assert.equal(needsZip64(ZIP64_THRESHOLD), true);
    assert.equal(zipOverhead(5, false), 30 + 5 + 46 + 5 + 22);
    assert.equal(zipOverhead(5, true), 30 + 5 + 20 + 46 + 5 + 20 + 56 + 20 + 22);
  });

  it('matches the worked example of docs/FORMAT.md byte for byte', () => {
    const hex = `
      504b 0304 1400 0008 0000 a038 775b 7a7a 6fed 0300 0000 0300 0000 0500 0000 612e
      7478 7468 690a 504b 0102 1e03 1400 0008 0000 a038 775b 7a7a 6fed 0300 0000 0300
      0000 0500 0000 0000 0000 0000 0000 a481 0000 0000 612e 7478 7450 4b05 0600 0000
      0001 0001 0033 0000 0026 0000 0000 00`;
    const { blob } = encodeZipBlob('a.txt', Buffer.from('hi\n'), { level: 6, mtimeSec: 1763881500, mode: 0o644 });
    assert.equal(blob.toString('hex'), hex.replace(/\s+/g, ''));
  });
});

describe('zip blobs: the streaming write path', () => {
  for (const zip64 of [false, true]) {
    for (const method of [0, 8] as const) {
      it(`header with zeros, then the real one, equals encodeZipBlob (method ${method}${zip64 ? ', zip64' : ''})`, () => {
        const raw = method === 8 ? TEXT : prng(6, 5000);
        const name = 'stream é.bin';
        const zero: ZipEntryInfo = { name, method, crc32: 0, compressedSize: 0, size: 0, mtimeSec: MTIME, mode: 0o600 };
        const placeholder = encodeLocalHeader(zero, zip64);
        const data = method === 8 ? zlib.deflateRawSync(raw, { level: 6 }) : raw;
        const done: ZipEntryInfo = { ...zero, crc32: zlib.crc32(raw), compressedSize: data.length, size: raw.length };
        const header = encodeLocalHeader(done, zip64);
        assert.equal(header.length, placeholder.length);
        const assembled = Buffer.from(Buffer.concat([placeholder, data]));
        header.copy(assembled, 0); // overwrite in place
        const blob = Buffer.concat([assembled, encodeTrailer(done, zip64, assembled.length)]);
        const expected = encodeZipBlob(name, raw, { level: 6, mtimeSec: MTIME, mode: 0o600, zip64 });
        assert.equal(expected.info.method, method);
        assert.ok(blob.equals(expected.blob));
      });
    }
  }

  it('parseLocalHeader ignores bytes after the header; trailerLength + parseTrailer work on the pieces', () => {
    for (const zip64 of [false, true]) {
      const { blob, info } = blobOf('piece', TEXT, { zip64, mode: 0o640 });
      const h = parseLocalHeader(blob); // the whole blob: more than the header
      assert.equal(h.zip64, zip64);
      assert.deepEqual(h.info, { ...info, mode: 0 });
      const dataEnd = h.headerLength + h.info.compressedSize;
      assert.equal(dataEnd + trailerLength(h), blob.length);
      assert.deepEqual(parseTrailer(blob.subarray(dataEnd), h), { mode: 0o640 });
    }
  });

  it('refuses to encode what it could not read back', () => {
    const base: ZipEntryInfo = { name: 'x', method: 0, crc32: 0, compressedSize: 0, size: 0, mtimeSec: 0, mode: 0 };
    for (const name of ['', '.', '..', 'a/b', '/', 'a\0b', 'x\ud800']) {
      assert.notEqual(zipNameProblem(name), null, name);
      assert.throws(() => encodeLocalHeader({ ...base, name }, false), FormatError);
      assert.throws(() => encodeZipBlob(name, Buffer.from('x'), { level: 6, mtimeSec: 0, mode: 0 }), FormatError);
    }
    assert.throws(() => encodeLocalHeader({ ...base, size: ZIP64_THRESHOLD, compressedSize: ZIP64_THRESHOLD }, false), RangeError);
    assert.throws(() => encodeTrailer(base, false, 0xffffffff), RangeError);
    assert.doesNotThrow(() => encodeLocalHeader({ ...base, size: ZIP64_THRESHOLD, compressedSize: ZIP64_THRESHOLD }, true));
  });
});

describe('zip blobs: real tools agree', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'xtar-zip-test-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const cases = [
    { label: 'stored', name: 'stored.bin', raw: prng(7, 3000), mode: 0o640, zip64: false, method: 0 },
    { label: 'deflated', name: 'résumé 日本.txt', raw: TEXT, mode: 0o755, zip64: false, method: 8 },
    { label: 'forced zip64, deflated', name: 'z64.txt', raw: TEXT, mode: 0o600, zip64: true, method: 8 },
    { label: 'forced zip64, stored', name: 'z64s.bin', raw: prng(8, 3000), mode: 0o444, zip64: true, method: 0 },
    { label: 'empty', name: 'empty', raw: Buffer.alloc(0), mode: 0o644, zip64: false, method: 0 },
    { label: 'backslash name', name: 'back\\slash', raw: TEXT, mode: 0o644, zip64: false, method: 8 },
  ];
  for (const c of cases) {
    it(`${c.label}: unzip -t, unzip -p, unzip -Z -v and yauzl`, async () => {
      const { blob, info } = blobOf(c.name, c.raw, { mode: c.mode, zip64: c.zip64 });
      assert.equal(info.method, c.method);
      const file = join(dir, `${c.label.replace(/\W+/g, '_')}.zip`);
      writeFileSync(file, blob);
      const env = { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'America/New_York' };
      const test = execFileSync('unzip', ['-t', file], { env }).toString();
      assert.match(test, /No errors detected/);
      const out = execFileSync('unzip', ['-p', file], { env, maxBuffer: 1 << 24 });
      assert.ok(out.equals(c.raw), 'unzip -p returns the bytes');
      const v = execFileSync('unzip', ['-Z', '-v', file], { env }).toString();
      assert.match(v, new RegExp(`Unix file attributes \\(${(0o100000 | c.mode).toString(8)} octal\\)`));
      assert.match(v, /file system or operating system of origin:\s+Unix/);
      // DOS date/time fields hold UTC, whatever TZ says.
      assert.match(v, /file last modified on \(DOS date\/time\):\s+2021 Mar 4 12:34:56/);
      assert.match(v, c.method === 8 ? /compression method:\s+deflated/ : /compression method:\s+none \(stored\)/);
      // The by-hand restore of docs/FORMAT.md: the file comes back under its own name, bytes and mode.
      const out2 = join(dir, `x-${c.label.replace(/\W+/g, '_')}`);
      execFileSync('unzip', ['-UU', '-^', '-q', file, '-d', out2], { env: { ...process.env, LC_ALL: 'C' } });
      assert.deepEqual(readdirSync(out2, { encoding: 'buffer' }).map((n) => n.toString('utf8')), [c.name]);
      assert.ok(readFileSync(join(out2, c.name)).equals(c.raw));
      assert.equal(statSync(join(out2, c.name)).mode & 0o7777, c.mode);

      const entries = await yauzlRead(blob, !c.name.includes('\\'));
      assert.equal(entries.length, 1);
      const e = entries[0]!;
      assert.equal(e.name, c.name);
      assert.ok(e.data.equals(c.raw), 'yauzl reads the bytes');
      assert.equal(e.attrs >>> 16, 0o100000 | c.mode);
      assert.equal(e.madeBy >> 8, 3);
      assert.equal(e.date.getTime() / 1000, MTIME);
    });
  }

  it('the codec reads what Info-ZIP zip writes with -X -D (stored and deflated)', () => {
    // Not xtar's layout byte for byte, but the one-entry subset it shares: made by Unix, no extra fields.
    const src = join(dir, 'src');
    execFileSync('mkdir', ['-p', src]);
    for (const [name, raw, flags] of [
      ['plain.txt', TEXT, ['-6']],
      ['rand.bin', prng(9, 2000), ['-0']],
    ] as const) {
      writeFileSync(join(src, name), raw);
      const out = join(dir, `${name}.zip`);
      execFileSync('zip', ['-q', '-X', '-D', ...flags, out, name], { cwd: src, env: { ...process.env, LC_ALL: 'C' } });
      const blob = readFileSync(out);
      const d = decodeZipBlob(blob);
      assert.equal(d.info.name, name);
      assert.ok(d.data.equals(raw));
    }
  });
});

describe('zip blobs: strictness', () => {
  const stored = blobOf('s.bin', prng(10, 300)).blob;
  const deflated = blobOf('d.txt', TEXT).blob;
  const z64 = blobOf('z.txt', TEXT, { zip64: true }).blob;

  it('the fixtures are what the tests assume', () => {
    assert.equal(parseLocalHeader(stored).info.method, 0);
    assert.equal(parseLocalHeader(deflated).info.method, 8);
    assert.equal(parseLocalHeader(z64).zip64, true);
  });

  it('rejects each damaged signature', () => {
    for (const blob of [stored, deflated, z64]) {
      const sigs = [0x04034b50, 0x02014b50, 0x06064b50, 0x07064b50, 0x06054b50];
      let found = 0;
      for (const sig of sigs) {
        const at = blob.indexOf(Buffer.from([sig & 0xff, (sig >> 8) & 0xff, (sig >> 16) & 0xff, sig >>> 24]), sig === 0x04034b50 ? 0 : cdStart(blob));
        if (at < 0) continue;
        found++;
        const b = Buffer.from(blob);
        xor(b, at + 3, 0x01);
        assertRejects(() => decodeZipBlob(b), FormatError, `sig ${sig.toString(16)}`);
      }
      assert.equal(found, blob === z64 ? 5 : 3);
    }
  });

  it('rejects the data descriptor flag, encryption, other flags', () => {
    for (const flags of [0x0808, 0x0801, 0x0809, 0x0840, 0x2800, 0x0008, 0x0001, 0xffff]) {
      assertRejects(() => decodeZipBlob(patchBoth16(deflated, L_FLAGS, flags)), FormatError, `flags ${flags.toString(16)}`);
    }
    // Flags 0 (no UTF-8 bit) in both headers is still read.
    assert.ok(decodeZipBlob(patchBoth16(deflated, L_FLAGS, 0)).data.equals(TEXT));
  });

  it('rejects unknown methods', () => {
    for (const m of [1, 6, 9, 12, 14, 93, 99]) assertRejects(() => decodeZipBlob(patchBoth16(deflated, L_METHOD, m)), FormatError, `method ${m}`);
  });

  it('rejects a version needed above 4.5', () => {
    assertRejects(() => decodeZipBlob(patchBoth16(deflated, 4, 46)), FormatError);
    assertRejects(() => decodeZipBlob(patchBoth16(deflated, 4, 63)), FormatError);
  });

  it('rejects unsafe or invalid inner names', () => {
    for (const [from, to] of [
      ['ab', 'a/'],
      ['ab', '..'],
      ['a', '.'],
      ['ab', 'a\0'],
      ['ab', '/b'],
    ]) {
      const b = blobOf(from!, TEXT).blob;
      const cd = cdStart(b);
      const bytes = Buffer.from(to!, 'utf8');
      bytes.copy(b, 30);
      bytes.copy(b, cd + 46);
      assertRejects(() => decodeZipBlob(b), FormatError, JSON.stringify(to));
    }
    const b = blobOf('ab', TEXT).blob;
    const cd = cdStart(b);
    b[30] = 0xc3; // a lead byte without its continuation
    b[cd + 46] = 0xc3;
    assertRejects(() => decodeZipBlob(b), FormatError, 'bad UTF-8');
    // Empty name: name length 0 in the local header.
    const e = Buffer.from(stored);
    e.writeUInt16LE(0, 26);
    assertRejects(() => decodeZipBlob(e), FormatError, 'empty name');
  });

  it('rejects invalid DOS dates and times', () => {
    const date = (y: number, m: number, d: number) => ((y - 1980) << 9) | (m << 5) | d;
    for (const d of [date(2020, 0, 1), date(2020, 13, 1), date(2020, 2, 30), date(2020, 1, 0)]) {
      assertRejects(() => decodeZipBlob(patchBoth16(stored, L_DATE, d)), FormatError);
    }
    for (const t of [(24 << 11), (12 << 11) | (60 << 5), (12 << 11) | 30]) {
      assertRejects(() => decodeZipBlob(patchBoth16(stored, L_TIME, t)), FormatError);
    }
  });

  it('rejects trailing garbage and anything before the end', () => {
    for (const blob of [stored, deflated, z64]) {
      assertRejects(() => decodeZipBlob(Buffer.concat([blob, Buffer.from([0])])), FormatError);
      assertRejects(() => decodeZipBlob(Buffer.concat([blob, blob])), FormatError);
      assertRejects(() => decodeZipBlob(Buffer.concat([Buffer.from([0]), blob])), FormatError);
    }
  });

  it('rejects a blob truncated at every length', () => {
    for (const blob of [stored, deflated, z64]) {
      for (let n = 0; n < blob.length; n++) {
        assertRejects(() => decodeZipBlob(blob.subarray(0, n)), FormatError, `cut at ${n}`);
      }
    }
    const h = parseLocalHeader(z64);
    for (let n = 0; n < h.headerLength; n++) assertRejects(() => parseLocalHeader(z64.subarray(0, n)), FormatError, `header cut at ${n}`);
  });

  it('rejects a central directory that disagrees with the local header', () => {
    for (const blob of [deflated, z64]) {
      const cd = cdStart(blob);
      const h = parseLocalHeader(blob);
      const nameLen = h.info.name.length;
      // (offset in the central header, label)
      const fields: [number, string][] = [
        [6, 'version needed'],
        [8, 'flags'],
        [10, 'method'],
        [12, 'time'],
        [14, 'date'],
        [16, 'crc'],
        [20, 'compressed size'],
        [24, 'size'],
        [28, 'name length'],
        [30, 'extra length'],
        [32, 'comment length'],
        [34, 'disk'],
        [36, 'internal attributes (bit 1)'],
        [42, 'local header offset'],
        [46, 'name'],
      ];
      if (h.zip64) fields.push([46 + nameLen + 4, 'zip64 extra size'], [46 + nameLen + 12, 'zip64 extra compressed size']);
      for (const [off, label] of fields) {
        const b = Buffer.from(blob);
        xor(b, cd + off, 0x02);
        assertRejects(() => decodeZipBlob(b), FormatError, label);
      }
    }
    // The local CRC alone changed: the CD disagrees (FormatError) before any CRC check.
    const b = Buffer.from(deflated);
    xor(b, L_CRC, 0x01);
    assertRejects(() => decodeZipBlob(b), FormatError);
  });

  it('rejects end records that do not describe this one entry', () => {
    for (const blob of [stored, z64]) {
      const h = parseLocalHeader(blob);
      const ends = cdStart(blob) + 46 + h.headerLength - 30;
      // Every byte of the end records matters, except the zip64 record's made-by.
      for (let i = 4; i < blob.length - ends; i++) {
        if (h.zip64 && (i === 12 || i === 13)) continue;
        const b = Buffer.from(blob);
        xor(b, ends + i, 0x10);
        assertRejects(() => decodeZipBlob(b), FormatError, `end byte ${i}`);
      }
    }
  });

  it('accepts any made-by host, and reads the mode only from a Unix one', () => {
    const b = Buffer.from(deflated);
    b.writeUInt16LE(0x0014, cdStart(b) + 4); // MS-DOS, 2.0
    b.writeUInt32LE(0x20, cdStart(b) + 38); // archive bit
    const d = decodeZipBlob(b);
    assert.ok(d.data.equals(TEXT));
    assert.equal(d.info.mode, DEFAULT_MODE);
    assert.deepEqual(parseTrailer(b.subarray(cdStart(b)), parseLocalHeader(b)), { mode: null });
  });

  it('rejects a Unix entry that is not a regular file', () => {
    for (const type of [0o120000, 0o040000, 0o020000, 0]) {
      const b = Buffer.from(deflated);
      b.writeUInt32LE(((type | 0o777) << 16) >>> 0, cdStart(b) + 38);
      assertRejects(() => decodeZipBlob(b), FormatError, type.toString(8));
    }
  });

  it('rejects extra fields other than exactly one zip64 field', () => {
    // Non-zip64 sizes with an extra field (an empty "UT" field) in the local header.
    const h = parseLocalHeader(stored);
    const extra = Buffer.from([0x55, 0x54, 0x00, 0x00]);
    const local = Buffer.concat([stored.subarray(0, h.headerLength), extra]);
    local.writeUInt16LE(4, 28);
    assertRejects(() => parseLocalHeader(local), FormatError);
    // Zip64 with a malformed extra: wrong id, wrong data size.
    for (const [off, v] of [
      [0, 0x0007],
      [2, 8],
      [2, 24],
    ] as const) {
      const b = Buffer.from(z64);
      const hz = parseLocalHeader(z64);
      b.writeUInt16LE(v, 30 + Buffer.byteLength(hz.info.name) + off);
      assertRejects(() => decodeZipBlob(b), FormatError, `zip64 extra ${off}=${v}`);
    }
    // Only one of the two sizes at 0xFFFFFFFF.
    const one = Buffer.from(stored);
    one.writeUInt32LE(0xffffffff, 22);
    assertRejects(() => parseLocalHeader(one), FormatError);
    // A zip64 size beyond 2^53.
    const huge = Buffer.from(z64);
    huge.writeBigUInt64LE(1n << 60n, 30 + 5 + 4);
    assertRejects(() => parseLocalHeader(huge), FormatError);
  });

  it('rejects a stored entry whose two sizes differ', () => {
    const b = Buffer.from(stored);
    b.writeUInt32LE(b.readUInt32LE(22) + 1, 22);
    assertRejects(() => parseLocalHeader(b), FormatError);
  });

  it('damaged data: CRC mismatch, bad deflate, inflating past the declared size, junk after the stream', () => {
    // Stored: flip a data byte.
    const s = Buffer.from(stored);
    xor(s, parseLocalHeader(s).headerLength + 10, 0x40);
    assertRejects(() => decodeZipBlob(s), DamagedBlobError, 'stored CRC');
    // Deflated: invalid block type (0b11) in the first byte.
    const d = Buffer.from(deflated);
    d[parseLocalHeader(d).headerLength] = 0x07;
    assertRejects(() => decodeZipBlob(d), DamagedBlobError, 'bad deflate');

    // Hand-built blobs whose headers are consistent but whose data lies.
    const raw = Buffer.alloc(100_000, 0x61);
    const deflate = zlib.deflateRawSync(raw);
    assert.ok(decodeZipBlob(lyingBlob(deflate, raw.length, zlib.crc32(raw))).data.equals(raw));
    assertRejects(() => decodeZipBlob(lyingBlob(deflate, 1000, zlib.crc32(raw))), DamagedBlobError, 'inflates past size');
    assertRejects(() => decodeZipBlob(lyingBlob(deflate, raw.length + 1, zlib.crc32(raw))), DamagedBlobError, 'inflates short');
    assertRejects(() => decodeZipBlob(lyingBlob(deflate, raw.length, zlib.crc32(raw) ^ 1)), DamagedBlobError, 'crc');
    assertRejects(() => decodeZipBlob(lyingBlob(deflate.subarray(0, deflate.length - 1), raw.length, zlib.crc32(raw))), DamagedBlobError, 'truncated stream');
    assertRejects(() => decodeZipBlob(lyingBlob(Buffer.concat([deflate, Buffer.from('junk')]), raw.length, zlib.crc32(raw))), DamagedBlobError, 'junk after stream');
    assertRejects(() => decodeZipBlob(lyingBlob(Buffer.alloc(0), 0, 0)), DamagedBlobError, 'empty deflate data');
  });

  it('a WholeInflate given (libdeflate in the workers) is used, and refuses the same damage', () => {
    const raw = Buffer.alloc(100_000, 0x61);
    const deflate = zlib.deflateRawSync(raw);
    let calls = 0;
    const counted = (c: Buffer, size: number): { out: Buffer; consumed: number } => {
      calls++;
      return inflateWhole(c, size);
    };
    assert.ok(decodeZipBlob(lyingBlob(deflate, raw.length, zlib.crc32(raw)), { inflate: counted }).data.equals(raw));
    assert.equal(calls, 1);
    assertRejects(() => decodeZipBlob(lyingBlob(deflate, 1000, zlib.crc32(raw)), { inflate: counted }), DamagedBlobError, 'inflates past size');
    assertRejects(() => decodeZipBlob(lyingBlob(deflate, raw.length + 1, zlib.crc32(raw)), { inflate: counted }), DamagedBlobError, 'inflates short');
    assertRejects(() => decodeZipBlob(lyingBlob(deflate, raw.length, zlib.crc32(raw) ^ 1), { inflate: counted }), DamagedBlobError, 'crc');
    assertRejects(() => decodeZipBlob(lyingBlob(deflate.subarray(0, deflate.length - 1), raw.length, zlib.crc32(raw)), { inflate: counted }), DamagedBlobError, 'truncated stream');
    assertRejects(() => decodeZipBlob(lyingBlob(Buffer.concat([deflate, Buffer.from('junk')]), raw.length, zlib.crc32(raw)), { inflate: counted }), DamagedBlobError, 'junk after stream');
    assertRejects(() => decodeZipBlob(lyingBlob(Buffer.alloc(0), 0, 0), { inflate: counted }), DamagedBlobError, 'empty deflate data');
    // A header claiming more than any deflate stream of that length can give: not handed to the
    // inflater (which makes its output whole first), and damaged all the same.
    calls = 0;
    assertRejects(() => decodeZipBlob(lyingBlob(deflate, deflate.length * 2000, zlib.crc32(raw)), { inflate: counted }), DamagedBlobError, 'size beyond deflate\'s ratio');
    assert.equal(calls, 0);
  });

  it('a Crc32 given (libdeflate in the workers) checks and writes the same CRC-32 as zlib', () => {
    let calls = 0;
    const crc32 = (d: Uint8Array): number => {
      calls++;
      return crc32Of(d);
    };
    const { blob, info } = encodeZipBlob('c.txt', TEXT, { level: 6, mtimeSec: MTIME, mode: 0o644, crc32 });
    assert.equal(info.crc32, zlib.crc32(TEXT));
    assert.ok(decodeZipBlob(blob, { crc32 }).data.equals(TEXT));
    assert.equal(calls, 2);
    const bad = Buffer.from(blob);
    bad.writeUInt32LE((info.crc32 ^ 1) >>> 0, 14);
    assertRejects(() => decodeZipBlob(bad, { crc32 }), FormatError, 'a CRC-32 that differs from the central copy');
  });

  it('fuzz: a mutated blob decodes to the original data or throws FormatError/DamagedBlobError', () => {
    const bases = [stored, deflated, z64, blobOf('e', Buffer.alloc(0)).blob];
    const originals = [prng(10, 300), TEXT, TEXT, Buffer.alloc(0)];
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('ff' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bases.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, muts) => {
        let b = Buffer.from(bases[which]!);
        for (const m of muts) {
          const at = m.at % (b.length + 1);
          switch (m.kind) {
            case 'flip':
              if (at < b.length) xor(b, at, 1 << m.bit);
              break;
            case 'set':
              if (at < b.length) b[at] = m.value;
              break;
            case 'ff':
              for (let i = at; i < Math.min(b.length, at + m.len); i++) b[i] = 0xff;
              break;
            case 'insert':
              b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
              break;
            case 'delete':
              b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
              break;
            case 'truncate':
              b = b.subarray(0, at);
              break;
          }
        }
        try {
          const d = decodeZipBlob(b);
          return d.data.equals(originals[which]!);
        } catch (e) {
          return isOurError(e);
        }
      }),
      { seed: 20240601, numRuns: 500 },
    );
  });
});

describe('zip blobs: DOS time', () => {
  it('a known UTC time round trips to 2-second precision', () => {
    const t = Date.UTC(2021, 2, 4, 12, 34, 56) / 1000;
    const { date, time } = dosDateTime(t);
    assert.equal(date, ((2021 - 1980) << 9) | (3 << 5) | 4);
    assert.equal(time, (12 << 11) | (34 << 5) | 28);
    assert.equal(fromDosDateTime(date, time), t);
    const odd = dosDateTime(t + 1);
    assert.equal(fromDosDateTime(odd.date, odd.time), t);
    assert.equal(decodeZipBlob(blobOf('t', TEXT, { mtimeSec: t + 1.9 }).blob).info.mtimeSec, t);
  });

  it('clamps before 1980 and after 2107', () => {
    const min = Date.UTC(1980, 0, 1) / 1000;
    const max = Date.UTC(2107, 11, 31, 23, 59, 58) / 1000;
    for (const t of [0, -1e9, min - 1, Number.NaN, Number.NEGATIVE_INFINITY]) {
      const { date, time } = dosDateTime(t);
      assert.equal(fromDosDateTime(date, time), min, String(t));
    }
    assert.deepEqual(dosDateTime(min), { date: (0 << 9) | (1 << 5) | 1, time: 0 });
    for (const t of [max, max + 1, Date.UTC(2200, 0, 1) / 1000, Number.POSITIVE_INFINITY]) {
      const { date, time } = dosDateTime(t);
      assert.equal(fromDosDateTime(date, time), max, String(t));
    }
    assert.equal(decodeZipBlob(blobOf('old', Buffer.from('x'), { mtimeSec: 0 }).blob).info.mtimeSec, min);
  });

  it('rejects DOS fields that are not a real date', () => {
    assert.equal(fromDosDateTime(0, 0), null); // month 0, day 0
    assert.equal(fromDosDateTime((1 << 5) | 1, 0), Date.UTC(1980, 0, 1) / 1000);
  });
});
