import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { FILE_SYSTEM_ALLOWANCE, MEDIA, parseVolumeSize } from '../../src/pack/volume-size.js';

describe('parseVolumeSize', () => {
  it('reads SI units as powers of 1000 and IEC units as powers of 1024', () => {
    assert.equal(parseVolumeSize('700M'), 700_000_000);
    assert.equal(parseVolumeSize('4.7G'), 4_700_000_000);
    assert.equal(parseVolumeSize('650MiB'), 650 * 1024 * 1024);
    assert.equal(parseVolumeSize('1GiB'), 1024 ** 3);
    assert.equal(parseVolumeSize('10m'), 10_000_000);
    assert.equal(parseVolumeSize('1048576'), 1_048_576);
  });

  it('knows the media presets, less room for the file system', () => {
    assert.equal(parseVolumeSize('cd'), 737_280_000 - FILE_SYSTEM_ALLOWANCE);
    for (const [name, m] of Object.entries(MEDIA)) assert.equal(parseVolumeSize(name), m.capacity - FILE_SYSTEM_ALLOWANCE);
    assert.ok(MEDIA.dvd!.capacity < MEDIA['dvd-dl']!.capacity && MEDIA['dvd-dl']!.capacity < MEDIA.bd!.capacity);
  });

  it('refuses nonsense and tiny volumes with one sentence', () => {
    for (const bad of ['', 'big', '10X', '-5M', '1.2.3G', '100K']) assert.throws(() => parseVolumeSize(bad), UsageError, bad);
  });
});
