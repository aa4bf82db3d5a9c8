import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { devMajor, devMinor } from '../../src/scan/devices.js';

describe('devMajor / devMinor (Linux dev_t)', () => {
  // [dev_t, major, minor]; dev_t as glibc's makedev builds it.
  const known: [bigint, number, number][] = [
    [0x103n, 1, 3], // /dev/null
    [0x801n, 8, 1], // /dev/sda1
    [0xfff103ffn, 259, 1048575], // what lstat gives for `mknod b 259 1048575` (minor's high bits above the major's)
    [0x100n, 1, 0],
    [0x100000n, 0, 256],
    [0x120006783459an, 0x12345, 0x6789a], // both numbers past the old 8/12-bit fields
    [0xffffffffffffffffn, 0xffffffff, 0xffffffff], // the largest: 32 bits each
  ];
  for (const [dev, major, minor] of known) {
    it(`0x${dev.toString(16)} is ${major}:${minor}`, () => {
      assert.equal(devMajor(dev), major);
      assert.equal(devMinor(dev), minor);
    });
  }
});
