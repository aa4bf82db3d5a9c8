/** volume.json and xtar-set.json: the bytes xtar has always written, and what a reader refuses. */
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSetMarker, decodeVolumeManifest, encodeSetMarker, encodeVolumeManifest } from '../../src/format/manifest.js';

// A real volume.json, as `xtar pack fixtures/sample --out set` wrote it before the codec existed.
const WRITTEN =
  '{"xtar":"volume","version":1,"backup":"20261201T223542Z","volume":1,"volumes":1,"root":"sample","created":"2026-12-01T22:35:42.992Z","files":7,"bytes":38517,"kind":"full","source":"/work/main/fixtures/sample"}\n';
const INCREMENTAL =
  '{"xtar":"volume","version":2,"backup":"20261201T223600Z","volume":2,"volumes":3,"root":"sample","created":"2026-12-01T22:36:00.000Z","files":1,"bytes":117,"kind":"incremental","base":"20261201T223542Z","source":"/src/sample"}\n';

describe('volume.json', () => {
  it('decodes volume.json from before revision 2.1 (no sum); encodes the same keys and its own sum last', () => {
    for (const text of [WRITTEN, INCREMENTAL]) {
      const m = decodeVolumeManifest(text);
      const { xtar, version, ...fields } = m;
      assert.equal(xtar, 'volume');
      assert.equal(m.summed, undefined);
      const again = encodeVolumeManifest(fields);
      const body = text.trimEnd();
      assert.equal(again, `${body.slice(0, -1)},"sum":"${createHash('sha256').update(body).digest('hex')}"}\n`);
      assert.equal(decodeVolumeManifest(again).summed, true);
      assert.equal(version, m.kind === 'full' ? 1 : 2);
    }
    const m = decodeVolumeManifest(INCREMENTAL);
    assert.equal(m.base, '20261201T223542Z');
    assert.equal(m.volume, 2);
    assert.equal(m.volumes, 3);
  });

  it('revision 2.1: the records\' digests round-trip, and any flipped bit fails the sum (never believed)', () => {
    const { xtar: _x, version: _v, ...fields } = decodeVolumeManifest(INCREMENTAL);
    const text = encodeVolumeManifest({ ...fields, structureSha256: 'a'.repeat(64), catalogSha256: 'b'.repeat(64) });
    const m = decodeVolumeManifest(text);
    assert.equal(m.structureSha256, 'a'.repeat(64));
    assert.equal(m.catalogSha256, 'b'.repeat(64));
    const bytes = Buffer.from(text);
    const keyAt = text.indexOf('"sum"');
    let believed = 0;
    for (let bit = 0; bit < (bytes.length - 1) * 8; bit++) {
      const b = Buffer.from(bytes);
      b[bit >> 3] = (b[bit >> 3] as number) ^ (1 << (bit & 7));
      let d: ReturnType<typeof decodeVolumeManifest> | null = null;
      try {
        d = decodeVolumeManifest(b.toString('utf8'));
      } catch {
        continue;
      }
      // Only a flip in the key "sum" itself leaves a manifest that decodes: as one without a sum, whose values are intact.
      assert.ok((bit >> 3) > keyAt && (bit >> 3) < keyAt + 5, `bit ${bit} gave a manifest that decodes`);
      assert.deepEqual({ ...d, summed: true }, m);
      believed++;
    }
    assert.ok(believed <= 3 * 8);
  });

  it('ignores keys it does not know', () => {
    const m = decodeVolumeManifest(WRITTEN.replace('"files":7', '"label":"disc 1","files":7'));
    assert.equal(m.files, 7);
    assert.equal('label' in m, false);
  });

  it('refuses what is not a manifest, a newer version, and numbers that cannot be', () => {
    const cases: [string, RegExp][] = [
      ['{"xtar":"catalog","version":1}', /^volume\.json: not an xtar volume manifest\.$/],
      [WRITTEN.replace('"version":1', '"version":7'), /^volume\.json: format version 7 is newer than this xtar understands \(2\); upgrade xtar\.$/],
      [WRITTEN.replace('"volume":1', '"volume":0'), /^volume\.json: volume 0 of 1 is not a volume of the backup\.$/],
      [WRITTEN.replace('"volumes":1', '"volumes":-1'), /^volume\.json: volumes must be a whole number ≥ 0\.$/],
      [WRITTEN.replace('"root":"sample"', '"root":"../x"'), /^volume\.json: /],
      [WRITTEN.replace('"root":"sample"', '"root":"a/b"'), /^volume\.json: root must be a single name\.$/],
      [WRITTEN.replace('"backup":"20261201T223542Z"', '"backup":"yesterday"'), /^volume\.json: backup must be a backup id\.$/],
      [WRITTEN.replace('"kind":"full"', '"kind":"weekly"'), /^volume\.json: unknown backup kind "weekly"\.$/],
      ['not json', /^volume\.json: not a JSON object\.$/],
    ];
    for (const [text, want] of cases) assert.throws(() => decodeVolumeManifest(text), { name: 'FormatError', message: want }, text);
  });
});

describe('xtar-set.json', () => {
  it('is the marker xtar has always written, and reads back', () => {
    assert.equal(encodeSetMarker(), '{"xtar":"set","version":1}\n');
    assert.deepEqual(decodeSetMarker(encodeSetMarker()), { xtar: 'set', version: 1 });
  });

  it('refuses another file and a newer layout', () => {
    assert.throws(() => decodeSetMarker('{"xtar":"volume","version":1}'), { message: /^xtar-set\.json: not an xtar set marker\.$/ });
    assert.throws(() => decodeSetMarker('{"xtar":"set","version":2}'), { message: /^xtar-set\.json: set layout version 2 is newer than this xtar understands \(1\); upgrade xtar\.$/ });
  });
});
