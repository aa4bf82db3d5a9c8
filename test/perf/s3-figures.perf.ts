/**
 * Figures for sets in object storage (README "Sets in object storage"), against the tests' Swift with
 * s3api on loopback: pack a tree into s3:// and into a folder, interleaved in the same run (wall
 * time and CPU of each xtar process), and the bytes fetched to restore one file of a multi-volume
 * set (a fresh cache, then a warm one). Prints the figures; asserts only that the restore fetched
 * exactly the file's blob from the archives.
 *
 *   npx tsc -p tsconfig.json && XTAR_S3_CORPUS=/dev/shm/xb/corpora/small node --test dist/test/perf/s3-figures.perf.js
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CLI, run } from '../helpers/cli.js';
import { SWIFT_ACCESS_KEY, SWIFT_SECRET_KEY, SwiftServer, swiftUnavailable } from '../helpers/swift-server.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const CORPUS = process.env.XTAR_S3_CORPUS ?? '/dev/shm/xb/corpora/small';
const ROUNDS = Number(process.env.XTAR_S3_ROUNDS ?? 2);

describe('object storage figures', { skip: swiftUnavailable() ?? false }, () => {
  let swift: SwiftServer;
  let work: string;

  before(async () => {
    swift = await SwiftServer.start();
    const s3 = new S3Client({ endpoint: swift.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: SWIFT_ACCESS_KEY, secretAccessKey: SWIFT_SECRET_KEY } });
    await s3.send(new CreateBucketCommand({ Bucket: 'figures' }));
    s3.destroy();
    work = await tempDir('xtar-s3-figures-');
  });
  after(async () => {
    await swift?.stop();
    if (work !== undefined) await removeTree(work);
  });

  /** xtar ARGS under /usr/bin/time: its JSON output, wall seconds and user+sys CPU seconds. */
  async function timed(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ json: Record<string, unknown>; wall: number; cpu: number }> {
    const r = await run('/usr/bin/time', ['-f', 'TIME %e %U %S', process.execPath, CLI, ...args], { env: swift.env(env) });
    assert.equal(r.status, 0, r.stderr);
    const t = /TIME (\S+) (\S+) (\S+)/.exec(r.stderr);
    assert.ok(t !== null);
    return { json: JSON.parse(r.stdout) as Record<string, unknown>, wall: Number(t[1]), cpu: Number(t[2]) + Number(t[3]) };
  }

  it('pack into s3:// against into a folder, and a one-file restore from several volumes', async () => {
    const sum = { local: { wall: 0, cpu: 0 }, s3: { wall: 0, cpu: 0 } };
    for (let i = 0; i < ROUNDS; i++) {
      const l = await timed(['pack', CORPUS, '--out', join(work, `local-${i}`), '--quiet', '--json']);
      const s = await timed(['pack', CORPUS, '--out', `s3://figures/s3-${i}`, '--quiet', '--json']);
      console.log(`round ${i + 1}: folder ${l.wall} s wall, ${l.cpu.toFixed(2)} s CPU; s3 ${s.wall} s wall, ${s.cpu.toFixed(2)} s CPU; archive ${String(s.json.archiveBytes)} bytes`);
      sum.local.wall += l.wall;
      sum.local.cpu += l.cpu;
      sum.s3.wall += s.wall;
      sum.s3.cpu += s.cpu;
    }
    console.log(`pack to s3:// / to a folder: wall ${(sum.s3.wall / sum.local.wall).toFixed(2)}x, CPU ${(sum.s3.cpu / sum.local.cpu).toFixed(2)}x (${ROUNDS} rounds each, interleaved)`);
    const m = await timed(['pack', CORPUS, '--out', 's3://figures/multi', '--volume-size', '20M', '--quiet', '--json']);
    const vols = (m.json.volumes as unknown[]).length;
    const list = await timed(['list', 's3://figures/multi', '--files', '--json']);
    const files = ((list.json.backups as { fileList: { path: string; size: number; volumes: number[] }[] }[])[0]?.fileList ?? []).filter((f) => f.size > 20_000 && f.size < 200_000);
    const pick = files[Math.floor(files.length / 2)];
    assert.ok(pick !== undefined);
    const cache = { XDG_CACHE_HOME: join(work, 'fresh-cache') };
    const one = await timed(['unpack', 's3://figures/multi', pick.path, '--dest', join(work, 'one'), '--json'], cache);
    const again = await timed(['unpack', 's3://figures/multi', pick.path, '--dest', join(work, 'two'), '--json'], cache);
    const f1 = one.json.fetched as { bytes: number; records: number; archives: number };
    const f2 = again.json.fetched as { bytes: number; records: number; archives: number };
    console.log(`one file (${pick.path}, ${pick.size} bytes, volume ${pick.volumes.join('+')}) of ${vols} volumes: fresh cache fetched ${f1.bytes} bytes (records ${f1.records}, archive ranges ${f1.archives}); warm cache ${f2.bytes} bytes`);
    assert.equal(f2.records, 0);
    assert.equal(f1.archives, f2.archives);
  });
});
