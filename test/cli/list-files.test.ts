/**
 * `xtar list --files` streams: the file lines are written as the catalog is read, and while stdout's
 * buffer is full the listing waits for 'drain' — a million files never sit in memory as lines.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pack } from '../../src/index.js';
import { runList } from '../../src/cli/commands/list.js';
import { eachListedFile, listFiles } from '../../src/set/list.js';
import { removeTree, tempDir } from '../helpers/tree.js';

/** A stdout whose buffer is always full: every write says to wait, and 'drain' comes only when the test says. */
class FullPipe extends PassThrough {
  readonly writes: string[] = [];
  override write(chunk: unknown): boolean {
    this.writes.push(String(chunk));
    return false;
  }
}

describe('list --files', () => {
  let dir: string;
  let set: string;
  before(async () => {
    dir = await tempDir();
    const src = join(dir, 'src');
    for (let d = 0; d < 20; d++) {
      await mkdir(join(src, `folder-with-a-long-name-${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) await writeFile(join(src, `folder-with-a-long-name-${d}`, `file-${f}.txt`), `${d} ${f}`);
    }
    set = join(dir, 'set');
    await pack({ source: src, out: set, jobs: 1 });
  });
  after(() => removeTree(dir));

  it('yields the files one at a time, as listFiles lists them', async () => {
    const [id] = (await import('node:fs')).readdirSync(set).filter((n) => n.endsWith('-vol001'));
    const backup = (id as string).replace(/-vol001$/, '');
    const all = await listFiles(set, backup);
    assert.equal(all.length, 2000);
    const first: string[] = [];
    for await (const f of eachListedFile(set, backup)) {
      first.push(f.path);
      if (first.length === 3) break;
    }
    assert.deepEqual(first, all.slice(0, 3).map((f) => f.path));
  });

  it("waits for stdout's 'drain' instead of buffering the whole listing", async () => {
    const stdout = new FullPipe();
    const stderr = new PassThrough();
    const listing = runList({ set, files: '', json: false }, { stdout, stderr });
    const lines = (): number => stdout.writes.join('').split('\n').filter((l) => l.includes('file-')).length;
    const done = listing.then(() => true);
    const settled = (ms: number): Promise<boolean> => Promise.race([done, new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
    // Let the listing run as far as it can without a 'drain': to its first full buffer, and no further.
    for (let i = 0; i < 500 && lines() === 0; i++) assert.equal(await settled(10), false);
    assert.equal(await settled(200), false);
    const before = lines();
    assert.ok(before > 0 && before < 2000, `lines written before any drain: ${before}`);
    while (!(await settled(5))) stdout.emit('drain');
    assert.equal(await listing, 0);
    assert.equal(stdout.writes.join('').split('\n').filter((l) => l.includes('file-')).length, 2000);
  });
});
