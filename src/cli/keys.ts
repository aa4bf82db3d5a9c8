/**
 * The passphrase and identities of an encrypted set, as the command line gets them: XTAR_PASSPHRASE,
 * --passphrase-file FILE, or typed at a prompt on a terminal (never an argument: a command line is
 * visible to every user of the machine and kept in shell histories); --identity FILE for age
 * identity files. The passphrase is never printed, logged or put in an error.
 */
import { readFile } from 'node:fs/promises';
import { InputError, UsageError } from '../errors.js';
import { useKeys } from '../format/keyring.js';
import { openKeys, packPassphrase, recipientsFrom, sealedInput, sealedOutput, type EncryptionRequest, type KeySource } from '../set/encryption.js';

export interface KeyArgs {
  passphraseFile?: string | undefined;
  identity?: (string | number)[] | undefined;
}

/** The passphrase given without a prompt (--passphrase-file, else XTAR_PASSPHRASE), or undefined. */
export async function givenPassphrase(a: KeyArgs): Promise<string | undefined> {
  if (a.passphraseFile !== undefined) {
    const text = await readFile(a.passphraseFile, 'utf8').catch((e: Error) => {
      throw new InputError(`Cannot read the passphrase file ${a.passphraseFile}: ${(e as NodeJS.ErrnoException).code ?? e.message}.`, a.passphraseFile);
    });
    // The first line, as age's and gpg's passphrase files are read.
    return text.split(/\r?\n/)[0] as string;
  }
  const env = process.env.XTAR_PASSPHRASE;
  return env === undefined || env === '' ? undefined : env;
}

/** Whether a passphrase is given without a prompt (not yet read). */
function passphraseOffered(a: KeyArgs): boolean {
  return a.passphraseFile !== undefined || (process.env.XTAR_PASSPHRASE ?? '') !== '';
}

/** Ask on the terminal, without echo. */
export function promptPassphrase(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((done, fail) => {
    process.stderr.write(question);
    let typed = '';
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (b: Buffer): void => {
      for (const c of b.toString('utf8')) {
        if (c === '\r' || c === '\n') {
          finish();
          done(typed);
          return;
        }
        if (c === '\u0003') {
          finish();
          fail(new InputError('No passphrase was given (interrupted).'));
          return;
        }
        if (c === '\u007f' || c === '\b') typed = typed.slice(0, -1);
        else typed += c;
      }
    };
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

function onTerminal(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/** The passphrase: given, else typed (on a terminal), else null. */
async function passphraseFor(a: KeyArgs, what: string, confirm = false): Promise<string | null> {
  const given = await givenPassphrase(a);
  if (given !== undefined) return given;
  if (!onTerminal()) return null;
  const p = await promptPassphrase(`Passphrase for ${what}: `);
  if (confirm && (await promptPassphrase('The same passphrase again: ')) !== p) throw new InputError('The two passphrases differ; nothing was written.');
  return p;
}

function identityFiles(a: KeyArgs): string[] {
  return (a.identity ?? []).map(String);
}

/**
 * Before a command reads `inputs`: when they are encrypted, open the set's key (passphrase or
 * identity files) and use it for the whole run. A wrong passphrase ends the run here (exit 2),
 * before anything is written; so does an encrypted input given no way to open it.
 */
export async function unlockInputs(inputs: readonly string[], a: KeyArgs): Promise<void> {
  for (const input of inputs) {
    const folder = await sealedInput(input);
    if (folder === null) continue;
    const passphrase = folder.keyFile === null && identityFiles(a).length > 0 ? null : await passphraseFor(a, input);
    const keys: KeySource = { identityFiles: identityFiles(a), ...(passphrase === null ? {} : { passphrase }) };
    useKeys(await openKeys(folder, input, keys));
    return;
  }
}

export interface PackKeyArgs extends KeyArgs {
  encrypt?: boolean | undefined;
  recipient?: (string | number)[] | undefined;
  recipientsFile?: (string | number)[] | undefined;
  indexPlain?: boolean | undefined;
}

/**
 * pack's encryption: what to make (--encrypt, --recipient) and how to open the set's key to read its
 * earlier backups. Which passphrase is needed is the library's decision (packPassphrase); here it is
 * only asked for, or read, when needed. A dry run (`dryRun`) writes no key: only the set's own
 * passphrase is asked for, which opens its earlier backups' records for the plan.
 */
export async function packEncryption(out: string, a: PackKeyArgs, dryRun = false): Promise<{ encrypt?: EncryptionRequest; keys?: KeySource; indexPlain?: boolean }> {
  const recipients = await recipientsFrom((a.recipient ?? []).map(String), (a.recipientsFile ?? []).map(String));
  const { found, hasBackups } = await sealedOutput(out);
  const ids = identityFiles(a);
  const need = packPassphrase(found, hasBackups, { ownKey: a.encrypt === true, recipients: recipients.length, identityFiles: ids.length, passphraseGiven: passphraseOffered(a) });
  const ask = dryRun && need !== 'set' ? 'none' : need;
  const out_: { encrypt?: EncryptionRequest; keys?: KeySource; indexPlain?: boolean } = {};
  if (a.indexPlain === true) out_.indexPlain = true;
  if (found === null && need === 'none') {
    if (a.passphraseFile !== undefined || ids.length > 0) throw new UsageError('--passphrase-file and --identity are for an encrypted set: add --encrypt (or --recipient) to make one.');
    return out_;
  }
  const passphrase = ask === 'new' ? await passphraseFor(a, `the new encrypted set ${out}`, true) : ask === 'set' ? await passphraseFor(a, out) : ask === 'optional' ? ((await givenPassphrase(a)) ?? null) : null;
  if (ask === 'new' && passphrase === null) throw new InputError(`--encrypt needs a passphrase: XTAR_PASSPHRASE, --passphrase-file FILE, or typed at the prompt on a terminal (or --recipient KEY instead).`);
  out_.encrypt = { ...(passphrase === null ? {} : { passphrase }), ...(recipients.length === 0 ? {} : { recipients }) };
  // An encrypted set: it stays encrypted to its recipients; its key opens its earlier backups' records.
  if (found !== null && hasBackups) out_.keys = { identityFiles: ids };
  return out_;
}
