/**
 * An encrypted set on disk: its recipients file and key file (the set's and every volume's copies),
 * made when the set's first backup is, and the set's key opened with a passphrase or an identity
 * file; which passphrase a pack needs (packPassphrase: the CLI asks only when it says so). The age
 * format and the names are src/format/encryption.ts's.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { parseStoreUrl } from '../store/s3-url.js';
import { setVolumes } from './locate.js';
import { AgeWriter, encodeRecipients, identitiesIn, KEY_FILE, newSetIdentity, openKeyFile, parseRecipients, RECIPIENTS_FILE, sealKeyFile } from '../format/encryption.js';
import { parseVolumeName } from '../format/layout.js';

/** What a pack asks for: a passphrase (a key of the set's own, in its key file), recipients, or both. */
export interface EncryptionRequest {
  passphrase?: string;
  /** age X25519 recipients (`age1…`) to encrypt to as well as (or, without a passphrase, instead of) the set's own key. */
  recipients?: readonly string[];
}

/** How a reader opens an encrypted set: its passphrase (which opens the key file) and/or age identity files. */
export interface KeySource {
  passphrase?: string;
  identityFiles?: readonly string[];
}

/** An encrypted set's (or volume's) files, as found in its folder. */
export interface SealedFolder {
  recipients: string[];
  /** The key file's bytes (absent when the set was made with recipients only). */
  keyFile: Uint8Array | null;
}

/** A set's encryption for a pack: who it encrypts to, and what each volume carries. */
export interface PackSealing {
  writer: AgeWriter;
  recipients: string[];
  keyFile: Uint8Array | null;
  /** The set's secret keys, when known (a new set's own, or opened with the passphrase): they read its records. */
  identities: string[] | null;
}

async function readIf(path: string): Promise<Buffer | null> {
  return readFile(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
}

/** The encryption files of a set or volume folder; null when it is not encrypted. */
export async function sealedFolder(dir: string): Promise<SealedFolder | null> {
  const rec = await readIf(join(dir, RECIPIENTS_FILE));
  if (rec === null) return null;
  return { recipients: parseRecipients(rec.toString('utf8'), join(dir, RECIPIENTS_FILE)), keyFile: await readIf(join(dir, KEY_FILE)) };
}

/** An s3:// set's recipients and key file, read from the bucket (the S3 SDK loaded only then); null for a plain set. */
async function remoteSealed(url: string): Promise<SealedFolder | null | undefined> {
  const loc = parseStoreUrl(url);
  if (loc === null) return undefined;
  const { RemoteSet } = await import('./remote-set.js');
  return RemoteSet.sealedFolder(loc);
}

/**
 * Whether an input a command reads (a set, a volume folder, an .xtar, or an s3:// set) is encrypted:
 * its recipients and key file, or null. A set folder whose own files were lost still has them on
 * every volume.
 */
export async function sealedInput(input: string): Promise<SealedFolder | null> {
  const remote = await remoteSealed(input);
  if (remote !== undefined) return remote;
  return sealedFolder(sealedDirOf(input)).catch(() => null);
}

/**
 * A pack's output before it runs (a set folder or an s3:// set): its encryption files, and whether it
 * holds backups (an encrypted set in a bucket is taken to: its key is asked for, as for a folder that does).
 */
export async function sealedOutput(out: string): Promise<{ found: SealedFolder | null; hasBackups: boolean }> {
  const remote = await remoteSealed(out);
  if (remote !== undefined) return { found: remote, hasBackups: true };
  const set = resolve(out);
  return { found: await sealedFolder(set).catch(() => null), hasBackups: await holdsBackups(set) };
}

/** The folder whose encryption files say whether an input is encrypted: a set or volume folder, or an .xtar's folder; a set's first volume that has them. */
function sealedDirOf(input: string): string {
  const abs = resolve(input);
  let dir = abs;
  try {
    if (!statSync(abs).isDirectory()) dir = dirname(abs);
  } catch {
    return abs;
  }
  if (existsSync(join(dir, RECIPIENTS_FILE))) return dir;
  const vol = safeList(dir).find((n) => parseVolumeName(n) !== null && existsSync(join(dir, n, RECIPIENTS_FILE)));
  return vol === undefined ? dir : join(dir, vol);
}

function safeList(d: string): string[] {
  try {
    return readdirSync(d).sort();
  } catch {
    return [];
  }
}

/** The age recipients a pack is given: each `age1…` key as given, then each recipients file's, checked. */
export async function recipientsFrom(given: readonly string[], files: readonly string[]): Promise<string[]> {
  const out = [...given];
  for (const f of files) {
    const text = await readFile(f, 'utf8').catch((e: Error) => {
      throw new InputError(`Cannot read the recipients file ${f}: ${e.message}`, f);
    });
    out.push(...parseRecipients(text, f));
  }
  for (const r of given) parseRecipients(r, '--recipient');
  return out;
}

/** Whether a set folder holds backups (a missing folder holds none): then a pack into it, encrypted, reads their records with the set's key. */
export async function holdsBackups(set: string): Promise<boolean> {
  return (await setVolumes(set).catch(() => new Map<string, unknown>())).size > 0;
}

/** What a pack is offered toward a set's encryption, before any passphrase is asked. */
export interface PackKeyOffer {
  /** A key of the set's own is asked for (`--encrypt`): a new set then needs a passphrase. */
  ownKey: boolean;
  recipients: number;
  identityFiles: number;
  /** A passphrase is at hand without asking (given in the request, or by a file or the environment). */
  passphraseGiven: boolean;
}

/**
 * The passphrase a pack needs, decided here once, from the set as found: the CLI asks for one only
 * when this says so, and packSealing opens (or makes) the set's key by the same answer.
 * - `none`: a plain set; an encrypted set without backups (nothing of it is read), made with
 *   recipients only, or opened by the identity files given alone;
 * - `new`: a new set with a key of its own: the passphrase is required (typed twice at a prompt);
 * - `optional`: a new set to recipients: a key of its own only if a passphrase is given unasked;
 * - `set`: the set's own, which opens its key file so that the earlier backups' records are read.
 */
export type PackPassphrase = 'none' | 'new' | 'optional' | 'set';

export function packPassphrase(found: SealedFolder | null, hasBackups: boolean, offer: PackKeyOffer): PackPassphrase {
  if (found === null) return offer.ownKey ? 'new' : offer.recipients > 0 ? 'optional' : 'none';
  if (!hasBackups || found.keyFile === null) return 'none';
  return offer.identityFiles > 0 && !offer.passphraseGiven ? 'none' : 'set';
}

/**
 * The set's sealing for a pack: an encrypted set stays encrypted to its own recipients (asked or
 * not); a new (or empty) set becomes encrypted when asked, with a key of its own when a passphrase
 * is given. A set that already holds plain backups is not made encrypted.
 */
export async function packSealing(set: string, want: EncryptionRequest | undefined, hasBackups: boolean, now: Date): Promise<PackSealing | null> {
  const found = await sealedFolder(set);
  if (found !== null) {
    if (want?.recipients !== undefined && want.recipients.some((r) => !found.recipients.includes(r))) {
      throw new InputError(`${set} is encrypted to its recipients in ${RECIPIENTS_FILE}; they are chosen when the set is made (a new set takes other recipients).`, set);
    }
    const passphrase = want?.passphrase;
    const need = packPassphrase(found, hasBackups, { ownKey: false, recipients: want?.recipients?.length ?? 0, identityFiles: 0, passphraseGiven: passphrase !== undefined });
    const identities = need === 'set' && passphrase !== undefined && found.keyFile !== null ? await openKeyFile(found.keyFile, passphrase, join(set, KEY_FILE)) : null;
    return { writer: await new AgeWriter(found.recipients).init(), recipients: found.recipients, keyFile: found.keyFile, identities };
  }
  if (want === undefined) return null;
  if (hasBackups) throw new InputError(`${set} holds backups that are not encrypted: an encrypted backup goes into a new set.`, set);
  const recipients = [...(want.recipients ?? [])];
  let keyFile: Uint8Array | null = null;
  let identities: string[] | null = null;
  if (want.passphrase !== undefined) {
    if (want.passphrase === '') throw new InputError('The passphrase is empty.');
    const own = await newSetIdentity(now);
    keyFile = await sealKeyFile(own.identityFile, want.passphrase);
    recipients.unshift(own.recipient);
    identities = [own.identity];
  }
  if (recipients.length === 0) throw new InputError('An encrypted pack needs a passphrase or at least one --recipient.');
  // The key file first: a set with a recipients file and no key file is one made with recipients only.
  if (keyFile !== null) await writeFile(join(set, KEY_FILE), keyFile, { mode: 0o600 });
  await writeFile(join(set, RECIPIENTS_FILE), encodeRecipients(recipients));
  return { writer: await new AgeWriter(recipients).init(), recipients, keyFile, identities };
}

/** How a pack opens an encrypted set's key: the passphrase it was given (`want`), and the identity files. */
export function packKeySource(want: EncryptionRequest | undefined, keys: KeySource | undefined): KeySource {
  return { ...(want?.passphrase === undefined ? {} : { passphrase: want.passphrase }), ...keys };
}

/**
 * The secret keys that open an encrypted set or volume: its key file opened with the passphrase
 * (a wrong one is an InputError, one sentence), and the identities of any identity files.
 */
export async function openKeys(folder: SealedFolder, where: string, keys: KeySource): Promise<string[]> {
  const out: string[] = [];
  for (const f of keys.identityFiles ?? []) {
    const text = await readFile(f, 'utf8').catch((e: Error) => {
      throw new InputError(`Cannot read the identity file ${f}: ${e.message}`, f);
    });
    out.push(...identitiesIn(text, f));
  }
  if (keys.passphrase !== undefined) {
    if (folder.keyFile === null) {
      if (out.length === 0) throw new InputError(`${where} was encrypted to recipients only (no ${KEY_FILE}): give the identity file of one (--identity FILE).`, where);
    } else out.push(...(await openKeyFile(folder.keyFile, keys.passphrase, join(where, KEY_FILE))));
  }
  if (out.length === 0) throw new InputError(`${where} is encrypted: give its passphrase (XTAR_PASSPHRASE, --passphrase-file, or typed at the prompt) or --identity FILE.`, where);
  return out;
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
