/**
 * Encrypted sets (docs/FORMAT.md, "Encrypted sets"): the nasty tree round-trips encrypted with a
 * passphrase and with an age recipient; a volume restores by hand with only tar, age and unzip (and
 * the shell's tools), then expand-structure; a wrong passphrase writes nothing; a damaged encrypted
 * blob costs only its file; an incremental stays encrypted; and neither the passphrase nor the
 * secret key (nor a file's sha256) is in any byte xtar writes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bech32 } from '@scure/base';
import { run, xtar, type CliResult } from '../helpers/cli.js';
import { byHandDiffs, diffSnapshots, makeNastyTree, removeTree, seededBytes, snapshot, tempDir } from '../helpers/tree.js';
import { SCRIPT_TOOLS } from '../../src/pack/readme.js';
import { scriptFromReadme } from '../helpers/readme-script.js';
import { openKeyFile } from '../../src/format/encryption.js';
import { useKeys } from '../../src/format/keyring.js';
import { catalogLines } from '../../src/set/read-records.js';
import type { CatalogFile } from '../../src/format/records.js';

const PASSPHRASE = 'plover-quartz 7 maple-drift';
/** scrypt's work factor for the key files the tests make: age's own (18) costs seconds per run. */
const FAST = { XTAR_SCRYPT_LOG_N: '12' };

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...FAST, ...extra };
  if (extra.XTAR_PASSPHRASE === undefined) delete e.XTAR_PASSPHRASE;
  return e;
}

const withPassphrase = (): NodeJS.ProcessEnv => env({ XTAR_PASSPHRASE: PASSPHRASE });


/**
 * `age -d -o OUT KEYFILE` with the passphrase typed at its prompt: age reads a passphrase only from a
 * terminal, so python3's pty module gives it one, waits for the prompt, then types the passphrase
 * (passed in the environment, never as an argument).
 */
function ageWithPassphrase(keyFile: string, out: string, passphrase: string): Promise<CliResult> {
  const py = `
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp('age', ['age', '-d', '-o', sys.argv[1], sys.argv[2]])
seen = b''
while b'passphrase' not in seen.lower():
    chunk = os.read(fd, 1024)
    if not chunk:
        break
    seen += chunk
os.write(fd, os.environ['AGE_TEST_PASSPHRASE'].encode() + b'\\n')
try:
    while os.read(fd, 1024):
        pass
except OSError:
    pass
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
`;
  return run('python3', ['-c', py, out, keyFile], { env: { ...process.env, AGE_TEST_PASSPHRASE: passphrase } });
}

/** A folder of symlinks to exactly these programs, as PATH: what a by-hand restore may use. */
async function onlyTools(dir: string, tools: readonly string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const t of tools) {
    const where = execFileSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim();
    await symlink(where, join(dir, t));
  }
  return dir;
}

/** Every file below `dir`, recursively. */
async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesBelow(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function volumesOf(r: CliResult): { path: string; archive: string }[] {
  return (JSON.parse(r.stdout) as { volumes: { path: string; archive: string }[] }).volumes;
}

describe('encrypted sets', () => {
  let work: string;
  let src: string;
  let set: string;
  let volume: string;
  let archive: string;
  const outputs: CliResult[] = [];
  let keyId: string;
  let recipientSet: string;

  before(async () => {
    work = await tempDir();
    src = await makeNastyTree(join(work, 'in'));
    set = join(work, 'set');
    const r = await xtar(['pack', src, '--out', set, '--encrypt', '--json', '--log', join(work, 'pack.log')], { env: withPassphrase() });
    outputs.push(r);
    assert.equal(r.status, 0, r.stderr);
    const v = volumesOf(r)[0] as { path: string; archive: string };
    volume = v.path;
    archive = v.archive;
    keyId = join(work, 'recipient-key.txt');
    assert.equal((await run('age-keygen', ['-o', keyId])).status, 0);
    const recipient = (await run('age-keygen', ['-y', keyId])).stdout.trim();
    recipientSet = join(work, 'rset');
    const rr = await xtar(['pack', src, '--out', recipientSet, '--recipient', recipient, '--json'], { env: env() });
    assert.equal(rr.status, 0, rr.stderr);
  });
  after(async () => {
    useKeys(null);
    await removeTree(work);
  });

  it('the volume holds age files only: NAME.zip.age blobs, .age records, the key and recipients files', async () => {
    const names = (await readdir(volume)).sort();
    assert.deepEqual(names.filter((n) => !n.endsWith('.xtar')), ['README.txt', 'catalog.jsonl.age', 'structure.jsonl.age', 'volume.json', 'xtar-key.age', 'xtar-recipients.txt']);
    assert.deepEqual((await readdir(set)).filter((n) => n.startsWith('xtar-')).sort(), ['xtar-key.age', 'xtar-recipients.txt', 'xtar-set.json'], 'no index on disk');
    const top = (await run('tar', ['-tf', archive])).stdout.trim().split('\n');
    assert.deepEqual(top, ['nasty.xtar-structure.jsonl.gz.age', 'nasty/.xtar', 'nasty.xtar-catalog.jsonl.gz.age']);
    for (const f of ['catalog.jsonl.age', 'structure.jsonl.age', 'xtar-key.age']) assert.equal((await readFile(join(volume, f))).subarray(0, 21).toString(), 'age-encryption.org/v1');
    assert.match(await readFile(join(volume, 'volume.json'), 'utf8'), /"encryption":"age"/);
  });

  it('round trip with the passphrase: unpack restores the nasty tree exactly; verify and list --files read it', async () => {
    const dest = join(work, 'out-pass');
    const u = await xtar(['unpack', set, '--dest', dest], { env: withPassphrase() });
    outputs.push(u);
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'nasty'))), []);
    const v = await xtar(['verify', set, '--json'], { env: withPassphrase() });
    outputs.push(v);
    assert.equal(v.status, 0, v.stderr);
    const l = await xtar(['list', set, '--files'], { env: withPassphrase() });
    outputs.push(l);
    assert.equal(l.status, 0, l.stderr);
    assert.match(l.stdout, /nasty\/x\.zip\.zip/);
    // The passphrase from a file does the same.
    await writeFile(join(work, 'pass.txt'), `${PASSPHRASE}\n`);
    const f = await xtar(['verify', volume, '--passphrase-file', join(work, 'pass.txt')], { env: env() });
    assert.equal(f.status, 0, f.stderr);
  });

  it('round trip with a recipient: unpack with --identity restores the nasty tree exactly; no key file is made', async () => {
    assert.equal((await readdir(recipientSet)).includes('xtar-key.age'), false);
    const dest = join(work, 'out-rcpt');
    const u = await xtar(['unpack', recipientSet, '--dest', dest, '--identity', keyId], { env: env() });
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'nasty'))), []);
  });

  it('by hand with only tar, age and unzip: age opens xtar-key.age with the passphrase, the README script restores every file, expand-structure the rest', async () => {
    const id = join(work, 'bh-key.txt');
    const opened = await ageWithPassphrase(join(volume, 'xtar-key.age'), id, PASSPHRASE);
    assert.equal(opened.status, 0, opened.stderr + opened.stdout);
    assert.match(await readFile(id, 'utf8'), /^AGE-SECRET-KEY-1/m);
    const script = join(work, 'restore.sh');
    await writeFile(script, await scriptFromReadme(volume));
    const path = await onlyTools(join(work, 'bh-tools'), [...SCRIPT_TOOLS, 'age']);
    const dest = join(work, 'by-hand');
    const r = await run('sh', [script, dest, archive], { env: { PATH: path, XTAR_IDENTITY: id } });
    assert.equal(r.status, 0, `restore script failed:\n${r.stderr}`);
    const original = await snapshot(src);
    const byHand = await snapshot(join(dest, 'nasty'));
    assert.deepEqual(byHandDiffs(original, byHand), { wrong: [], leftovers: [] }, 'every file right, and no .age, .zip or .xtar left');
    const ex = await xtar(['expand-structure', volume, '--dest', dest], { env: withPassphrase() });
    assert.equal(ex.status, 0, ex.stderr);
    assert.deepEqual(diffSnapshots(original, await snapshot(join(dest, 'nasty'))), []);
  });

  it('by hand, recipient set: XTAR_IDENTITY=key.txt sh restore.sh, then expand-structure --identity', async () => {
    const v = join(recipientSet, (await readdir(recipientSet)).find((n) => n.endsWith('-vol001')) as string);
    const a = join(v, (await readdir(v)).find((n) => n.endsWith('.xtar')) as string);
    const script = join(work, 'restore-r.sh');
    await writeFile(script, await scriptFromReadme(v));
    const dest = join(work, 'by-hand-r');
    const r = await run('sh', [script, dest, a], { env: { ...process.env, XTAR_IDENTITY: keyId } });
    assert.equal(r.status, 0, r.stderr);
    const ex = await xtar(['expand-structure', v, '--dest', dest, '--identity', keyId], { env: env() });
    assert.equal(ex.status, 0, ex.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'nasty'))), []);
  });

  it('a wrong passphrase is one sentence and exit 2, before anything is written', async () => {
    const dest = join(work, 'out-wrong');
    const u = await xtar(['unpack', set, '--dest', dest], { env: env({ XTAR_PASSPHRASE: 'not it' }) });
    assert.equal(u.status, 2);
    assert.equal(u.stderr.trim().split('\n').length, 1, u.stderr);
    assert.match(u.stderr, /passphrase does not open/);
    await assert.rejects(stat(dest), 'the destination was not made');
    const before = (await readdir(set)).sort();
    const p = await xtar(['pack', src, '--out', set], { env: env({ XTAR_PASSPHRASE: 'not it' }) });
    assert.equal(p.status, 2);
    assert.match(p.stderr, /passphrase does not open/);
    assert.deepEqual((await readdir(set)).sort(), before, 'no volume, no index, no partial folder');
    // No passphrase at all (not on a terminal): named, exit 2.
    const none = await xtar(['unpack', set, '--dest', dest], { env: env() });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /is encrypted: give its passphrase/);
  });

  it('a damaged encrypted blob costs only its own file, with xtar and by hand (named once, counted once)', async () => {
    const copy = join(work, 'damaged-set');
    await run('cp', ['-a', set, copy]);
    const vol = join(copy, (await readdir(copy)).find((n) => n.endsWith('-vol001')) as string);
    const xtarFile = join(vol, (await readdir(vol)).find((n) => n.endsWith('.xtar')) as string);
    // Where the blobs lie: the catalog, decrypted with the set's key.
    useKeys(await openKeyFile(await readFile(join(vol, 'xtar-key.age')), PASSPHRASE, 'key'));
    const lines: CatalogFile[] = [];
    for await (const c of catalogLines({ path: join(vol, 'catalog.jsonl.age'), label: 'catalog' }, () => undefined)) if ('parts' in c && c.parts.length === 1 && c.size > 1000) lines.push(c);
    useKeys(null);
    const victim = lines[0] as CatalogFile;
    const part = victim.parts[0] as { offset: number; length: number };
    const bytes = await readFile(xtarFile);
    const at = part.offset + Math.floor(part.length / 2);
    bytes[at] = (bytes[at] as number) ^ 0x40;
    await writeFile(xtarFile, bytes);
    const v = await xtar(['verify', copy, '--json'], { env: withPassphrase() });
    assert.equal(v.status, 1, v.stderr);
    assert.deepEqual((JSON.parse(v.stdout) as { damaged: string[] }).damaged, [victim.path]);
    const dest = join(work, 'out-damaged');
    const u = await xtar(['unpack', copy, '--dest', dest], { env: withPassphrase() });
    assert.equal(u.status, 1, u.stderr);
    const rel = victim.path.slice('nasty/'.length);
    const diff = diffSnapshots(await snapshot(src), await snapshot(join(dest, 'nasty')));
    assert.ok(diff.length > 0 && diff.every((d) => d.includes(rel)), `only ${rel} differs: ${diff.join('; ')}`);
    // By hand, with unzip and without: age refuses the blob, which stays NAME.zip.age, named once and
    // counted once among the blobs, not again among the zips; nothing of the script's tally is left.
    const id = join(work, 'damaged-key.txt');
    assert.equal((await ageWithPassphrase(join(vol, 'xtar-key.age'), id, PASSPHRASE)).status, 0);
    const script = join(work, 'restore-damaged.sh');
    await writeFile(script, await scriptFromReadme(vol));
    for (const [name, tools] of [['unzip', [...SCRIPT_TOOLS, 'age']], ['none', [...SCRIPT_TOOLS.filter((t) => t !== 'unzip'), 'age']]] as const) {
      const path = await onlyTools(join(work, `damaged-tools-${name}`), tools);
      const out = join(work, `by-hand-damaged-${name}`);
      const r = await run('sh', [script, out, xtarFile], { env: { PATH: path, XTAR_IDENTITY: id } });
      assert.equal(r.status, 1, r.stderr);
      const left = (await filesBelow(out)).map((f) => f.slice(out.length + 1));
      const blob = left.filter((f) => f.endsWith('.zip.age') && f.startsWith('nasty/'));
      assert.equal(blob.length, 1, `one blob left encrypted: ${left.join(', ')}`);
      if (name === 'unzip') assert.deepEqual(byHandDiffs(await snapshot(src), await snapshot(join(out, 'nasty'))), { wrong: [rel], leftovers: [(blob[0] as string).slice('nasty/'.length)] });
      const said = r.stderr.split('\n').filter((l) => l.startsWith('restore.sh:') && !l.includes('found no unzip'));
      assert.deepEqual(said, [
        `restore.sh: could not decrypt ./${blob[0]} (damaged?): left as it is`,
        'restore.sh: 1 blob(s) could not be decrypted and are left as NAME.zip.age',
      ], r.stderr);
      assert.deepEqual(left.filter((f) => f.includes('.xtar-')).filter((f) => !/^nasty\.xtar-(structure|catalog)\.jsonl\.gz\.age$/.test(f)), [], 'no tally, key or work folder left');
    }
  });

  it('an incremental on an encrypted set stays encrypted to the same recipients, and restores the new state', async () => {
    const inc = join(work, 'inc-set');
    await run('cp', ['-a', set, inc]);
    await writeFile(join(src, 'added-after.txt'), 'a file that came later\n');
    const p = await xtar(['pack', src, '--out', inc, '--json'], { env: withPassphrase() });
    outputs.push(p);
    assert.equal(p.status, 0, p.stderr);
    const body = JSON.parse(p.stdout) as { kind: string; volumes: { path: string; archive: string }[] };
    assert.equal(body.kind, 'incremental');
    const v = body.volumes[0] as { path: string; archive: string };
    assert.equal(await readFile(join(v.path, 'xtar-recipients.txt'), 'utf8'), await readFile(join(volume, 'xtar-recipients.txt'), 'utf8'));
    const entries = (await run('sh', ['-c', 'cd "$1" && tar -xf "$2" && tar -tf nasty/.xtar', 'sh', await tempDir(), v.archive])).stdout.trim().split('\n');
    assert.deepEqual(entries, ['added-after.txt.zip.age']);
    assert.deepEqual((await readdir(inc)).filter((n) => n.startsWith('xtar-index')), [], 'still no index on disk');
    const dest = join(work, 'out-inc');
    const u = await xtar(['unpack', inc, '--dest', dest], { env: withPassphrase() });
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'nasty'))), []);
    // Without the passphrase an incremental cannot read what it builds on: said, exit 2.
    const none = await xtar(['pack', src, '--out', inc], { env: env() });
    assert.equal(none.status, 2);
  });

  it('a file larger than 8 MiB, spooled, encrypted whole and split across volumes, restores with xtar and by hand', async () => {
    const big = join(work, 'big-src');
    await mkdir(big);
    await writeFile(join(big, 'random.bin'), seededBytes(7, 9 * 1024 * 1024 + 123));
    await writeFile(join(big, 'small.txt'), 'small\n');
    const s = join(work, 'big-set');
    const p = await xtar(['pack', big, '--out', s, '--encrypt', '--volume-size', '4M', '--json'], { env: withPassphrase() });
    outputs.push(p);
    assert.equal(p.status, 0, p.stderr);
    const vols = volumesOf(p);
    assert.ok(vols.length >= 3, `split over ${vols.length} volumes`);
    for (const v of vols) {
      let total = 0;
      for (const f of await readdir(v.path)) total += (await stat(join(v.path, f))).size;
      assert.ok(total <= 4_000_000, `${v.path} is ${total} bytes`);
    }
    const dest = join(work, 'out-big');
    const u = await xtar(['unpack', s, '--dest', dest], { env: withPassphrase() });
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(big), await snapshot(join(dest, 'big-src'))), []);
    const id = join(work, 'big-key.txt');
    assert.equal((await ageWithPassphrase(join(s, 'xtar-key.age'), id, PASSPHRASE)).status, 0);
    const script = join(work, 'restore-big.sh');
    await writeFile(script, await scriptFromReadme(vols[0]?.path as string));
    const byHand = join(work, 'by-hand-big');
    const r = await run('sh', [script, byHand, ...vols.map((v) => v.archive)], { env: { ...process.env, XTAR_IDENTITY: id } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await snapshot(join(byHand, 'big-src'))).get('random.bin')?.sha256, (await snapshot(big)).get('random.bin')?.sha256);
  });

  it('repair (par2) and rescue work on an encrypted set', async () => {
    const s = join(work, 'par2-set');
    const p = await xtar(['pack', src, '--out', s, '--encrypt', '--par2', '10', '--json'], { env: withPassphrase() });
    outputs.push(p);
    assert.equal(p.status, 0, p.stderr);
    const v = volumesOf(p)[0] as { path: string; archive: string };
    const buf = await readFile(v.archive);
    for (let i = 20_000; i < 21_000; i++) buf[i] = (buf[i] as number) ^ 0xa5;
    await writeFile(v.archive, buf);
    assert.equal((await xtar(['verify', v.path], { env: withPassphrase() })).status, 1, 'the damage is seen');
    const r = await xtar(['repair', v.path, '--json'], { env: withPassphrase() });
    outputs.push(r);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { damaged: string[] }).damaged, []);
    // rescue copies bytes: no key needed; the copy then unpacks with the passphrase.
    const to = join(work, 'rescued');
    const c = await xtar(['rescue', v.path, '--to', to], { env: env() });
    assert.equal(c.status, 0, c.stderr);
    const dest = join(work, 'out-rescued');
    const u = await xtar(['unpack', join(to, (await readdir(to))[0] as string), '--dest', dest], { env: withPassphrase() });
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'nasty'))), []);
  });

  it('pack --dry-run sees an encrypted set\'s backups (its index made in memory with the key): one changed file, incremental; without the key, one sentence, exit 2', async () => {
    const tree = join(work, 'dry-src');
    await mkdir(join(tree, 'sub'), { recursive: true });
    for (const [i, name] of ['a.txt', 'b.txt', 'sub/c.txt'].entries()) await writeFile(join(tree, name), seededBytes(i + 1, 2000));
    const s = join(work, 'dry-set');
    const p = await xtar(['pack', tree, '--out', s, '--encrypt'], { env: withPassphrase() });
    assert.equal(p.status, 0, p.stderr);
    await writeFile(join(tree, 'sub/c.txt'), 'changed since the full backup\n');
    const d = await xtar(['pack', tree, '--out', s, '--dry-run', '--json'], { env: withPassphrase() });
    assert.equal(d.status, 0, d.stderr);
    const body = JSON.parse(d.stdout) as { kind: string; base: string | null; items: { path: string; change: string }[] };
    assert.equal(body.kind, 'incremental');
    assert.notEqual(body.base, null);
    assert.deepEqual(body.items.map((i) => [i.change, i.path]), [['modified', 'dry-src/sub/c.txt']]);
    const text = await xtar(['pack', tree, '--out', s, '--dry-run'], { env: withPassphrase() });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^modified +dry-src\/sub\/c\.txt$/m);
    assert.match(text.stdout, /would make an incremental backup/);
    // No passphrase (not on a terminal): no plan that would be wrong, one sentence, exit 2; nothing written.
    const before = (await readdir(s)).sort();
    const none = await xtar(['pack', tree, '--out', s, '--dry-run'], { env: env() });
    assert.equal(none.status, 2, none.stdout);
    assert.equal(none.stdout, '');
    assert.equal(none.stderr.trim().split('\n').length, 1, none.stderr);
    assert.match(none.stderr, /encrypted/);
    assert.deepEqual((await readdir(s)).sort(), before);
  });

  it('--index-plain keeps the index on disk (a choice: paths and sha256s in plain)', async () => {
    const s = join(work, 'plain-index');
    const p = await xtar(['pack', src, '--out', s, '--encrypt', '--index-plain'], { env: withPassphrase() });
    assert.equal(p.status, 0, p.stderr);
    assert.ok((await readdir(s)).includes('xtar-index.sqlite'));
  });

  it('neither the passphrase, the secret key nor a file sha256 is in any byte xtar wrote or printed', async () => {
    const secret = (await openKeyFile(await readFile(join(volume, 'xtar-key.age')), PASSPHRASE, 'key'))[0] as string;
    const raw = Buffer.from(bech32.decodeToBytes(secret).bytes);
    const sha = (await snapshot(src)).get('x.zip')?.sha256 as string;
    assert.match(sha, /^[0-9a-f]{64}$/);
    const needles: [string, Buffer][] = [
      ['passphrase', Buffer.from(PASSPHRASE)],
      ['secret key', Buffer.from(secret)],
      ['secret key (lowercase)', Buffer.from(secret.toLowerCase())],
      ['secret key bytes', raw],
      ['a sha256 of a file', Buffer.from(sha)],
    ];
    const written = [...(await filesBelow(set)), ...(await filesBelow(join(work, 'inc-set'))), ...(await filesBelow(recipientSet)), ...(await filesBelow(join(work, 'big-set'))), ...(await filesBelow(join(work, 'par2-set'))), ...(await filesBelow(join(work, 'rescued'))), join(work, 'pack.log')];
    for (const f of written) {
      const b = await readFile(f);
      for (const [what, n] of needles) assert.equal(b.indexOf(n), -1, `${what} in ${f}`);
    }
    for (const o of outputs) for (const [what, n] of needles) assert.equal(Buffer.from(o.stdout + o.stderr).indexOf(n), -1, `${what} in the output`);
  });
});
