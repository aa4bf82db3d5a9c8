import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { blobEntryName, blobNameMatches, classifyEntryName, compareNames, isSafeComponent, isSafeRelativePath, NAME_MAX, utf8Length, utf8Prefix } from '../../src/format/names.js';

describe('entry names', () => {
  it('NAME → NAME.zip when it fits in 255 bytes', () => {
    assert.equal(blobEntryName('a.txt'), 'a.txt.zip');
    assert.equal(blobEntryName('x.zip'), 'x.zip.zip');
    const n = 'n'.repeat(251);
    assert.equal(blobEntryName(n), `${n}.zip`);
  });

  it('uses the short form PREFIX~HASH16.zip beyond 255 bytes, cut on a character boundary', () => {
    const long = 'é'.repeat(127); // 254 bytes: NAME.zip would be 258
    const e = blobEntryName(long);
    assert.ok(utf8Length(e) <= NAME_MAX);
    assert.match(e, /^(é)+~[0-9a-f]{16}\.zip$/);
    assert.equal(Buffer.from(e, 'utf8').toString('utf8'), e, 'no broken character');
    assert.notEqual(blobEntryName('n'.repeat(252)), blobEntryName('n'.repeat(253)));
    assert.ok(blobNameMatches(e, long));
    assert.ok(!blobNameMatches(e, 'é'.repeat(199)));
  });

  it('utf8Prefix never splits a character', () => {
    assert.equal(utf8Prefix('aé', 2), 'a');
    assert.equal(utf8Prefix('📀📀', 5), '📀');
    assert.equal(utf8Prefix('abc', 10), 'abc');
  });

  it('classifies only NAME.zip and NAME/.xtar', () => {
    assert.deepEqual(classifyEntryName('a.txt.zip'), { kind: 'blob', name: 'a.txt.zip' });
    assert.deepEqual(classifyEntryName('dir/.xtar'), { kind: 'nested', name: 'dir' });
    assert.deepEqual(classifyEntryName('.xtar/.xtar'), { kind: 'nested', name: '.xtar' });
    for (const bad of ['../x.zip', '/etc/x.zip', 'a/b/.xtar', '../.xtar', './.xtar', 'a/.xtar/', 'plain', 'a/b.zip', '.zip/..', '', '\0.zip', '../../.xtar']) {
      assert.equal(classifyEntryName(bad), null, `refuses ${JSON.stringify(bad)}`);
    }
    assert.equal(classifyEntryName('..'), null);
  });

  it('safe components and paths', () => {
    for (const ok of ['a', '.xtar', 'résumé', 'with space', 'new\nline', 'back\\slash']) assert.ok(isSafeComponent(ok), ok);
    for (const bad of ['', '.', '..', 'a/b', 'nul\0', 'x'.repeat(256), '\ud800']) assert.ok(!isSafeComponent(bad), JSON.stringify(bad));
    assert.ok(isSafeRelativePath('root/a/b'));
    for (const bad of ['/root', 'root/../x', 'root//x', 'root/', './root', '']) assert.ok(!isSafeRelativePath(bad), bad);
  });

  it('sorts by UTF-8 bytes, not UTF-16 units', () => {
    // U+FF5E (3 bytes, EF BD 9E) sorts before U+1F4C0 (4 bytes, F0 …) in bytes, after it in UTF-16.
    assert.ok(compareNames('\uff5e', '📀') < 0);
    assert.ok('\uff5e' > '📀');
  });
});
