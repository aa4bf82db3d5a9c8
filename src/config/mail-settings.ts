/**
 * The `mail:` block of a config: where and how the report of a run is sent (src/report/mail.ts sends
 * it). The password is never a flag: it comes from an environment variable (passwordEnv) or a file
 * (passwordFile), or, discouraged, the config itself (password), and is masked when shown.
 */
import { isMap, isScalar, type Node, type Pair } from 'yaml';
import { type Place, stringList } from './place.js';

export type MailTls = 'tls' | 'starttls' | 'none';

export interface MailSettings {
  host: string;
  /** Default: 465 with tls, else 587 (starttls) or 25 (none). */
  port: number;
  /** tls: implicit TLS from the first byte; starttls: plain, then upgraded (required); none: plain text. */
  tls: MailTls;
  user?: string;
  passwordEnv?: string;
  passwordFile?: string;
  password?: string;
  from: string;
  to: string[];
  /** always: after every run; problems: only when the run's exit status is not 0. */
  when: 'always' | 'problems';
  /** The subject's first words (default `xtar`). */
  subject?: string;
  /** A PEM file of CA certificates to trust besides the system's (a server with a private CA). */
  ca?: string;
}

const KEYS = ['host', 'port', 'tls', 'ca', 'user', 'password', 'passwordEnv', 'passwordFile', 'from', 'to', 'when', 'subject'] as const;

/** The block checked, with its defaults; every mistake names its line. */
export function checkMail(at: Place, node: Node | null): MailSettings {
  if (!isMap(node)) throw at.error(node, 'mail is a mapping (host:, from:, to: …)');
  const given = new Map<string, Node | null>();
  for (const pair of node.items as Pair<Node, Node | null>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!(KEYS as readonly string[]).includes(key)) throw at.error(pair.key, `unknown key mail.${key} (the keys are: ${KEYS.join(', ')})`);
    given.set(key, pair.value);
  }
  const text = (key: string, required: boolean): string | undefined => {
    const v = given.get(key);
    if (v === undefined) {
      if (required) throw at.error(node, `mail needs ${key}:`);
      return undefined;
    }
    if (!isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number') || String(v.value) === '') throw at.error(v ?? node, `mail.${key} is a text`);
    return String(v.value);
  };
  const tls = text('tls', false) ?? 'starttls';
  if (tls !== 'tls' && tls !== 'starttls' && tls !== 'none') throw at.error(given.get('tls'), `mail.tls is tls (implicit TLS), starttls or none, not ${JSON.stringify(tls)}`);
  const when = text('when', false) ?? 'always';
  if (when !== 'always' && when !== 'problems') throw at.error(given.get('when'), `mail.when is always or problems, not ${JSON.stringify(when)}`);
  const portText = text('port', false);
  const port = portText === undefined ? (tls === 'tls' ? 465 : tls === 'starttls' ? 587 : 25) : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw at.error(given.get('port'), `mail.port is a port number, not ${JSON.stringify(portText)}`);
  const secrets = ['password', 'passwordEnv', 'passwordFile'].filter((k) => given.has(k));
  if (secrets.length > 1) throw at.error(given.get(secrets[1]!), `give one of mail.password, mail.passwordEnv, mail.passwordFile`);
  const to = given.has('to') ? stringList(at, given.get('to') ?? null, 'mail.to') : [];
  if (to.length === 0) throw at.error(given.get('to') ?? node, 'mail needs to: (one address or a list)');
  const out: MailSettings = { host: text('host', true)!, port, tls, from: text('from', true)!, to, when };
  for (const k of ['ca', 'user', 'password', 'passwordEnv', 'passwordFile', 'subject'] as const) {
    const v = text(k, false);
    if (v !== undefined) out[k] = v;
  }
  if (out.user !== undefined && secrets.length === 0) throw at.error(node, 'mail.user needs a password: mail.passwordEnv (an environment variable) or mail.passwordFile');
  return out;
}

/** The block as --print-config shows it: a password in the config is masked. */
export function maskedMail(m: MailSettings): Record<string, unknown> {
  return { ...m, ...(m.password === undefined ? {} : { password: '********' }) };
}
