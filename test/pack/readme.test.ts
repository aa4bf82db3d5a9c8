/** README.txt (src/pack/readme.ts): whatever the backup, it fits the room placement keeps for it. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { volumeReadme, type ReadmeInfo } from '../../src/pack/readme.js';
import { README_RESERVE } from '../../src/pack/placement.js';

describe('volumeReadme', () => {
  it('fits README_RESERVE with the longest root name (255 bytes), plain and encrypted, in a chain', () => {
    const i: ReadmeInfo = {
      backupId: '20261202T072623Z',
      volume: 999,
      volumes: 999,
      root: 'é'.repeat(127) + 'r',
      archive: '20261202T072623Z-vol999.xtar',
      created: '2026-12-02T07:26:23.107Z',
      files: 1e9,
      bytes: 1e15,
      kind: 'incremental',
      base: '20261201T072623Z',
    };
    for (const sealed of [undefined, { key: true }]) {
      const size = Buffer.byteLength(volumeReadme(sealed === undefined ? i : { ...i, sealed }));
      assert.ok(size < README_RESERVE, `README.txt of ${size} bytes (${sealed ? 'encrypted' : 'plain'}) fits ${README_RESERVE}`);
    }
  });
});
