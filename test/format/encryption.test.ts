/**
 * src/format/encryption.ts: the age files xtar makes are the `age` command's (both ways), their size
 * is known before they are made (placement needs it), a wrong passphrase is an InputError, and the
 * names of encrypted blobs fit 255 bytes and match their zip's name.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { run, xtar } from '../helpers/cli.js';
import { removeTree, tempDir } from '../helpers/tree.js';
import { agePayloadBytes, AgeReader, AgeWriter, identitiesIn, isAgeFile, newSetIdentity, openKeyFile, parseRecipients, SCRYPT_LOG_N, scryptLogN, sealKeyFile } from '../../src/format/encryption.js';
import { blobEntryName, blobNameMatches, classifyEntryName, NAME_MAX, partBaseMatches, partBaseName, partEntryName, SEALED_BLOB_SUFFIX, utf8Length } from '../../src/format/names.js';
import { InputError, UsageError } from '../../src/errors.js';

describe('age files', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await removeTree(dir);
  });

  it('sizeOf gives the exact size of the age file, for one and for two recipients', async () => {
    const a = await newSetIdentity(new Date(0));
    const b = await newSetIdentity(new Date(0));
    for (const recipients of [[a.recipient], [a.recipient, b.recipient]]) {
      const w = await new AgeWriter(recipients).init();
      for (const n of [0, 1, 65535, 65536, 65537, 200_000]) {
        const c = await w.encrypt(new Uint8Array(n));
        assert.equal(c.length, w.sizeOf(n), `${n} bytes to ${recipients.length}`);
        assert.ok(isAgeFile(c));
      }
    }
    assert.equal(agePayloadBytes(0), 32);
    assert.equal(agePayloadBytes(65536), 16 + 65536 + 16);
  });

  it('age decrypts what xtar encrypts, and xtar what age encrypts (X25519)', async () => {
    const id = await newSetIdentity(new Date(0));
    await writeFile(join(dir, 'id.txt'), id.identityFile);
    const w = await new AgeWriter([id.recipient]).init();
    await writeFile(join(dir, 'x.age'), await w.encrypt(Buffer.from('from xtar\n')));
    const d = await run('age', ['-d', '-i', join(dir, 'id.txt'), join(dir, 'x.age')]);
    assert.equal(d.status, 0, d.stderr);
    assert.equal(d.stdout, 'from xtar\n');
    await writeFile(join(dir, 'plain.txt'), 'from age\n');
    const e = await run('age', ['-e', '-r', id.recipient, '-o', join(dir, 'y.age'), join(dir, 'plain.txt')]);
    assert.equal(e.status, 0, e.stderr);
    const r = new AgeReader(identitiesIn(await readFile(join(dir, 'id.txt'), 'utf8'), 'id.txt'));
    assert.equal(Buffer.from(await r.decrypt(await readFile(join(dir, 'y.age')), 'y.age')).toString(), 'from age\n');
  });

  it('a damaged age file does not decrypt; a file for another key neither', async () => {
    const id = await newSetIdentity(new Date(0));
    const other = await newSetIdentity(new Date(0));
    const c = await (await new AgeWriter([id.recipient]).init()).encrypt(new Uint8Array(5000));
    const bad = Buffer.from(c);
    bad[bad.length - 100] = (bad[bad.length - 100] as number) ^ 1;
    await assert.rejects(new AgeReader([id.identity]).decrypt(bad, 'bad'), /does not decrypt/);
    await assert.rejects(new AgeReader([other.identity]).decrypt(c, 'c'), /does not decrypt/);
  });

  it('the key file opens with its passphrase only', async () => {
    const id = await newSetIdentity(new Date(0));
    const key = await sealKeyFile(id.identityFile, 'right one', 10);
    assert.deepEqual(await openKeyFile(key, 'right one', 'k'), [id.identity]);
    await assert.rejects(openKeyFile(key, 'wrong one', 'k'), (e: unknown) => e instanceof InputError && /passphrase does not open k/.test(e.message) && !e.message.includes('wrong one'));
  });

  it('a recipients file: comments and blank lines pass; anything else is refused with its line', async () => {
    const id = await newSetIdentity(new Date(0));
    assert.deepEqual(parseRecipients(`# mine\n\n${id.recipient}\n`, 'f'), [id.recipient]);
    assert.throws(() => parseRecipients('age1nope\n', 'f'), /f line 1/);
  });
});

describe('XTAR_SCRYPT_LOG_N (tests only)', () => {
  it('a whole number from 10 to 22 is taken, another whole number ignored, anything else refused in one sentence', () => {
    const was = process.env.XTAR_SCRYPT_LOG_N;
    try {
      for (const [given, want] of [['12', 12], ['22', 22], ['9', SCRYPT_LOG_N], ['', SCRYPT_LOG_N]] as const) {
        process.env.XTAR_SCRYPT_LOG_N = given;
        assert.equal(scryptLogN(), want, given);
      }
      for (const given of ['fast', '12.5', '1e1', ' 12']) {
        process.env.XTAR_SCRYPT_LOG_N = given;
        assert.throws(() => scryptLogN(), (e: unknown) => e instanceof UsageError && e.message.includes(JSON.stringify(given)) && !e.message.includes('\n'), given);
      }
    } finally {
      if (was === undefined) delete process.env.XTAR_SCRYPT_LOG_N;
      else process.env.XTAR_SCRYPT_LOG_N = was;
    }
  });

  it('pack --encrypt with a value that is not a whole number ends at once (exit 2), writing nothing', async () => {
    const dir = await tempDir();
    try {
      await writeFile(join(dir, 'a.txt'), 'a');
      const r = await xtar(['pack', join(dir, 'a.txt'), '--out', join(dir, 'set'), '--encrypt'], { env: { ...process.env, XTAR_PASSPHRASE: 'pass word', XTAR_SCRYPT_LOG_N: 'fast' } });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^xtar: XTAR_SCRYPT_LOG_N \(a setting for tests\) must be a whole number[^\n]*"fast"\.\n/);
      assert.equal(existsSync(join(dir, 'set')), false);
    } finally {
      await removeTree(dir);
    }
  });
});

describe('encrypted blob names', () => {
  it('NAME.zip.age, or a short form that fits 255 bytes, and its parts too; each matches its zip name', () => {
    for (const name of ['a', 'x.zip', 'é'.repeat(127), 'n'.repeat(250), 'n'.repeat(255)]) {
      const entry = blobEntryName(name, false, SEALED_BLOB_SUFFIX);
      assert.ok(entry.endsWith('.zip.age') && utf8Length(entry) <= NAME_MAX, entry);
      assert.ok(blobNameMatches(entry, name), `${entry} matches ${name}`);
      assert.equal(blobNameMatches(entry, `${name}x`), false);
      assert.deepEqual(classifyEntryName(entry), { kind: 'blob', name: entry });
      const base = partBaseName(name, false, SEALED_BLOB_SUFFIX);
      const part = partEntryName(base, 2);
      assert.ok(utf8Length(part) <= NAME_MAX, part);
      assert.deepEqual(classifyEntryName(part), { kind: 'part', name: part, base, index: 2 });
      assert.ok(partBaseMatches(base, name));
    }
    // A plain set's names are unchanged.
    assert.equal(blobEntryName('a'), 'a.zip');
  });
});
