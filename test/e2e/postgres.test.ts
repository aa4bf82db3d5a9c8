/**
 * A database dump as a source, against a real PostgreSQL server the test starts itself (initdb in a
 * temporary data folder, a Unix socket in a temporary folder, no TCP; as the `postgres` user when
 * run as root, since the server refuses root): `pack --from-command db.sql -- pg_dump …` stores the
 * dump; a change in a table stores a new copy; no change stores nothing; the restored dump loads
 * back with psql into a fresh database and the table matches. Skipped only when the server's
 * binaries are missing (Debian `postgresql`, which .ci/run installs).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, readdir, readFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, xtar, type CliResult } from '../helpers/cli.js';
import { isRoot, removeTree, tempDir } from '../helpers/tree.js';

/** The newest PostgreSQL's binaries (/usr/lib/postgresql/VERSION/bin), or null. */
function pgBin(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')) && existsSync(join(base, v, 'bin', 'pg_dump')))
    .sort((a, b) => Number(a) - Number(b));
  return versions.length === 0 ? null : join(base, versions.at(-1)!, 'bin');
}

const BIN = pgBin();
/** No TCP: the port only names the socket file in the test's own folder. */
const PORT = '54329';
/** Who runs the server: not root (postgres refuses it). */
const SERVER_USER = isRoot ? (userExists('postgres') ? 'postgres' : 'nobody') : null;

function userExists(name: string): boolean {
  try {
    return readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith(`${name}:`));
  } catch {
    return false;
  }
}

async function ok(p: Promise<CliResult>, what: string): Promise<CliResult> {
  const r = await p;
  assert.equal(r.status, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r;
}

describe('a PostgreSQL dump as a source (pack --from-command)', { skip: BIN === null ? 'PostgreSQL is not installed (/usr/lib/postgresql/*/bin; Debian package postgresql)' : false }, () => {
  const bin = (tool: string): string => join(BIN!, tool);
  let work: string;
  let data: string;
  let sock: string;
  let started = false;
  /** A tool of the server run as the server's user (pg_ctl, initdb). */
  const asServer = (tool: string, args: string[]): Promise<CliResult> => (SERVER_USER === null ? run(bin(tool), args) : run('runuser', ['-u', SERVER_USER, '--', bin(tool), ...args]));
  const psql = (db: string, sql: string): Promise<CliResult> => run(bin('psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', sock, '-p', PORT, '-U', 'xtar', '-d', db, '-c', sql]);
  // pg_dump since 15.14 (16.10, 17.6) writes a random `\restrict` key into every plain dump, so two dumps of one
  // database differ; a fixed key makes equal databases give equal dumps (README "Command output as a source").
  let restrictKey: string[] = [];
  const pgDump = (): string[] => [bin('pg_dump'), '-h', sock, '-p', PORT, '-U', 'xtar', '--no-owner', ...restrictKey, 'app'];

  before(async () => {
    work = await tempDir('xtar-pg-');
    // The server's user must reach its folders.
    await chmod(work, 0o755);
    data = join(work, 'data');
    sock = join(work, 'sock');
    if ((await run(bin('pg_dump'), ['--help'])).stdout.includes('--restrict-key')) restrictKey = ['--restrict-key=xtarTestKey'];
    await mkdir(data, { mode: 0o700 });
    await mkdir(sock);
    if (SERVER_USER !== null) {
      const id = await run('id', ['-u', SERVER_USER]);
      const gid = await run('id', ['-g', SERVER_USER]);
      for (const d of [data, sock]) await chown(d, Number(id.stdout), Number(gid.stdout));
    }
    await ok(asServer('initdb', ['-D', data, '-U', 'xtar', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']), 'initdb');
    await ok(asServer('pg_ctl', ['-D', data, '-w', '-l', join(data, 'server.log'), '-o', `-k ${sock} -c listen_addresses='' -p ${PORT} -c fsync=off`, 'start']), 'pg_ctl start');
    started = true;
    await ok(psql('postgres', 'CREATE DATABASE app'), 'create database');
    await ok(psql('app', "CREATE TABLE t (id integer PRIMARY KEY, name text); INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 500) i"), 'create table');
  });
  after(async () => {
    if (started) await asServer('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop']);
    await removeTree(work);
  });

  it('stores the dump, nothing new while the table is unchanged, a new copy after a change; the newest restores and loads back', async () => {
    const set = join(work, 'set');
    const packDump = (): Promise<CliResult> => xtar(['pack', '--out', set, '--json', '--from-command', 'db.sql', '--', ...pgDump()]);
    const first = JSON.parse((await ok(packDump(), 'first pack')).stdout) as { nothingChanged: boolean; storedFiles: number; root: string; backup: string };
    assert.equal(first.nothingChanged, false);
    assert.equal(first.storedFiles, 1);
    assert.equal(first.root, 'db.sql');

    const same = JSON.parse((await ok(packDump(), 'second pack')).stdout) as { nothingChanged: boolean; backup: string | null; base: string };
    assert.equal(same.nothingChanged, true, 'no change in the database stores nothing');
    assert.equal(same.backup, null);
    assert.equal(same.base, first.backup);

    await ok(psql('app', "UPDATE t SET name = 'changed' WHERE id = 7; INSERT INTO t VALUES (501, 'new row')"), 'change the table');
    const changed = JSON.parse((await ok(packDump(), 'third pack')).stdout) as { nothingChanged: boolean; storedFiles: number; kind: string; base: string; backup: string };
    assert.equal(changed.nothingChanged, false, 'a change in the table is stored');
    assert.equal(changed.storedFiles, 1);
    assert.equal(changed.base, first.backup);

    const list = JSON.parse((await ok(xtar(['list', set, '--json']), 'list')).stdout) as { backups: { id: string; source: string }[] };
    assert.deepEqual(list.backups.map((b) => [b.id, b.source]), [[first.backup, 'command:db.sql'], [changed.backup, 'command:db.sql']]);
    assert.deepEqual((await readdir(set)).filter((n) => n.startsWith('.xtar-tmp')), [], 'no spool is left in the set');

    // The newest backup restores the dump; it loads into a fresh database and the table matches.
    const dest = join(work, 'restored');
    await ok(xtar(['unpack', set, '--dest', dest, '--source', 'command:db.sql']), 'unpack');
    const dump = await readFile(join(dest, 'db.sql'), 'utf8');
    assert.match(dump, /PostgreSQL database dump/);
    await ok(psql('postgres', 'CREATE DATABASE fresh'), 'create fresh');
    await ok(run(bin('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', sock, '-p', PORT, '-U', 'xtar', '-d', 'fresh', '-f', join(dest, 'db.sql')]), 'load the dump');
    const table = (db: string): Promise<string> => psql(db, 'SELECT id, name FROM t ORDER BY id').then((r) => (assert.equal(r.status, 0, r.stderr), r.stdout));
    const original = await table('app');
    assert.equal(await table('fresh'), original);
    assert.match(original, /^7\|changed$/m);
    assert.match(original, /^501\|new row$/m);
  });
});
