/**
 * A real S3-compatible server for the tests: OpenStack Swift (Debian's swift, swift-proxy,
 * swift-account, swift-container, swift-object) on loopback, with the s3api middleware. One ring per
 * server type, each with one device, built with swift-ring-builder in a temporary folder; the
 * account, container and object servers and a proxy whose pipeline holds s3api, tempauth, copy, slo
 * (multipart uploads are SLOs) and dlo. The servers drop to the `swift` user, so the device folder
 * is that user's. The hash settings live in /etc/swift/swift.conf, which Swift always reads: it is
 * written only when missing. Started once per test file (about three seconds on an idle machine).
 *
 * S3 credentials: tempauth's user `test:tester`, key `testing` (access key id `test:tester`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { isRoot, removeTree, tempDir } from './tree.js';

export const SWIFT_ACCESS_KEY = 'test:tester';
export const SWIFT_SECRET_KEY = 'testing';

const SERVERS = ['account', 'container', 'object'] as const;

/** Why the Swift tests cannot run here, or null when they can. */
export function swiftUnavailable(): string | null {
  if (!isRoot) return 'the Swift tests start the servers as root (they drop to the swift user); run as root';
  for (const tool of ['swift-ring-builder', 'swift-proxy-server', 'swift-account-server', 'swift-container-server', 'swift-object-server']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is missing (Debian packages swift swift-proxy swift-account swift-container swift-object; .ci/run installs them)`;
  }
  if (!userExists('swift')) return 'the swift user is missing (Debian package swift makes it)';
  return null;
}

function userExists(name: string): boolean {
  try {
    return readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith(`${name}:`));
  } catch {
    return false;
  }
}

function swiftIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('swift:'));
  const f = (line ?? '').split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** A free loopback port (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Whether something listens on the loopback port. */
function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

const SWIFT_CONF = '/etc/swift/swift.conf';

async function ensureSwiftConf(): Promise<void> {
  if (existsSync(SWIFT_CONF) && /swift_hash_path_(suffix|prefix)\s*=/.test(readFileSync(SWIFT_CONF, 'utf8'))) return;
  await mkdir('/etc/swift', { recursive: true });
  await writeFile(SWIFT_CONF, '[swift-hash]\nswift_hash_path_suffix = xtar-tests\nswift_hash_path_prefix = xtar-tests\n\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n');
}

/** What every server's [DEFAULT] section says: loopback, one process, run as swift, quiet. */
function defaults(dir: string, port: number): string {
  return `bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
user = swift
swift_dir = ${dir}
log_level = WARNING`;
}

function serverConf(dir: string, type: string, port: number): string {
  return `[DEFAULT]
devices = ${join(dir, 'srv')}
mount_check = false
${defaults(dir, port)}

[pipeline:main]
pipeline = ${type}-server

[app:${type}-server]
use = egg:swift#${type}
`;
}

function proxyConf(dir: string, port: number): string {
  return `[DEFAULT]
${defaults(dir, port)}

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = ${SWIFT_SECRET_KEY} .admin
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
min_segment_size = 1
[filter:dlo]
use = egg:swift#dlo
`;
}

export class SwiftServer {
  private readonly procs = new Map<string, ChildProcess>();
  private readonly log: string[] = [];

  private constructor(
    readonly dir: string,
    readonly proxyPort: number,
    private readonly ports: Record<string, number>,
  ) {}

  /** http://127.0.0.1:PORT, the proxy (S3 and Swift APIs). */
  get endpoint(): string {
    return `http://127.0.0.1:${this.proxyPort}`;
  }

  /** The environment the CLI takes its S3 settings from (no shared config files of the machine's). */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      AWS_ACCESS_KEY_ID: SWIFT_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: SWIFT_SECRET_KEY,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: this.endpoint,
      AWS_CONFIG_FILE: join(this.dir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(this.dir, 'no-aws-credentials'),
      XDG_CACHE_HOME: join(this.dir, 'cache'),
      ...extra,
    };
  }

  static async start(): Promise<SwiftServer> {
    await ensureSwiftConf();
    const dir = await tempDir('xtar-swift-');
    await chmod(dir, 0o755);
    const { uid, gid } = swiftIds();
    await mkdir(join(dir, 'srv', 'd1'), { recursive: true });
    await chown(join(dir, 'srv'), uid, gid);
    await chown(join(dir, 'srv', 'd1'), uid, gid);
    const ports: Record<string, number> = {};
    for (const t of SERVERS) ports[t] = await freePort();
    const proxyPort = await freePort();
    for (const t of SERVERS) {
      const b = join(dir, `${t}.builder`);
      for (const args of [['create', '4', '1', '1'], ['add', `r1z1-127.0.0.1:${ports[t]}/d1`, '100'], ['rebalance']]) {
        const r = spawnSync('swift-ring-builder', [b, ...args], { encoding: 'utf8' });
        // rebalance answers 1 for a warning (one device cannot be balanced further): only 2 is an error.
        if (r.status === null || r.status >= 2) throw new Error(`swift-ring-builder ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      }
      await writeFile(join(dir, `${t}.conf`), serverConf(dir, t, ports[t] as number));
    }
    await writeFile(join(dir, 'proxy.conf'), proxyConf(dir, proxyPort));
    const s = new SwiftServer(dir, proxyPort, ports);
    for (const t of SERVERS) s.spawn(t, `swift-${t}-server`);
    s.spawn('proxy', 'swift-proxy-server');
    await s.waitReady();
    return s;
  }

  private spawn(name: string, cmd: string): void {
    const p = spawn(cmd, [join(this.dir, `${name}.conf`)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer): void => {
      this.log.push(`${name}: ${d.toString()}`);
      if (this.log.length > 200) this.log.shift();
    };
    p.stdout?.on('data', keep);
    p.stderr?.on('data', keep);
    this.procs.set(name, p);
  }

  /** Until every server listens and the proxy's /healthcheck answers 200. */
  private async waitReady(timeoutMs = 60_000): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      const listening = await Promise.all(SERVERS.map((t) => canConnect(this.ports[t] as number)));
      const proxy = listening.every(Boolean) && (await fetch(`${this.endpoint}/healthcheck`).then(async (r) => (await r.arrayBuffer(), r.ok), () => false));
      if (proxy) return;
      for (const [name, p] of this.procs) if (p.exitCode !== null) throw new Error(`swift ${name} server exited (${p.exitCode}):\n${this.log.join('')}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`Swift did not answer within ${timeoutMs} ms:\n${this.log.join('')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Kill one server (e.g. the proxy, mid-upload). */
  kill(name: 'proxy' | 'account' | 'container' | 'object', signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs.get(name);
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  }

  /** Start a killed server again and wait until all answer. */
  async restart(name: 'proxy' | 'account' | 'container' | 'object'): Promise<void> {
    await this.kill(name);
    this.spawn(name, name === 'proxy' ? 'swift-proxy-server' : `swift-${name}-server`);
    await this.waitReady();
  }

  async stop(): Promise<void> {
    for (const name of this.procs.keys()) await this.kill(name as 'proxy', 'SIGTERM');
    await removeTree(this.dir);
  }
}
