/**
 * Archives made with the libdeflate backend (src/worker/deflate.ts) hold other deflate bytes than
 * zlib's, and the same contents: xtar restores and verifies them, and every blob is a zip that
 * `unzip -t` passes and `unzip -p` reads back, as the README.txt procedure (sh, tar, unzip) needs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, xtar } from '../helpers/cli.js';
import { diffSnapshots, removeTree, seededBytes, seededText, snapshot, tempDir } from '../helpers/tree.js';
import { scriptFromReadme } from '../helpers/readme-script.js';

const ADDON = fileURLToPath(new URL('../../../native/build/Release/xtar_deflate.node', import.meta.url));
const EPOCH = 1_700_000_000;

interface CatalogLine {
  path?: string;
  size?: number;
  sha256?: string;
  method?: string;
  parts?: { volume: number; offset: number; length: number }[];
}

interface Packed {
  volume: string;
  archive: string;
  catalog: CatalogLine[];
}

describe('archives deflated by libdeflate', { skip: existsSync(ADDON) ? false : 'the libdeflate addon is not built here' }, () => {
  let work: string;
  let src: string;
  const sets: Record<'zlib' | 'libdeflate', Packed> = {} as Record<'zlib' | 'libdeflate', Packed>;

  before(async () => {
    work = await tempDir();
    src = join(work, 'tree');
    await mkdir(join(src, 'sub/deeper'), { recursive: true });
    await writeFile(join(src, 'empty'), '');
    await writeFile(join(src, 'one'), 'x');
    await writeFile(join(src, 'text.txt'), seededText(21, 40_000));
    await writeFile(join(src, 'sub/random.bin'), seededBytes(22, 30_000));
    await writeFile(join(src, 'sub/big-text.txt'), seededText(23, 700_000));
    await writeFile(join(src, 'sub/deeper/repeats'), Buffer.alloc(2 << 20, 'libdeflate '));
    await run('find', [src, '-exec', 'touch', '-h', '-d', `@${EPOCH}`, '{}', '+']);
    for (const backend of ['zlib', 'libdeflate'] as const) {
      const env = { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH), XTAR_DEFLATE: backend };
      const r = await xtar(['pack', src, '--out', join(work, `set-${backend}`), '--json'], { env });
      assert.equal(r.status, 0, r.stderr);
      const v = (JSON.parse(r.stdout) as { volumes: { path: string; archive: string }[] }).volumes[0] as { path: string; archive: string };
      const catalog = (await readFile(join(v.path, 'catalog.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as CatalogLine);
      sets[backend] = { volume: v.path, archive: v.archive, catalog };
    }
  });
  after(async () => {
    await removeTree(work);
  });

  it('the blobs differ from zlib\'s, the contents they record do not', async () => {
    const files = (p: Packed) => p.catalog.filter((l) => l.path !== undefined).map((l) => `${l.path} ${l.size} ${l.sha256} ${l.method}`);
    assert.deepEqual(files(sets.libdeflate), files(sets.zlib));
    assert.equal(files(sets.zlib).filter((f) => f.endsWith(' deflate')).length, 3, 'text.txt, big-text.txt and repeats are deflated');
    assert.ok(!(await readFile(sets.libdeflate.archive)).equals(await readFile(sets.zlib.archive)), 'libdeflate wrote other deflate bytes');
  });

  it('xtar unpacks the libdeflate set exactly, and verify finds nothing', async () => {
    const dest = join(work, 'out');
    const u = await xtar(['unpack', join(work, 'set-libdeflate'), '--dest', dest], { env: { ...process.env, XTAR_DEFLATE: 'zlib' } });
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'tree'))), []);
    const v = await xtar(['verify', join(work, 'set-libdeflate')]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });

  it('every blob passes `unzip -t`, and `unzip -p` gives the file\'s bytes', async () => {
    const archive = await readFile(sets.libdeflate.archive);
    const blobs = join(work, 'blobs');
    await mkdir(blobs);
    let n = 0;
    for (const line of sets.libdeflate.catalog) {
      if (line.path === undefined || line.parts === undefined) continue;
      const part = line.parts[0] as { offset: number; length: number };
      const zip = join(blobs, `${n++}.zip`);
      await writeFile(zip, archive.subarray(part.offset, part.offset + part.length));
      const t = await run('unzip', ['-t', zip]);
      assert.equal(t.status, 0, `unzip -t ${line.path}: ${t.stdout}${t.stderr}`);
      assert.match(t.stdout, /No errors detected/);
      const p = await run('sh', ['-c', 'unzip -p "$1" | sha256sum', 'sh', zip]);
      assert.equal(p.stdout.split(' ')[0], line.sha256, `unzip -p ${line.path}`);
    }
    assert.equal(n, 6);
  });

  it('the README.txt procedure (sh, tar, unzip) restores every file\'s bytes', async () => {
    const script = join(work, 'restore.sh');
    await writeFile(script, await scriptFromReadme(sets.libdeflate.volume));
    const dest = join(work, 'by-hand');
    const r = await run('sh', [script, dest, sets.libdeflate.archive]);
    assert.equal(r.status, 0, r.stderr);
    const original = await snapshot(src);
    const byHand = await snapshot(join(dest, 'tree'));
    for (const [p, info] of original) if (info.type === 'file') assert.equal(byHand.get(p)?.sha256, info.sha256, p);
  });
});

describe('XTAR_DEFLATE', () => {
  it('a value other than zlib or libdeflate ends pack as a usage error (exit 2, one sentence, no stack), writing nothing', async () => {
    const work = await tempDir();
    try {
      await writeFile(join(work, 'a.txt'), 'a');
      const r = await xtar(['pack', join(work, 'a.txt'), '--out', join(work, 'set')], { env: { ...process.env, XTAR_DEFLATE: 'pigz' } });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^xtar: XTAR_DEFLATE must be "zlib" or "libdeflate", not "pigz"\.\n/);
      assert.doesNotMatch(r.stderr, /internal error|\n {4}at /);
      assert.equal(existsSync(join(work, 'set')), false);
    } finally {
      await removeTree(work);
    }
  });
});
