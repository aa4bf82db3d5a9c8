/**
 * The report by mail (`mail:` in --config), sent to a real SMTP server this test starts on loopback
 * (the smtp-server package): the message received — its headers and the summary (stored, skipped and
 * why, the discs to burn, duration, exit status), the login with the password from the environment
 * or a file — `when: problems`, and a server that refuses or a port that is closed: the backup is
 * made, the exit status is the backup's, and the failure is a warning on stderr and in the log.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { xtar } from '../helpers/cli.js';
import { removeTree, seededText, tempDir } from '../helpers/tree.js';

interface Received {
  from: string;
  to: string[];
  user: string | undefined;
  password: string | undefined;
  raw: string;
  /** Whether the session was encrypted when the message came. */
  secure: boolean;
}

/** A key and a self-signed certificate for 127.0.0.1 (and localhost), made with openssl. */
function selfSigned(dir: string): { key: string; cert: string } {
  const key = join(dir, 'smtp.key');
  const cert = join(dir, 'smtp.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  return { key, cert };
}

/** An SMTP server on 127.0.0.1 that takes plain-text logins and keeps every message. */
async function startServer(opts: { refuse?: string; tls?: { key: string; cert: string; implicit: boolean } } = {}): Promise<{ port: number; mails: Received[]; close: () => Promise<void> }> {
  const mails: Received[] = [];
  const logins = new Map<string, { user: string; password: string }>();
  const tls = opts.tls === undefined ? {} : { key: await readFile(opts.tls.key), cert: await readFile(opts.tls.cert), secure: opts.tls.implicit };
  const server = new SMTPServer({
    ...tls,
    disabledCommands: opts.tls === undefined ? ['STARTTLS'] : [],
    allowInsecureAuth: true,
    authOptional: true,
    logger: false,
    onConnect(_session, cb) {
      cb(opts.refuse === undefined ? null : Object.assign(new Error(opts.refuse), { responseCode: 554 }));
    },
    onAuth(auth, session, cb) {
      logins.set(session.id, { user: auth.username ?? '', password: auth.password ?? '' });
      cb(null, { user: auth.username });
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const login = logins.get(session.id);
        mails.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          user: login?.user,
          password: login?.password,
          raw: Buffer.concat(chunks).toString('utf8'),
          secure: session.secure,
        });
        cb();
      });
    },
  });
  // A client that refuses the certificate closes the socket mid-handshake: the server's error to ignore.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A message's headers (unfolded, by lower-case name) and its body, quoted-printable decoded. */
function parseMessage(raw: string): { headers: Map<string, string>; body: string } {
  const cut = raw.indexOf('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of raw.slice(0, cut).replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = raw.slice(cut + 4);
  if (/quoted-printable/i.test(headers.get('content-transfer-encoding') ?? '')) {
    body = Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  }
  return { headers, body: body.replace(/\r\n/g, '\n') };
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('the report by mail (mail: in --config)', () => {
  let work: string;
  let docs: string;
  let www: string;
  let socketServer: Server;
  before(async () => {
    work = await tempDir('xtar-mail-');
    docs = join(work, 'docs');
    www = join(work, 'www');
    await mkdir(docs);
    await mkdir(www);
    for (let i = 0; i < 3; i++) await writeFile(join(docs, `d${i}.txt`), seededText(i, 4000));
    await writeFile(join(www, 'index.html'), seededText(9, 3000));
    // A socket cannot be stored: a skipped file, with its reason, in the report.
    socketServer = createServer();
    await new Promise<void>((resolve) => socketServer.listen(join(www, 'app.sock'), resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => socketServer.close(() => resolve()));
    await removeTree(work);
  });

  /** A config for `set`, sending to `port` with the given extra mail keys. */
  async function config(name: string, set: string, port: number, extra = '', tls = 'none'): Promise<string> {
    const file = join(work, `${name}.yaml`);
    await writeFile(file, `sources: [${docs}, ${www}]\nout: ${set}\nquiet: true\nlog: ${join(work, `${name}.log`)}\nmail:\n  host: 127.0.0.1\n  port: ${port}\n  tls: ${tls}\n  from: xtar@example.org\n  to: [ann@example.org, ops@example.org]\n${extra}`);
    return file;
  }

  it('sends the summary: headers, stored, skipped and why, the discs to burn, duration, exit status', async () => {
    const smtp = await startServer();
    try {
      const set = join(work, 'set');
      const cfg = await config('sent', set, smtp.port, '  user: backup\n  passwordEnv: XTAR_TEST_SMTP_PW\n  subject: "[backup]"\n');
      const r = await xtar(['pack', '--config', cfg], { env: { ...process.env, XTAR_TEST_SMTP_PW: 'pw-from-env' } });
      assert.equal(r.status, 1, r.stderr); // the socket was skipped
      assert.equal(smtp.mails.length, 1, r.stderr);
      const m = smtp.mails[0]!;
      assert.equal(m.user, 'backup');
      assert.equal(m.password, 'pw-from-env');
      assert.equal(m.from, 'xtar@example.org');
      assert.deepEqual(m.to, ['ann@example.org', 'ops@example.org']);
      const { headers, body } = parseMessage(m.raw);
      assert.equal(headers.get('from'), 'xtar@example.org');
      assert.equal(headers.get('to'), 'ann@example.org, ops@example.org');
      assert.match(headers.get('subject') ?? '', /^\[backup\] .*: finished with problems \(exit status 1\)$/);
      assert.equal(headers.get('x-xtar-exit-status'), '1');
      assert.equal(headers.get('x-xtar-outcome'), 'problems');

      const list = JSON.parse((await xtar(['list', set, '--json'])).stdout) as { backups: { id: string; source: string; volumes: { path: string }[] }[] };
      assert.equal(list.backups.length, 2);
      assert.match(body, new RegExp(`^xtar pack on .* into ${set}$`, 'm'));
      assert.match(body, /^exit status 1: finished with problems$/m);
      assert.match(body, /^ended {4}\S+ \(\d+\.\d s\)$/m);
      assert.match(body, new RegExp(`^source ${docs}\\n  full backup ${list.backups[0]!.id}: 3 file\\(s\\) stored \\(11\\.7 KiB\\) of 3$`, 'm'));
      assert.match(body, new RegExp(`^source ${www}\\n  full backup ${list.backups[1]!.id}: 1 file\\(s\\) stored`, 'm'));
      assert.match(body, /^ {2}1 skipped:\n {4}www\/app\.sock: .*socket/m);
      const discs = list.backups.map((b) => b.volumes[0]!.path);
      assert.ok(body.endsWith(`discs to burn: 2\n  ${discs[0]}\n  ${discs[1]}\n`), body);

      const log = JSON.parse(await readFile(join(work, 'sent.log'), 'utf8')) as { mail: string; status: number };
      assert.equal(log.mail, 'sent');
      assert.equal(log.status, 1);
    } finally {
      await smtp.close();
    }
  });

  it('when: problems sends nothing after a clean run, and reports a failed source; the password may come from a file', async () => {
    const smtp = await startServer();
    try {
      const set = join(work, 'set-problems');
      const pw = join(work, 'smtp-password');
      await writeFile(pw, 'pw-from-file\n', { mode: 0o600 });
      const file = join(work, 'clean.yaml');
      const mail = `mail:\n  host: 127.0.0.1\n  port: ${smtp.port}\n  tls: none\n  from: xtar@example.org\n  to: ann@example.org\n  when: problems\n  user: backup\n  passwordFile: ${pw}\n`;
      await writeFile(file, `sources: [${docs}]\nout: ${set}\nquiet: true\nlog: ${join(work, 'clean.log')}\n${mail}`);
      const r = await xtar(['pack', '--config', file]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(smtp.mails.length, 0);
      assert.equal((JSON.parse(await readFile(join(work, 'clean.log'), 'utf8')) as { mail: string }).mail, 'not wanted');

      const gone = join(work, 'gone');
      const f = await xtar(['pack', '--config', file, docs, gone]);
      assert.equal(f.status, 1, f.stderr);
      assert.equal(smtp.mails.length, 1);
      assert.equal(smtp.mails[0]!.password, 'pw-from-file');
      const { body } = parseMessage(smtp.mails[0]!.raw);
      assert.match(body, new RegExp(`^source ${gone}\\n  FAILED: The source ${gone} does not exist`, 'm'));
      assert.match(body, new RegExp(`^source ${docs}\\n  nothing changed: no backup made`, 'm'));
      assert.match(body, /^discs to burn: none$/m);
    } finally {
      await smtp.close();
    }
  });

  for (const tls of ['starttls', 'tls'] as const) {
    it(`tls: ${tls} encrypts the session and checks the server's certificate (trusted through mail.ca)`, async () => {
      const pair = selfSigned(work);
      const smtp = await startServer({ tls: { ...pair, implicit: tls === 'tls' } });
      try {
        const set = join(work, `set-${tls}`);
        const withCa = await config(`${tls}-ca`, set, smtp.port, `  ca: ${pair.cert}\n`, tls);
        const r = await xtar(['pack', '--config', withCa, docs]);
        assert.equal(r.status, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /warning/);
        assert.equal(smtp.mails.length, 1);
        assert.equal(smtp.mails[0]!.secure, true);
        // Without mail.ca the self-signed certificate is refused: a warning, the backup made all the same.
        const without = await config(`${tls}-noca`, set, smtp.port, '', tls);
        const n = await xtar(['pack', '--config', without, www]);
        assert.equal(n.status, 1, n.stderr); // the socket in www is skipped
        assert.match(n.stderr, /xtar: warning: the report could not be mailed .*(self-signed|certificate)/);
        assert.equal(smtp.mails.length, 1);
      } finally {
        await smtp.close();
      }
    });
  }

  for (const how of ['a server that refuses the connection', 'a closed port'] as const) {
    it(`${how}: the backup is made, the exit status is the backup's, a warning on stderr and in the log`, async () => {
      const smtp = how === 'a closed port' ? null : await startServer({ refuse: 'no mail from you' });
      try {
        const port = smtp?.port ?? (await closedPort());
        const name = how === 'a closed port' ? 'closed' : 'refused';
        const set = join(work, `set-${name}`);
        const cfg = await config(name, set, port);
        const r = await xtar(['pack', '--config', cfg, docs]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /^xtar: warning: the report could not be mailed to ann@example\.org, ops@example\.org through 127\.0\.0\.1:\d+ \(.+\); the backup is not affected\.$/m);
        if (how === 'a closed port') assert.match(r.stderr, /ECONNREFUSED/);
        else assert.match(r.stderr, /no mail from you/);
        const v = await xtar(['verify', set]);
        assert.equal(v.status, 0, v.stderr);
        const log = JSON.parse(await readFile(join(work, `${name}.log`), 'utf8')) as { mail: string; status: number; warnings: string[]; backups: string[] };
        assert.equal(log.mail, 'failed');
        assert.equal(log.status, 0);
        assert.equal(log.backups.length, 1);
        assert.match(log.warnings[0]!, /the report could not be mailed/);
      } finally {
        await smtp?.close();
      }
    });
  }
});
