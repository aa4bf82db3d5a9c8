/**
 * Encrypted sets (docs/FORMAT.md, "Encrypted sets"): the names of what an encrypted set and volume
 * add, the size age gives a ciphertext, and the age format itself through `age-encryption`, the
 * TypeScript age by age's own author — every encrypted byte xtar writes is an age file, which the
 * `age` command decrypts. No cipher is built here: only age files made and read. `age-encryption`
 * (with the @noble libraries under it, ~60 modules) is loaded the first time an age file is made or
 * read, as the S3 SDK is the first time a set in object storage is: a command on a plain set never
 * loads it (test/e2e/lazy-modules.test.ts).
 */
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';
import type { Decrypter, Encrypter, Identity, Recipient, Stanza } from 'age-encryption';
import { bech32 } from '@scure/base';
import { DamagedBlobError, InputError, UsageError } from '../errors.js';

/** The suffix every encrypted file and blob takes: `NAME.zip` becomes `NAME.zip.age`. */
export const AGE_SUFFIX = '.age';
/** The set's (and every volume's) secret key, encrypted with the passphrase (age's scrypt). */
export const KEY_FILE = 'xtar-key.age';
/** The set's (and every volume's) recipients: age's recipients file, one `age1…` public key a line. */
export const RECIPIENTS_FILE = 'xtar-recipients.txt';
/** The first bytes of every age file (age-encryption.org/v1). */
export const AGE_MAGIC = Buffer.from('age-encryption.org/v1\n', 'latin1');
/** scrypt's work factor (log2 N) for the key file: age's own default. XTAR_SCRYPT_LOG_N lowers it (tests only: scryptLogN). */
export const SCRYPT_LOG_N = 18;

type AgeModule = typeof import('age-encryption');
let ageModule: AgeModule | null = null;
let ageLoading: Promise<AgeModule> | null = null;

/** age-encryption, loaded once, the first time it is needed. */
async function age(): Promise<AgeModule> {
  ageLoading ??= import('age-encryption').then((m) => (ageModule = m));
  return ageLoading;
}

/** age-encryption where it is needed synchronously: only ever after age() (a stanza is made by an Encrypter, which age() gave). */
function loadedAge(): AgeModule {
  if (ageModule === null) throw new Error('age-encryption is used before it was loaded');
  return ageModule;
}

const CHUNK = 64 * 1024;
const TAG = 16;
const NONCE = 16;

/** Whether `bytes` begins as an age file does. */
export function isAgeFile(bytes: Uint8Array): boolean {
  return bytes.length >= AGE_MAGIC.length && Buffer.compare(Buffer.from(bytes.buffer, bytes.byteOffset, AGE_MAGIC.length), AGE_MAGIC) === 0;
}

/** The bytes of an age payload (nonce and STREAM) for `plain` bytes: 16 + plain + 16 per 64 KiB chunk (at least one). */
export function agePayloadBytes(plain: number): number {
  return NONCE + plain + TAG * Math.max(1, Math.ceil(plain / CHUNK));
}

/** A recipient as age writes it: `age1` and 58 bech32 characters (X25519). */
const RECIPIENT_RE = /^age1[02-9ac-hj-np-z]{58}$/;

/** The recipients of a recipients file (age's format: one a line, `#` comments and blank lines pass). */
export function parseRecipients(text: string, where: string): string[] {
  const out: string[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!RECIPIENT_RE.test(line)) throw new InputError(`${where} line ${i + 1} is not an age X25519 recipient (age1…, 62 characters).`, where);
    out.push(line);
  }
  return out;
}

export function encodeRecipients(recipients: readonly string[]): string {
  return `# xtar: every blob and record of this set is encrypted to each of these age recipients\n${recipients.join('\n')}\n`;
}

/*
 * age's X25519 recipient stanza (age-encryption.org/v1, "The X25519 recipient type"), through the
 * package's own Recipient and Identity interfaces, with Node's crypto (OpenSSL) doing the key
 * agreement, HKDF and ChaCha20-Poly1305 key wrap. The package's built-in X25519 goes through WebCrypto
 * calls that cost ~2.4 ms per file to encrypt and ~1.8 ms to decrypt (~12 s per 5,000 files); this
 * one ~0.1 ms. The stanza is byte for byte the one age writes: the `age` command reads it (tested).
 */
const X25519_LABEL = Buffer.from('age-encryption.org/v1/X25519');
const ZERO_NONCE = Buffer.alloc(12);
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

/** A public key's 32 bytes (JWK export: ~50× cheaper than DER's in Node 20). */
function rawPublic(k: KeyObject): Buffer {
  return Buffer.from(k.export({ format: 'jwk' }).x as string, 'base64url');
}

function publicKeyOf(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

function wrapKey(secret: Buffer, share: Uint8Array, recipient: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.concat([share, recipient]), X25519_LABEL, 32));
}

class NodeX25519Recipient implements Recipient {
  private readonly raw: Buffer;
  private readonly key: KeyObject;

  constructor(recipient: string) {
    const d = bech32.decodeToBytes(recipient);
    if (d.prefix !== 'age' || d.bytes.length !== 32) throw new InputError(`${recipient} is not an age X25519 recipient.`);
    this.raw = Buffer.from(d.bytes);
    this.key = publicKeyOf(this.raw);
  }

  wrapFileKey(fileKey: Uint8Array): Stanza[] {
    const eph = generateKeyPairSync('x25519');
    const share = rawPublic(eph.publicKey);
    const secret = diffieHellman({ privateKey: eph.privateKey, publicKey: this.key });
    const c = createCipheriv('chacha20-poly1305', wrapKey(secret, share, this.raw), ZERO_NONCE, { authTagLength: 16 });
    const body = Buffer.concat([c.update(fileKey), c.final(), c.getAuthTag()]);
    return [new (loadedAge().Stanza)(['X25519', b64(share)], body)];
  }
}

class NodeX25519Identity implements Identity {
  private readonly key: KeyObject;
  private readonly recipient: Buffer;

  constructor(identity: string) {
    const d = bech32.decodeToBytes(identity);
    if (d.prefix.toUpperCase() !== 'AGE-SECRET-KEY-' || d.bytes.length !== 32) throw new InputError('That is not an age X25519 identity (AGE-SECRET-KEY-1…).');
    this.key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, d.bytes]), format: 'der', type: 'pkcs8' });
    this.recipient = rawPublic(createPublicKey(this.key));
  }

  unwrapFileKey(stanzas: Stanza[]): Uint8Array | null {
    for (const s of stanzas) {
      if (s.args[0] !== 'X25519' || s.args.length !== 2 || s.body.length !== 32) continue;
      const share = Buffer.from(s.args[1] as string, 'base64');
      if (share.length !== 32) continue;
      const peer = publicKeyOf(share);
      const secret = diffieHellman({ privateKey: this.key, publicKey: peer });
      const d = createDecipheriv('chacha20-poly1305', wrapKey(secret, share, this.recipient), ZERO_NONCE, { authTagLength: 16 });
      d.setAuthTag(s.body.subarray(16));
      try {
        return Buffer.concat([d.update(s.body.subarray(0, 16)), d.final()]);
      } catch {
        // Not this identity's stanza: another may be.
      }
    }
    return null;
  }
}

/** Encrypts to a fixed list of recipients (X25519: one key agreement per file, no key derivation). */
export class AgeWriter {
  private readonly stanzas: NodeX25519Recipient[];
  private e: Encrypter | null = null;
  /** Bytes an age header to these recipients takes (fixed: every X25519 stanza is as long as the next). */
  headerBytes = 0;

  constructor(readonly recipients: readonly string[]) {
    if (recipients.length === 0) throw new InputError('An encrypted set needs at least one recipient.');
    this.stanzas = recipients.map((r) => new NodeX25519Recipient(r));
  }

  /** Load age and learn the header's length (once, before anything is encrypted or sizes are asked). */
  async init(): Promise<this> {
    const e = new (await age()).Encrypter();
    for (const r of this.stanzas) e.addRecipient(r);
    this.e = e;
    const probe = await e.encrypt(new Uint8Array(0));
    this.headerBytes = probe.length - agePayloadBytes(0);
    return this;
  }

  /** The size of the age file of `plain` bytes. */
  sizeOf(plain: number): number {
    return this.headerBytes + agePayloadBytes(plain);
  }

  encrypt(data: Uint8Array): Promise<Uint8Array> {
    return this.encrypter().encrypt(data);
  }

  /** An age file of a stream, as a stream (large blobs, records). */
  encryptStream(data: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
    return this.encrypter().encrypt(data);
  }

  private encrypter(): Encrypter {
    if (this.e === null) throw new Error('AgeWriter.init() was not awaited');
    return this.e;
  }
}

/** Decrypts with the identities given (the set's own, from its key file, and any `--identity` file). */
export class AgeReader {
  private readonly keys: NodeX25519Identity[];
  private d: Promise<Decrypter> | null = null;

  constructor(readonly identities: readonly string[]) {
    this.keys = identities.map((i) => new NodeX25519Identity(i));
  }

  /** age's Decrypter with these identities, made (and age loaded) at the first file read. */
  private decrypter(): Promise<Decrypter> {
    this.d ??= age().then(({ Decrypter }) => {
      const d = new Decrypter();
      for (const k of this.keys) d.addIdentity(k);
      return d;
    });
    return this.d;
  }

  /** The plaintext, or a FormatError when the file is damaged or not for these identities. */
  async decrypt(data: Uint8Array, what: string): Promise<Uint8Array> {
    try {
      return await (await this.decrypter()).decrypt(data);
    } catch (e) {
      throw new DamagedBlobError(`${what} does not decrypt (${(e as Error).message}): it is damaged, or not encrypted to this key`);
    }
  }

  async decryptStream(data: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
    return (await this.decrypter()).decrypt(data);
  }
}

/** A new X25519 identity for a set: its secret key (age's identity file text) and public recipient. */
export async function newSetIdentity(now: Date): Promise<{ identity: string; recipient: string; identityFile: string }> {
  const { generateX25519Identity, identityToRecipient } = await age();
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  const identityFile = `# created: ${now.toISOString()}\n# public key: ${recipient}\n${identity}\n`;
  return { identity, recipient, identityFile };
}

/** The key file: the identity file encrypted with the passphrase (age's scrypt recipient). */
export async function sealKeyFile(identityFile: string, passphrase: string, logN = scryptLogN()): Promise<Uint8Array> {
  const e = new (await age()).Encrypter();
  e.setScryptWorkFactor(logN);
  e.setPassphrase(passphrase);
  return e.encrypt(identityFile);
}

/**
 * scrypt's work factor for a new key file: XTAR_SCRYPT_LOG_N, a setting for tests only (README,
 * "Environment variables"), when it is a whole number from 10 to 22, else age's own. A value that is
 * not a whole number is refused.
 */
export function scryptLogN(): number {
  const given = process.env.XTAR_SCRYPT_LOG_N;
  if (given === undefined || given === '') return SCRYPT_LOG_N;
  if (!/^-?\d+$/.test(given)) throw new UsageError(`XTAR_SCRYPT_LOG_N (a setting for tests) must be a whole number, scrypt's log2 N from 10 to 22, not ${JSON.stringify(given)}.`);
  const v = Number(given);
  return v >= 10 && v <= 22 ? v : SCRYPT_LOG_N;
}

/** The secret keys in an identity file's text (`AGE-SECRET-KEY-1…` lines). */
export function identitiesIn(text: string, where: string): string[] {
  const out = text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('AGE-SECRET-KEY-1'));
  if (out.length === 0) throw new InputError(`${where} holds no age identity (AGE-SECRET-KEY-1…).`, where);
  return out;
}

/** The key file opened with the passphrase: its identities, or an InputError in one sentence (a wrong passphrase). */
export async function openKeyFile(bytes: Uint8Array, passphrase: string, where: string): Promise<string[]> {
  const d = new (await age()).Decrypter();
  d.addPassphrase(passphrase);
  let text: string;
  try {
    text = await d.decrypt(bytes, 'text');
  } catch {
    throw new InputError(`The passphrase does not open ${where}: it is not this set's passphrase (or the key file is damaged); nothing was written.`, where);
  }
  return identitiesIn(text, where);
}
