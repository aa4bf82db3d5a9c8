/**
 * Destination's safe writes: every file goes through a temporary name, a failure leaves neither it
 * nor a cut-short file, the policy keeps what it should, and a killed run's temporaries are swept.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Destination, KEPT_NEWER, KEPT_OLD, writeVerifiedAt } from '../../src/dest/destination.js';
import { UnsafePathError, XtarError } from '../../src/errors.js';
import { removeTree, tempDir } from '../helpers/tree.js';

describe('Destination writes', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('replaces a file or a symlink (never following it) through a temporary name, leaving none', async () => {
    const dir = join(work, 'replace');
    await mkdir(dir);
    await writeFile(join(dir, 'outside'), 'outside\n');
    await writeFile(join(dir, 'f'), 'old\n');
    await symlink('outside', join(dir, 'l'));
    const d = new Destination(dir);
    d.writeVerifiedFile(['f'], Buffer.from('new f\n'), false, Infinity);
    d.writeVerifiedFile(['l'], Buffer.from('new l\n'), false, Infinity);
    assert.equal(await readFile(join(dir, 'f'), 'utf8'), 'new f\n');
    assert.equal(await readFile(join(dir, 'l'), 'utf8'), 'new l\n');
    await assert.rejects(readlink(join(dir, 'l')));
    assert.equal(await readFile(join(dir, 'outside'), 'utf8'), 'outside\n');
    assert.deepEqual((await readdir(dir)).sort(), ['f', 'l', 'outside']);
  });

  it('makes the destination and its missing parents; a place where no folder can be made is an error, not a loop', async () => {
    const deep = join(work, 'made', 'a', 'b');
    new Destination(deep).writeVerifiedFile(['f'], Buffer.from('f\n'), false, Infinity);
    assert.equal(await readFile(join(deep, 'f'), 'utf8'), 'f\n');
    // mkdir under /proc answers ENOENT though /proc is there (node's recursive mkdir spins on it for ever).
    // (In a child with a time limit: the old code never returned, so the test would hang rather than fail.)
    const mod = new URL('../../src/dest/destination.js', import.meta.url).href;
    const code = `import { Destination } from ${JSON.stringify(mod)};
      try { new Destination('/proc/xtar-no-such/x').writeVerifiedFile(['f'], Buffer.from('f'), false, Infinity); console.log('made'); }
      catch (e) { console.log('refused', e.code ?? e.name); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { timeout: 30_000, encoding: 'utf8' });
    assert.equal(r.signal, null, 'the child ended by itself');
    assert.match(r.stdout, /^refused /);
  });

  it('refuses a folder in the way and removes its temporary file', async () => {
    const dir = join(work, 'folder');
    await mkdir(join(dir, 'x'), { recursive: true });
    const d = new Destination(dir);
    assert.throws(() => writeVerifiedAt(d.filePath(['x']), 'x', Buffer.from('x'), false, d.tmpTag, Infinity), UnsafePathError);
    assert.deepEqual(await readdir(dir), ['x']);
  });

  it('a write that fails leaves what stood there, and no temporary file', async () => {
    const dir = join(work, 'fail');
    await mkdir(dir);
    await writeFile(join(dir, 'f'), 'old\n');
    const d = new Destination(dir);
    // A buffer that claims more bytes than it holds makes writeSync throw after the temporary file is open.
    const bad = Buffer.from('abc');
    Object.defineProperty(bad, 'length', { value: 1 << 20 });
    assert.throws(() => d.writeVerifiedFile(['f'], bad, false, Infinity));
    assert.equal(await readFile(join(dir, 'f'), 'utf8'), 'old\n');
    assert.deepEqual(await readdir(dir), ['f']);
  });

  it('keeps an existing file as the policy says: keep-old always, keep-newer when as new or newer', async () => {
    const dir = join(work, 'keep');
    await mkdir(dir);
    await writeFile(join(dir, 'f'), 'mine\n');
    await utimes(join(dir, 'f'), 1000, 1000);
    const d = new Destination(dir);
    const code = (keep: number): string | undefined => {
      try {
        d.writeVerifiedFile(['f'], Buffer.from('archive\n'), false, keep);
        return undefined;
      } catch (e) {
        return (e as XtarError).code;
      }
    };
    d.existing = 'keep-old';
    assert.equal(code(d.keepIf(5000)), KEPT_OLD);
    d.existing = 'keep-newer';
    assert.equal(code(d.keepIf(1000)), KEPT_NEWER);
    assert.equal(code(d.keepIf(999)), KEPT_NEWER);
    assert.equal(await readFile(join(dir, 'f'), 'utf8'), 'mine\n');
    assert.equal(code(d.keepIf(1002)), undefined);
    assert.equal(await readFile(join(dir, 'f'), 'utf8'), 'archive\n');
    assert.deepEqual(await readdir(dir), ['f']);
  });

  it('sweeps the temporary files a killed run left in folders that were there, not its own nor anything else', async () => {
    const dir = join(work, 'sweep');
    await mkdir(join(dir, 'sub', '.xtar-tmp-folder'), { recursive: true });
    for (const p of ['.xtar-tmp-dead0001-0-7', 'sub/.xtar-tmp-dead0001-3-9', 'sub/keep.txt']) await writeFile(join(dir, p), 'x');
    const d = new Destination(dir);
    await writeFile(join(dir, `.xtar-tmp-${d.tmpTag}-0-1`), 'in flight');
    d.ensureDir(['sub']);
    assert.deepEqual((await readdir(dir)).sort(), [`.xtar-tmp-${d.tmpTag}-0-1`, 'sub']);
    assert.deepEqual((await readdir(join(dir, 'sub'))).sort(), ['.xtar-tmp-folder', 'keep.txt']);
  });
});
