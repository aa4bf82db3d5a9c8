/**
 * `xtar index rebuild` of a set in object storage whose catalog.jsonl objects are gone (or damaged):
 * the catalog is taken from the copy inside each archive, checked and read from the object with
 * ranged GETs, never from the cache's stand-in of zeros — as on a folder
 * (test/e2e/index-rebuild-copies.test.ts); and unpack, which chooses the same way, restores by it. Against the real OpenStack Swift with s3api that
 * test/helpers/swift-server.ts starts on loopback; skipped only when not root or Swift is not installed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { xtar, type CliResult } from '../helpers/cli.js';
import { SWIFT_ACCESS_KEY, SWIFT_SECRET_KEY, SwiftServer, swiftUnavailable } from '../helpers/swift-server.js';
import { diffSnapshots, removeTree, seededBytes, seededText, snapshot, tempDir } from '../helpers/tree.js';

const BUCKET = 'xtar-rebuild-catalog';
const unavailable = swiftUnavailable();

describe('index rebuild of an s3:// set takes the catalog from the copies inside the archives', { skip: unavailable ?? false }, () => {
  let swift: SwiftServer;
  let s3: S3Client;
  let work: string;
  let tree: string;

  const catalogKeys = async (prefix: string): Promise<string[]> => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/` }));
    return (r.Contents ?? []).map((o) => o.Key ?? '').filter((k) => k.endsWith('/catalog.jsonl')).sort();
  };
  const run = (args: string[], cache: string): Promise<CliResult> => xtar(args, { env: swift.env({ XDG_CACHE_HOME: join(work, cache) }), cwd: work });
  const packed = async (prefix: string): Promise<void> => {
    const r = await run(['pack', tree, '--out', `s3://${BUCKET}/${prefix}`, '--volume-size', '300K', '--quiet'], `cache-${prefix}`);
    assert.equal(r.status, 0, r.stderr);
    assert.ok((await catalogKeys(prefix)).length >= 2, 'several volumes');
  };

  before(async () => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    swift = await SwiftServer.start();
    s3 = new S3Client({ endpoint: swift.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: SWIFT_ACCESS_KEY, secretAccessKey: SWIFT_SECRET_KEY } });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    work = await tempDir('xtar-s3-catalog-');
    tree = join(work, 'photos');
    await mkdir(join(tree, 'raw'), { recursive: true });
    for (let i = 0; i < 24; i++) await writeFile(join(tree, 'raw', `p${String(i).padStart(2, '0')}.raw`), seededBytes(i, 12_000));
    for (let i = 0; i < 20; i++) await writeFile(join(tree, `n${String(i).padStart(2, '0')}.txt`), seededText(50 + i, 300));
  });

  after(async () => {
    s3?.destroy();
    await swift?.stop();
    if (work !== undefined) await removeTree(work);
  });

  it('every catalog.jsonl object deleted: rebuilt from the copies (exit 0), and the next pack stores nothing', async () => {
    await packed('no-plain');
    for (const key of await catalogKeys('no-plain')) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    const r = await run(['index', 'rebuild', `s3://${BUCKET}/no-plain`], 'cache-other');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    // unpack too checks and reads each copy from its object: every file restored by the catalog, nothing named.
    const dest = join(work, 'no-plain-out');
    const u = await run(['unpack', `s3://${BUCKET}/no-plain`, '--dest', dest], 'cache-unpack');
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(tree, { contents: true }), await snapshot(join(dest, 'photos'), { contents: true })), []);
    const again = await run(['pack', tree, '--out', `s3://${BUCKET}/no-plain`, '--json'], 'cache-other');
    assert.equal(again.status, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { nothingChanged?: boolean }).nothingChanged, true, again.stdout);
  });

  it('the newest catalog.jsonl with a byte flipped: named and not believed, the copy used (exit 1)', async () => {
    await packed('flipped');
    const key = (await catalogKeys('flipped')).at(-1) as string;
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const body = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    const at = body.indexOf('"sha256":"', body.indexOf(0x0a) + 1) + 15;
    body[at] = body[at] === 0x61 ? 0x62 : 0x61;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    const r = await run(['index', 'rebuild', `s3://${BUCKET}/flipped`], 'cache-flipped-other');
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /catalog\.jsonl: catalog\.jsonl is damaged \(its checksum does not match\); the copy inside the archive was used\n$/);
    const again = await run(['pack', tree, '--out', `s3://${BUCKET}/flipped`, '--json'], 'cache-flipped-other');
    assert.equal(again.status, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { nothingChanged?: boolean }).nothingChanged, true, again.stdout);
  });
});
