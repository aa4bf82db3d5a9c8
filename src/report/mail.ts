/**
 * The report by mail (`mail:` in a config): the run's summary sent over SMTP with nodemailer. Sending
 * happens after the backup is committed, and a failure is thrown for the caller to turn into a
 * warning: a mail that cannot be sent never costs a backup, nor changes the run's exit status.
 */
import { readFile } from 'node:fs/promises';
import nodemailer from 'nodemailer';
import type { MailSettings } from '../config/mail-settings.js';
import { subjectOf, summaryText, type RunSummary } from './summary.js';

/** Whether the settings want a report of this run (`when: problems` skips a run that ended 0). */
export function mailWanted(m: MailSettings, s: RunSummary): boolean {
  return m.when === 'always' || s.status !== 0;
}

/** The password, from the environment or a file (its first line); undefined when there is no user. */
export async function mailPassword(m: MailSettings, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (m.passwordEnv !== undefined) {
    const v = env[m.passwordEnv];
    if (v === undefined) throw new Error(`the environment variable ${m.passwordEnv} (mail.passwordEnv) is not set`);
    return v;
  }
  if (m.passwordFile !== undefined) {
    const text = await readFile(m.passwordFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new Error(`cannot read mail.passwordFile ${m.passwordFile} (${e.code ?? e.message})`);
    });
    return text.split(/\r?\n/)[0];
  }
  return m.password;
}

/** Send the summary; resolves with the server's message id, rejects with why not. */
export async function sendReport(m: MailSettings, s: RunSummary, opts: { timeoutMs?: number } = {}): Promise<string> {
  const pass = await mailPassword(m);
  const timeout = opts.timeoutMs ?? 30_000;
  const ca = m.ca === undefined ? undefined : await readFile(m.ca, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(`cannot read mail.ca ${m.ca} (${e.code ?? e.message})`);
  });
  const transport = nodemailer.createTransport({
    host: m.host,
    port: m.port,
    secure: m.tls === 'tls',
    requireTLS: m.tls === 'starttls',
    ignoreTLS: m.tls === 'none',
    // Certificates are always checked: against the system's CAs, or the ones of mail.ca.
    ...(ca === undefined ? {} : { tls: { ca } }),
    ...(m.user === undefined ? {} : { auth: { user: m.user, pass: pass ?? '' } }),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  try {
    const info = await transport.sendMail({
      from: m.from,
      to: m.to,
      subject: subjectOf(s, m.subject),
      text: summaryText(s),
      headers: { 'X-Xtar-Exit-Status': String(s.status), 'X-Xtar-Outcome': s.outcome },
    });
    return String(info.messageId);
  } finally {
    transport.close();
  }
}
