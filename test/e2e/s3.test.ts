/**
 * Sets in S3-compatible object storage, against a real OpenStack Swift with s3api that the test
 * starts on loopback (test/helpers/swift-server.ts; once for the file): pack, list, verify, full and
 * partial unpack, an incremental chain, list --obsolete and prune; the archive in the bucket byte for byte the one a pack to a
 * folder writes; a one-file restore that fetches exactly its blob; throttling (503 SlowDown) retried;
 * wrong credentials, a missing bucket and an unknown scheme refused before anything is written; the
 * server killed mid-upload (no volume appears; the next pack removes what was left and succeeds).
 * Skipped only when not root or Swift is not installed (.ci/run installs it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { xtar, type CliResult } from '../helpers/cli.js';
import { FlakyProxy } from '../helpers/flaky-proxy.js';
import { SWIFT_ACCESS_KEY, SWIFT_SECRET_KEY, SwiftServer, swiftUnavailable } from '../helpers/swift-server.js';
import { removeTree, seededBytes, seededText, snapshot, diffSnapshots, tempDir } from '../helpers/tree.js';

const BUCKET = 'xtar-tests';
const unavailable = swiftUnavailable();

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stderr}${r.stdout}`);
  return r;
}

describe('sets in object storage (OpenStack Swift with s3api on loopback)', { skip: unavailable ?? false }, () => {
  let swift: SwiftServer;
  let s3: S3Client;
  let work: string;
  let tree: string;

  const keys = async (prefix: string): Promise<string[]> => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/` }));
    return (r.Contents ?? []).map((o) => (o.Key ?? '').slice(prefix.length + 1)).sort();
  };
  const getObject = async (key: string): Promise<Buffer> => {
    const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  };
  const run = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => xtar(args, { env: swift.env(env), cwd: work });

  before(async () => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    swift = await SwiftServer.start();
    s3 = new S3Client({ endpoint: swift.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: SWIFT_ACCESS_KEY, secretAccessKey: SWIFT_SECRET_KEY } });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    work = await tempDir('xtar-s3-');
    // Folders within folders, and files over a part (8 MiB) in all, so parts holding a folder's header wait for it.
    tree = join(work, 'photos');
    for (const [i, dir] of ['', 'a', 'a/b', 'a/b/c', 'd'].entries()) {
      await mkdir(join(tree, dir), { recursive: true });
      for (let k = 0; k < 4; k++) await writeFile(join(tree, dir, `text-${k}.txt`), seededText(100 * i + k, 3000 + 997 * k));
      await writeFile(join(tree, dir, 'raw.bin'), seededBytes(7 + i, i === 2 ? 9 * 1024 * 1024 : 600_000));
    }
  });

  after(async () => {
    s3?.destroy();
    await swift?.stop();
    if (work !== undefined) await removeTree(work);
  });

  it('packs into s3://BUCKET/PREFIX the same archive bytes as into a folder, volume.json last; list, verify and unpack read it back', async () => {
    const env = { SOURCE_DATE_EPOCH: '1764000000' };
    ok(await run(['pack', tree, '--out', join(work, 'local-set')], env), 'local pack');
    const p = ok(await run(['pack', tree, '--out', `s3://${BUCKET}/same`], env), 's3 pack');
    assert.match(p.stdout, /s3:\/\/xtar-tests\/same\/\d{8}T\d{6}Z-vol001/);
    const [vol] = (await readdir(join(work, 'local-set'))).filter((n) => n.includes('-vol'));
    assert.ok(vol !== undefined);
    const objects = await keys('same');
    for (const f of ['README.txt', 'catalog.jsonl', 'structure.jsonl', 'volume.json', `${vol}.xtar`]) assert.ok(objects.includes(`${vol}/${f}`), `${vol}/${f} in ${objects.join(', ')}`);
    assert.ok(objects.includes('xtar-index.sqlite') && objects.includes('xtar-set.json'), objects.join(', '));
    assert.ok(!objects.includes('xtar.lock'), 'the lock object is removed after the run');
    const local = await readFile(join(work, 'local-set', vol, `${vol}.xtar`));
    assert.ok(local.length > 9 * 1024 * 1024);
    assert.ok((await getObject(`same/${vol}/${vol}.xtar`)).equals(local), 'the object is the bytes a pack to a folder writes');
    for (const f of ['catalog.jsonl', 'structure.jsonl', 'volume.json']) assert.ok((await getObject(`same/${vol}/${f}`)).equals(await readFile(join(work, 'local-set', vol, f))), f);

    const l = ok(await run(['list', `s3://${BUCKET}/same`, '--files']), 'list');
    assert.match(l.stdout, /full .* 25 files/);
    assert.match(l.stdout, /photos\/a\/b\/raw\.bin/);
    assert.ok(!l.stdout.includes('.cache'), l.stdout);
    assert.match(ok(await run(['verify', `s3://${BUCKET}/same`]), 'verify').stdout, /all 25 files intact/);
    const dry = ok(await run(['pack', tree, '--out', `s3://${BUCKET}/same`, '--dry-run'], env), 'pack --dry-run');
    assert.match(dry.stdout, /would make an incremental backup .*store 0 of 25 files/);
    const rep = ok(await run(['repair', `s3://${BUCKET}/same`]), 'repair');
    assert.match(rep.stdout, /all 25 files intact/);
    const dest = join(work, 'restored');
    ok(await run(['unpack', `s3://${BUCKET}/same`, '--dest', dest]), 'unpack');
    assert.deepEqual(diffSnapshots(await snapshot(tree, { contents: true }), await snapshot(join(dest, 'photos'), { contents: true })), []);
  });

  it('restores one file of a multi-volume set fetching exactly its blob (beside the records), and says so', async () => {
    ok(await run(['pack', tree, '--out', `s3://${BUCKET}/multi`, '--volume-size', '4M', '--level', '1']), 'pack');
    const vols = [...new Set((await keys('multi')).filter((k) => k.endsWith('/volume.json')))];
    assert.ok(vols.length >= 3, vols.join(', '));
    const last = vols.sort().at(-1)!.replace('/volume.json', '');
    const line = (await getObject(`multi/${last}/catalog.jsonl`)).toString('utf8').split('\n').find((l) => l.includes('"photos/a/text-2.txt"'));
    assert.ok(line !== undefined);
    const blob = (JSON.parse(line) as { parts: { length: number }[] }).parts.reduce((n, p) => n + p.length, 0);
    // A fresh cache: the records are fetched too, and counted apart.
    const r = ok(await run(['unpack', `s3://${BUCKET}/multi`, 'photos/a/text-2.txt', '--dest', join(work, 'one'), '--json'], { XDG_CACHE_HOME: join(work, 'cache-one') }), 'unpack one');
    const j = JSON.parse(r.stdout) as { files: number; bytes: number; fetched: { bytes: number; records: number; archives: number } };
    assert.equal(j.files, 1);
    assert.equal(j.fetched.archives, blob, 'the archive bytes fetched are the blob');
    assert.equal(j.fetched.bytes, j.fetched.records + blob);
    // The records: every object but the archives, the structure record once per backup (every volume's is the same).
    const listed = (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'multi/' }))).Contents ?? [];
    const firstStructure = `multi/${vols[0]!.replace('/volume.json', '')}/structure.jsonl`;
    const records = listed.filter((o) => !(o.Key ?? '').endsWith('.xtar') && (!(o.Key ?? '').endsWith('/structure.jsonl') || o.Key === firstStructure));
    assert.equal(j.fetched.records, records.reduce((n, o) => n + (o.Size ?? 0), 0));
    assert.ok((await readFile(join(work, 'one', 'photos', 'a', 'text-2.txt'))).equals(seededText(102, 3000 + 997 * 2)));
    const t = ok(await run(['unpack', `s3://${BUCKET}/multi`, 'photos/a/text-2.txt', '--dest', join(work, 'one-again')]), 'unpack one again');
    assert.match(t.stdout, /fetched .* from s3:\/\/xtar-tests\/multi \(records 0 B, archive ranges .*\) for [\d.]+ KiB restored/);
  });

  it('pack --bundle into a bucket: another machine restores every bundled file (by catalog, one member at a time) and verify finds them intact', async () => {
    const src = join(work, 'bundled', 'mail');
    for (let d = 0; d < 3; d++) {
      await mkdir(join(src, `box${d}`), { recursive: true });
      for (let i = 0; i < 30; i++) await writeFile(join(src, `box${d}`, `m${i}.eml`), seededText(1000 + 30 * d + i, 40 + ((7 * i) % 200)));
    }
    ok(await run(['pack', src, '--out', `s3://${BUCKET}/bundled`, '--bundle']), 'pack --bundle');
    const catalog = (await getObject(`bundled/${(await keys('bundled')).find((k) => k.endsWith('/catalog.jsonl')) as string}`)).toString('utf8');
    assert.ok((catalog.match(/"bundle":"\.xtar-bundle-/g) ?? []).length >= 80, 'the files went into bundles');
    const other = { XDG_CACHE_HOME: join(work, 'cache-bundled') };
    ok(await run(['unpack', `s3://${BUCKET}/bundled`, '--dest', join(work, 'bundled-out')], other), 'unpack');
    assert.deepEqual(diffSnapshots(await snapshot(src, { contents: true }), await snapshot(join(work, 'bundled-out', 'mail'), { contents: true })), []);
    const v = ok(await run(['verify', `s3://${BUCKET}/bundled`], { XDG_CACHE_HOME: join(work, 'cache-bundled-2') }), 'verify');
    assert.match(v.stdout, /all 90 files intact/);
  });

  it('an incremental chain: the second pack stores only the change, and each backup restores', async () => {
    const src = join(work, 'chain', 'docs');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'a.txt'), 'first\n');
    await writeFile(join(src, 'b.txt'), seededText(5, 20_000));
    ok(await run(['pack', src, '--out', `s3://${BUCKET}/chain`]), 'full');
    await writeFile(join(src, 'a.txt'), 'second version\n');
    await new Promise((r) => setTimeout(r, 1100)); // a backup id per second
    const inc = ok(await run(['pack', src, '--out', `s3://${BUCKET}/chain`]), 'incremental');
    assert.match(inc.stdout, /incremental backup .*: 1 file\(s\) stored, 1 unchanged/);
    // Another machine (no cache) sees both backups and restores the newest, whose files the first holds in part.
    const other = { XDG_CACHE_HOME: join(work, 'cache-other') };
    const l = ok(await run(['list', `s3://${BUCKET}/chain`], other), 'list');
    assert.match(l.stdout, /full/);
    assert.match(l.stdout, /incremental/);
    ok(await run(['unpack', `s3://${BUCKET}/chain`, '--dest', join(work, 'chain-out')], other), 'unpack newest');
    assert.equal(await readFile(join(work, 'chain-out', 'docs', 'a.txt'), 'utf8'), 'second version\n');
    assert.ok((await readFile(join(work, 'chain-out', 'docs', 'b.txt'))).equals(seededText(5, 20_000)));
    const rebuilt = ok(await run(['index', 'rebuild', `s3://${BUCKET}/chain`], other), 'index rebuild');
    assert.match(rebuilt.stdout, /rebuilt s3:\/\/xtar-tests\/chain\/xtar-index\.sqlite from 2 backup\(s\)/);
  });

  it('an encrypted set in a bucket stays encrypted when another machine packs into it, and keeps no index there', async () => {
    const src = join(work, 'sealed', 'notes');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'a.txt'), 'first\n');
    await writeFile(join(src, 'b.txt'), seededText(6, 20_000));
    const sealed = { XTAR_PASSPHRASE: 'correct horse battery staple', XTAR_SCRYPT_LOG_N: '12' };
    ok(await run(['pack', src, '--out', `s3://${BUCKET}/sealed`, '--encrypt'], sealed), 'encrypted full');
    await writeFile(join(src, 'a.txt'), 'second version\n');
    await new Promise((r) => setTimeout(r, 1100)); // a backup id per second
    // Another machine, no cache, no --encrypt: the set's recipients come from the bucket.
    ok(await run(['pack', src, '--out', `s3://${BUCKET}/sealed`], { ...sealed, XDG_CACHE_HOME: join(work, 'cache-sealed-b') }), 'incremental from elsewhere');
    const top = (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sealed/' }))).Contents ?? [];
    const names = top.map((o) => (o.Key ?? '').slice('sealed/'.length));
    assert.ok(names.includes('xtar-recipients.txt') && names.includes('xtar-key.age'), names.join(' '));
    assert.ok(!names.includes('xtar-index.sqlite'), 'no plain index in the bucket');
    const volumes = [...new Set(names.filter((n) => n.includes('/')).map((n) => n.split('/')[0] as string))];
    assert.equal(volumes.length, 2);
    for (const v of volumes) {
      assert.ok(names.includes(`${v}/catalog.jsonl.age`), `${v} holds its catalog encrypted`);
      assert.ok(!names.includes(`${v}/catalog.jsonl`), `${v} holds no plain catalog`);
    }
    const dest = join(work, 'sealed-out');
    ok(await run(['unpack', `s3://${BUCKET}/sealed`, '--dest', dest], { ...sealed, XDG_CACHE_HOME: join(work, 'cache-sealed-c') }), 'unpack');
    assert.equal(await readFile(join(dest, 'notes', 'a.txt'), 'utf8'), 'second version\n');
    assert.ok((await readFile(join(dest, 'notes', 'b.txt'))).equals(seededText(6, 20_000)));
    // A dry run from a third machine plans against the set's backups, its index made in memory with the key.
    await writeFile(join(src, 'a.txt'), 'third version\n');
    const dry = ok(await run(['pack', src, '--out', `s3://${BUCKET}/sealed`, '--dry-run', '--json'], { ...sealed, XDG_CACHE_HOME: join(work, 'cache-sealed-d') }), 'dry run');
    const plan = JSON.parse(dry.stdout) as { kind: string; items: { path: string; change: string }[] };
    assert.equal(plan.kind, 'incremental');
    assert.deepEqual(plan.items.map((i) => [i.change, i.path]), [['modified', 'notes/a.txt']]);
    // No machine's cache holds a plain index of it either.
    for (const c of ['cache-sealed-b', 'cache-sealed-c', 'cache-sealed-d']) {
      const found = await readdir(join(work, c), { recursive: true });
      assert.ok(!found.some((f) => f.endsWith('xtar-index.sqlite')), `${c}: ${found.join(' ')}`);
    }
  });

  it('an index in the bucket that lacks a backup (packed elsewhere, its upload lost) is rebuilt from the volumes before a pack plans on it', async () => {
    const src = join(work, 'stale', 'docs');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'a.txt'), 'v1\n');
    ok(await run(['pack', src, '--out', `s3://${BUCKET}/stale`]), 'pack 1');
    const older = await getObject('stale/xtar-index.sqlite');
    await new Promise((r) => setTimeout(r, 1100));
    await writeFile(join(src, 'a.txt'), 'v2\n');
    const second = ok(await run(['pack', src, '--out', `s3://${BUCKET}/stale`]), 'pack 2');
    const id2 = /backup (\d{8}T\d{6}Z)/.exec(second.stdout)?.[1];
    assert.ok(id2 !== undefined, second.stdout);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'stale/xtar-index.sqlite', Body: older }));
    await new Promise((r) => setTimeout(r, 1100));
    await writeFile(join(src, 'a.txt'), 'v3\n');
    const third = ok(await run(['pack', src, '--out', `s3://${BUCKET}/stale`], { XDG_CACHE_HOME: join(work, 'cache-stale') }), 'pack 3 from another machine');
    assert.match(third.stderr, new RegExp(`did not know backup\\(s\\) ${id2}`));
    assert.match(third.stdout, new RegExp(`incremental backup \\S+ on ${id2}`));
  });

  it('index rebuild reads the structure record\'s copy inside the archive (from the object, not the cache\'s stand-in) when the one beside it in the bucket is damaged', async () => {
    const src = join(work, 'bad-structure', 'docs');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'a.txt'), 'first\n');
    await writeFile(join(src, 'sub', 'b.txt'), seededText(9, 20_000));
    ok(await run(['pack', src, '--out', `s3://${BUCKET}/bad-structure`]), 'pack');
    const key = (await keys('bad-structure')).find((k) => k.endsWith('/structure.jsonl')) as string;
    assert.ok(key !== undefined);
    const record = await getObject(`bad-structure/${key}`);
    // One byte changed in an entry line: its digest no longer matches.
    const at = record.indexOf('b.txt');
    record[at] = 'c'.charCodeAt(0);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `bad-structure/${key}`, Body: record }));
    const other = { XDG_CACHE_HOME: join(work, 'cache-bad-structure') };
    const r = await run(['index', 'rebuild', `s3://${BUCKET}/bad-structure`, '--json'], other);
    // Exit 1: the damaged record is named; the backup is rebuilt from the archive's copy all the same.
    assert.equal(r.status, 1, r.stderr);
    const body = JSON.parse(r.stdout) as { backups: { files: number; damage: string[] }[]; failed: unknown[] };
    assert.deepEqual(body.failed, []);
    assert.equal(body.backups.length, 1);
    assert.equal(body.backups[0]?.files, 2);
    assert.match(body.backups[0]?.damage.join('\n') ?? '', /structure\.jsonl: its checksum does not match; not used/);
    const files = ok(await run(['list', `s3://${BUCKET}/bad-structure`, '--files'], other), 'list --files');
    assert.match(files.stdout, /docs\/sub\/b\.txt/);
  });

  it('--storage-class is given to the archives\' uploads (Swift keeps STANDARD)', async () => {
    const src = join(work, 'classed');
    await mkdir(src);
    await writeFile(join(src, 'f.txt'), 'x\n');
    ok(await run(['pack', src, '--out', `s3://${BUCKET}/classed`, '--storage-class', 'STANDARD']), 'pack');
    assert.ok((await keys('classed')).some((k) => k.endsWith('.xtar')));
  });

  it('list --obsolete and prune on an s3:// set: named, --dry-run deletes nothing, prune deletes exactly those objects', async () => {
    const src = join(work, 'pruned', 'notes');
    await mkdir(src, { recursive: true });
    for (const [i, text] of ['v1\n', 'v2\n'].entries()) {
      await writeFile(join(src, 'n.txt'), text);
      ok(await run(['pack', src, '--out', `s3://${BUCKET}/pruned`, '--mode', 'full']), `pack ${i}`);
      if (i === 0) await new Promise((r) => setTimeout(r, 1100));
    }
    const vols = (await keys('pruned')).filter((k) => k.endsWith('/volume.json')).map((k) => k.slice(0, -'/volume.json'.length)).sort();
    assert.equal(vols.length, 2);
    const obsolete = ok(await run(['list', `s3://${BUCKET}/pruned`, '--obsolete']), 'list --obsolete');
    assert.match(obsolete.stdout, new RegExp(`1 volume\\(s\\).*\\n  ${vols[0]}`));
    const before = await keys('pruned');
    const dry = ok(await run(['prune', `s3://${BUCKET}/pruned`, '--dry-run']), 'prune --dry-run');
    assert.match(dry.stdout, new RegExp(`would delete s3://${BUCKET}/pruned/${vols[0]} `));
    assert.deepEqual(await keys('pruned'), before);
    const p = ok(await run(['prune', `s3://${BUCKET}/pruned`]), 'prune');
    assert.match(p.stdout, new RegExp(`deleting s3://${BUCKET}/pruned/${vols[0]} `));
    const after = await keys('pruned');
    assert.deepEqual(after, before.filter((k) => !k.startsWith(`${vols[0]}/`)));
    // Another machine sees the pruned set: the index uploaded says so, the newest backup restores.
    const other = { XDG_CACHE_HOME: join(work, 'cache-pruned') };
    assert.match(ok(await run(['prune', `s3://${BUCKET}/pruned`, '--dry-run'], other), 'prune again').stdout, /nothing to delete/);
    ok(await run(['unpack', `s3://${BUCKET}/pruned`, '--dest', join(work, 'pruned-out')], other), 'unpack');
    assert.equal(await readFile(join(work, 'pruned-out', 'notes', 'n.txt'), 'utf8'), 'v2\n');
  });

  it('throttling (503 SlowDown) is retried with backoff: pack and unpack succeed through it', async () => {
    const proxy = await FlakyProxy.start(swift.endpoint);
    try {
      const env = { AWS_ENDPOINT_URL: proxy.endpoint, XDG_CACHE_HOME: join(work, 'cache-flaky') };
      const src = join(work, 'flaky');
      await mkdir(src);
      await writeFile(join(src, 'f.bin'), seededBytes(3, 200_000));
      proxy.failNext = 3;
      ok(await run(['pack', src, '--out', `s3://${BUCKET}/flaky`], env), 'pack through 503s');
      assert.equal(proxy.slowDowns, 3);
      // Every other request throttled while restoring.
      let n = 0;
      proxy.onRequest = () => {
        if (n++ % 2 === 0) proxy.failNext = 1;
      };
      ok(await run(['unpack', `s3://${BUCKET}/flaky`, '--dest', join(work, 'flaky-out')], { ...env, XDG_CACHE_HOME: join(work, 'cache-flaky-2') }), 'unpack through 503s');
      assert.ok(proxy.slowDowns > 5, `${proxy.slowDowns} throttled`);
      assert.ok((await readFile(join(work, 'flaky-out', 'flaky', 'f.bin'))).equals(seededBytes(3, 200_000)));
    } finally {
      await proxy.close();
    }
  });

  it('wrong credentials, a missing bucket and an unknown scheme: exit 2 with one sentence, nothing written', async () => {
    const before = await keys('refused');
    const bad = await run(['pack', tree, '--out', `s3://${BUCKET}/refused`], { AWS_SECRET_ACCESS_KEY: 'not-the-key' });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /refused the credentials/);
    assert.deepEqual(await keys('refused'), before);
    const nob = await run(['list', 's3://no-such-bucket/x']);
    assert.equal(nob.status, 2);
    assert.match(nob.stderr, /The bucket no-such-bucket does not exist/);
    const packNob = await run(['pack', tree, '--out', 's3://no-such-bucket/x']);
    assert.equal(packNob.status, 2);
    assert.match(packNob.stderr, /does not exist/);
    const local = await run(['pack', tree, '--out', join(work, 'local-class'), '--storage-class', 'STANDARD']);
    assert.equal(local.status, 2);
    assert.match(local.stderr, /--storage-class is for sets in object storage/);
    const par2 = await run(['pack', tree, '--out', `s3://${BUCKET}/refused`, '--par2', '5']);
    assert.equal(par2.status, 2);
    assert.match(par2.stderr, /not for sets in object storage/);
    assert.deepEqual(await keys('refused'), before);
    const ftp = await run(['pack', tree, '--out', 'ftp://host/set']);
    assert.equal(ftp.status, 2);
    assert.match(ftp.stderr, /knows no ftp:\/\/ sets/);
    assert.ok(!existsSync(join(work, 'ftp:')), 'no folder named after the scheme');
    assert.equal((await run(['unpack', 'gs://b/x', '--dest', join(work, 'gs')])).status, 2);
  });

  it('the server killed mid-upload: no volume appears; the next pack removes what was left and succeeds', async () => {
    const proxy = await FlakyProxy.start(swift.endpoint);
    const env = { AWS_ENDPOINT_URL: proxy.endpoint, AWS_MAX_ATTEMPTS: '2', XDG_CACHE_HOME: join(work, 'cache-kill') };
    try {
      const killed: { done: Promise<void> | null } = { done: null };
      proxy.onRequest = (req) => {
        if (killed.done === null && req.method === 'PUT' && /[?&]partNumber=/.test(req.url ?? '')) killed.done = swift.kill('proxy');
      };
      const log = join(work, 'killed.log');
      const r = await run(['pack', tree, '--out', `s3://${BUCKET}/killed`, '--log', log], env);
      assert.equal(r.status, 2, r.stderr);
      assert.ok(killed.done !== null, 'an upload was under way');
      // The failed run's log line names the set as given, not a folder named after the URL.
      const logged = JSON.parse((await readFile(log, 'utf8')).trim().split('\n').at(-1) ?? '') as { set: string; outcome: string };
      assert.deepEqual([logged.set, logged.outcome], [`s3://${BUCKET}/killed`, 'failed']);
      await killed.done;
      proxy.onRequest = null;
      await swift.restart('proxy');
      // What the killed server kept: an upload in progress (and no volume.json).
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'killed/' }));
      assert.ok((uploads.Uploads ?? []).length > 0, 'an upload was left in progress');
      assert.ok(!(await keys('killed')).some((k) => k.endsWith('/volume.json')));
      const l = ok(await run(['list', `s3://${BUCKET}/killed`], env), 'list');
      assert.doesNotMatch(l.stdout, /volume\(s\)/, 'no backup is listed');
      const again = ok(await run(['pack', tree, '--out', `s3://${BUCKET}/killed`], env), 'pack again');
      assert.match(again.stderr, /removed what an interrupted pack left/);
      assert.equal(((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'killed/' }))).Uploads ?? []).length, 0);
      const vols = (await keys('killed')).filter((k) => k.endsWith('/volume.json'));
      assert.equal(vols.length, 1);
      assert.match(ok(await run(['verify', `s3://${BUCKET}/killed`], env), 'verify').stdout, /all 25 files intact/);
    } finally {
      await proxy.close();
      await swift.restart('proxy');
    }
  });
});
