import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputError } from '../../src/errors.js';
import { encodeCatalogLine, type BlobPart, type CatalogFile } from '../../src/format/records.js';
import { encodeHeader, paddingLength } from '../../src/format/tar.js';
import { ISO_OVERHEAD } from '../../src/pack/iso.js';
import { dirHeaderBytes, MIN_PART, placeBlob, Room, volumeLimit, wholeEntryBytes, WIDEST_PARTS, type OpenDir, type Placer, type VolumeFill } from '../../src/pack/placement.js';

const WIDEST_HEADER = 120;

class SimVolume implements VolumeFill {
  archiveBytes: number;
  catalogBytes: number;
  readonly ownStart: number;
  constructor(readonly number: number, readonly headerBytes: number, archiveBytes: number, catalogBytes: number) {
    this.archiveBytes = archiveBytes;
    this.catalogBytes = catalogBytes;
    this.ownStart = catalogBytes;
  }
}

interface Written {
  blob: number;
  volume: number;
  from: number;
  length: number;
}

/** The volume writer's bookkeeping without files: entries, folders and catalog lines as byte counts. */
class Sim implements Placer<number> {
  readonly room: Room;
  readonly volumes: SimVolume[] = [];
  readonly written: Written[] = [];
  /** usage(0, 0) of each volume as it was closed. */
  readonly closedAt: number[] = [];
  cur!: SimVolume;

  constructor(limit: number, readonly structureBytes: number, readonly structureGzBytes: number) {
    this.room = new Room(limit, structureBytes, structureGzBytes, WIDEST_HEADER);
    this.open();
  }

  get current(): VolumeFill {
    return this.cur;
  }

  get volumeNumber(): number {
    return this.cur.number;
  }

  private open(): void {
    const number = this.volumes.length + 1;
    const header = WIDEST_HEADER - (4 - String(number).length);
    const prev = this.volumes.at(-1);
    const carried = prev === undefined ? 0 : prev.catalogBytes - prev.headerBytes;
    this.cur = new SimVolume(number, header, 512 + this.structureGzBytes + paddingLength(this.structureGzBytes), header + carried);
    this.volumes.push(this.cur);
    for (const d of this.room.chain) this.cur.archiveBytes += dirHeaderBytes(d);
  }

  close(): void {
    this.closedAt.push(this.room.usage(this.cur, 0, 0));
  }

  async rollover(): Promise<void> {
    this.close();
    this.open();
  }

  async writeEntry(name: string, mtimeSec: number, blob: number, from: number, length: number): Promise<number> {
    const offset = this.cur.archiveBytes + encodeHeader({ name, size: length, mtimeSec }).length;
    this.cur.archiveBytes = offset + length + paddingLength(length);
    this.written.push({ blob, volume: this.cur.number, from, length });
    return offset;
  }

  async openDir(d: OpenDir): Promise<void> {
    if (!this.room.dirFits(this.cur, d)) await this.rollover();
    this.room.chain.push(d);
    this.cur.archiveBytes += dirHeaderBytes(d);
  }

  closeDir(): void {
    this.room.chain.pop();
    this.cur.archiveBytes += 1024;
  }

  /** As VolumeWriter.addBlob, then the catalog line recorded in the current volume. */
  async addBlob(blob: number, name: string, length: number): Promise<BlobPart[]> {
    const line = (parts: BlobPart[]): CatalogFile => ({ path: `d/${name}`, size: length, sha256: 'a'.repeat(64), crc32: 0xffffffff, method: 'deflate', parts });
    const lineBound = Buffer.byteLength(encodeCatalogLine(line(WIDEST_PARTS))) + 1;
    const whole = wholeEntryBytes(`${name}.zip`, 0, length);
    const parts = this.room.fits(this.cur, whole, lineBound)
      ? [{ volume: this.cur.number, offset: await this.writeEntry(`${name}.zip`, 0, blob, 0, length), length }]
      : await placeBlob(this.room, this, `${name}.zip`, name, 0, blob, length, whole, lineBound);
    this.cur.catalogBytes += Buffer.byteLength(encodeCatalogLine(line(parts))) + 1;
    return parts;
  }
}

type Op = { kind: 'blob'; length: number; name: string } | { kind: 'enter'; name: string } | { kind: 'exit' };

describe('placement', () => {
  it('volumeLimit keeps room for par2 and for an ISO image, and has no limit without a size', () => {
    assert.equal(volumeLimit(null, 10, true), Number.MAX_SAFE_INTEGER);
    assert.equal(volumeLimit(10_000_000, null, false), 10_000_000);
    assert.equal(volumeLimit(10_000_000, null, true), 10_000_000 - ISO_OVERHEAD);
    const withPar2 = volumeLimit(10_000_000, 10, false);
    assert.ok(withPar2 < 10_000_000 && withPar2 > 8_000_000, String(withPar2));
  });

  it('puts a blob that fits in the current volume there, whole', async () => {
    const s = new Sim(1024 * 1024, 1000, 300);
    assert.deepEqual((await s.addBlob(1, 'a', 100_000)).map((p) => [p.volume, p.length]), [[1, 100_000]]);
    assert.deepEqual((await s.addBlob(2, 'b', 100_000)).map((p) => [p.volume, p.length]), [[1, 100_000]]);
    assert.equal(s.volumes.length, 1);
  });

  it('moves a blob that fits in a fresh volume to the next one whole, rather than splitting it', async () => {
    const s = new Sim(1024 * 1024, 1000, 300);
    await s.addBlob(1, 'a', 600_000);
    const parts = await s.addBlob(2, 'b', 600_000);
    assert.deepEqual(parts.map((p) => [p.volume, p.length]), [[2, 600_000]]);
    assert.equal(s.written.filter((w) => w.blob === 2).length, 1);
  });

  it('splits a blob larger than a volume: the first part fills what is left, the rest on the next volumes', async () => {
    const s = new Sim(1024 * 1024, 1000, 300);
    await s.addBlob(1, 'a', 200_000);
    const parts = await s.addBlob(2, 'b', 2_500_000);
    assert.deepEqual(parts.map((p) => p.volume), [1, 2, 3]);
    assert.ok((parts[0]?.length ?? 0) >= MIN_PART && (parts[0]?.length ?? 0) % 512 === 0);
    assert.equal(parts.reduce((n, p) => n + p.length, 0), 2_500_000);
  });

  it('starts the first part in the next volume when less than MIN_PART is left', async () => {
    const s = new Sim(1024 * 1024, 1000, 300);
    await s.addBlob(1, 'a', 1_000_000);
    assert.ok(s.room.partRoom(s.cur, 512, 300) < MIN_PART);
    const parts = await s.addBlob(2, 'b', 2_000_000);
    assert.equal(parts[0]?.volume, 2);
  });

  it('says --volume-size is too small when a fresh volume cannot hold any part', async () => {
    const s = new Sim(17 * 1024, 1000, 300);
    await assert.rejects(s.addBlob(1, 'a', 100_000), (e: unknown) => e instanceof InputError && /--volume-size is too small: a volume cannot hold even part of a\.zip/.test(e.message));
  });

  it('a blob in 20 parts whose last part fills its volume: the volume still holds the 20-part catalog line', async () => {
    // First learn how a long blob is cut, then place one that ends exactly where part 20 fills its volume.
    const probe = new Sim(256 * 1024, 2000, 600);
    const cut = await probe.addBlob(1, 'n'.repeat(60), 60 * 256 * 1024);
    const length = cut.slice(0, 20).reduce((n, p) => n + p.length, 0);
    const s = new Sim(256 * 1024, 2000, 600);
    const parts = await s.addBlob(1, 'n'.repeat(60), length);
    assert.equal(parts.length, 20);
    s.close();
    for (const u of s.closedAt) assert.ok(u <= 256 * 1024, `a volume would take ${u} of ${256 * 1024} bytes`);
  });

  it('with less than MIN_PART in a fresh volume, parts still take consecutive volumes and none is left empty', async () => {
    const s = new Sim(100 * 1024, 30_000, 8_000);
    assert.ok(s.room.partRoom(s.cur, 512, 300) < MIN_PART, 'a fresh volume has less than MIN_PART');
    await s.addBlob(1, 'first', 10_000);
    const parts = await s.addBlob(2, 'big', 1_000_000);
    assert.deepEqual(
      parts.map((p) => p.volume),
      parts.map((_, k) => (parts[0]?.volume ?? 0) + k),
    );
    const used = new Set(s.written.map((w) => w.volume));
    for (const v of s.volumes) assert.ok(used.has(v.number), `volume ${v.number} holds no entry`);
  });

  it('property: no volume over its size; every blob placed once, whole or in consecutive parts', async () => {
    const name = fc.string({ minLength: 1, maxLength: 60, unit: fc.constantFrom('a', 'b', 'é', '-', 'ß') });
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('blob' as const), length: fc.oneof(fc.nat(60_000), fc.nat(3_000_000)), name }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('enter' as const), name }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('exit' as const) }) },
    );
    await fc.assert(
      // Volumes from 128 KiB: with these records a fresh volume may have less than MIN_PART for a part
      // (a part then takes what there is, and the next volume the next part), but always some room.
      fc.asyncProperty(fc.integer({ min: 128 * 1024, max: 1024 * 1024 }), fc.nat(20_000), fc.nat(5_000), fc.array(op, { maxLength: 150 }), async (size, structure, gz, ops) => {
        const s = new Sim(size, structure, gz);
        const placed = new Map<number, { length: number; parts: BlobPart[] }>();
        let depth = 0;
        for (const [i, o] of ops.entries()) {
          if (o.kind === 'enter' && depth < 8) {
            await s.openDir({ entry: `${o.name}/.xtar`, mtimeSec: 0, large: false });
            depth++;
          } else if (o.kind === 'exit' && depth > 0) {
            s.closeDir();
            depth--;
          } else if (o.kind === 'blob') {
            // Up to 3 MB on volumes from 128 KiB: blobs in 25 parts and more, whose catalog line grows with each part.
            placed.set(i, { length: o.length, parts: await s.addBlob(i, o.name, o.length) });
          }
        }
        s.close();
        assert.equal(s.closedAt.length, s.volumes.length);
        for (const u of s.closedAt) assert.ok(u <= size, `a volume would take ${u} of ${size} bytes`);
        for (const [blob, { length, parts }] of placed) {
          const w = s.written.filter((x) => x.blob === blob);
          assert.equal(w.length, parts.length, 'one entry per part');
          assert.equal(parts.reduce((n, p) => n + p.length, 0), length, 'parts sum to the blob');
          let from = 0;
          for (const [k, p] of parts.entries()) {
            assert.deepEqual([w[k]?.volume, w[k]?.from, w[k]?.length], [p.volume, from, p.length], 'parts in order');
            if (k > 0) assert.equal(p.volume, (parts[k - 1]?.volume ?? 0) + 1, 'parts on consecutive volumes');
            from += p.length;
          }
        }
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
