/**
 * The selection (src/scan/select.ts) on trees the tests build: each rule, their precedence (the
 * command line over ignore files, a deeper ignore file over a shallower one, negation), the rule named
 * for each excluded path, and the quick walk of activity leaving out exactly what the scan does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../src/errors.js';
import { walkFilesSync } from '../../src/scan/quick-walk.js';
import { scanTree } from '../../src/scan/scan.js';
import { CACHEDIR_SIGNATURE, durationText, type SelectionOptions } from '../../src/scan/select.js';
import { isRoot, removeTree, tempDir } from '../helpers/tree.js';

interface Walked {
  paths: string[];
  /** path → rule text, for each path the selection left out. */
  excluded: Map<string, string>;
  kinds: Map<string, string>;
  skipped: { path: string; reason: string }[];
}

async function walk(src: string, select: SelectionOptions = {}): Promise<Walked> {
  const w: Walked = { paths: [], excluded: new Map(), kinds: new Map(), skipped: [] };
  const r = await scanTree(src, (e) => void w.paths.push(e.path), {
    select,
    onExcluded: (p, why) => {
      assert.ok(!w.excluded.has(p), `${p} told once`);
      w.excluded.set(p, why.rule);
      w.kinds.set(p, why.kind);
    },
  });
  w.skipped = r.skipped;
  return w;
}

/** The regular files the quick walk (activity) yields, as record paths like the scan's. */
function quick(src: string, select: SelectionOptions = {}): string[] {
  const out: string[] = [];
  walkFilesSync(src, select, (f) => out.push(`src/${f.path}`));
  return out.sort();
}

async function files(src: string, select: SelectionOptions = {}): Promise<string[]> {
  const out: string[] = [];
  await scanTree(src, (e) => void (e.type === 'file' && out.push(e.path)), { select });
  return out.sort();
}

async function put(path: string, text = 'x'): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
}

describe('selection', () => {
  let work: string;
  let src: string;

  before(async () => {
    work = await tempDir('xtar-select-');
    src = join(work, 'src');
    for (const p of ['a/x.log', 'a/keep.log', 'a/y.tmp', 'a/keep.tmp', 'a/sub/x', 'a/build/o', 'b/y.tmp', 'b/sub/x', 'b/build', 'c/d/e/deep.o', 'top.o', 'notes.txt']) {
      await put(join(src, p));
    }
  });
  after(() => removeTree(work));

  it('--exclude is gitignore: a name at any depth, a path anchored, a trailing / for folders only, ** across folders', async () => {
    const w = await walk(src, { exclude: ['*.o', 'a/sub', 'build/', 'c/**/e'] });
    for (const p of ['src/top.o', 'src/a/sub', 'src/a/build', 'src/c/d/e']) assert.ok(!w.paths.includes(p), p);
    assert.equal(w.excluded.get('src/top.o'), "--exclude '*.o'");
    assert.equal(w.excluded.get('src/a/sub'), "--exclude 'a/sub'");
    assert.equal(w.excluded.get('src/a/build'), "--exclude 'build/'");
    assert.equal(w.excluded.get('src/c/d/e'), "--exclude 'c/**/e'");
    // Anchored: b/sub is not a/sub; a file named build is not a folder; a folder is listed once, not what is below it.
    assert.ok(w.paths.includes('src/b/sub/x'));
    assert.ok(w.paths.includes('src/b/build'));
    assert.ok(!w.excluded.has('src/a/sub/x') && !w.excluded.has('src/c/d/e/deep.o'));
    // A leading / anchors at the source; ./ is read as /.
    const anchored = await walk(src, { exclude: ['/x', './b/y.tmp', '/sub'] });
    assert.deepEqual([...anchored.excluded.keys()], ['src/b/y.tmp']);
  });

  it('--exclude negation: the last matching line wins', async () => {
    const w = await walk(src, { exclude: ['*.log', '!keep.log'] });
    assert.ok(w.paths.includes('src/a/keep.log'));
    assert.ok(!w.paths.includes('src/a/x.log'));
  });

  it('--exclude-regex tests the path below the source, /-separated; a bad one is an input error', async () => {
    const w = await walk(src, { excludeRegex: ['^a/.*\\.tmp$', '^c/d$'] });
    assert.deepEqual([...w.excluded.entries()], [
      ['src/a/keep.tmp', "--exclude-regex '^a/.*\\.tmp$'"],
      ['src/a/y.tmp', "--exclude-regex '^a/.*\\.tmp$'"],
      ['src/c/d', "--exclude-regex '^c/d$'"],
    ]);
    assert.deepEqual([...w.kinds.values()], ['exclude-regex', 'exclude-regex', 'exclude-regex']);
    assert.ok(w.paths.includes('src/b/y.tmp'));
    await assert.rejects(walk(src, { excludeRegex: ['('] }), InputError);
  });

  it('--exclude-from reads gitignore lines (comments, blanks, negation) and names file and line; --exclude wins over it', async () => {
    const list = join(work, 'list');
    await writeFile(list, '# build products\n\n*.o\n*.tmp\n!keep.tmp\n');
    const w = await walk(src, { excludeFrom: [list] });
    assert.equal(w.excluded.get('src/top.o'), `--exclude-from ${list}: line 3 '*.o'`);
    assert.equal(w.excluded.get('src/a/y.tmp'), `--exclude-from ${list}: line 4 '*.tmp'`);
    assert.equal(w.kinds.get('src/a/y.tmp'), 'exclude-from');
    assert.ok(w.paths.includes('src/a/keep.tmp'));
    const over = await walk(src, { excludeFrom: [list], exclude: ['keep.tmp'] });
    assert.equal(over.excluded.get('src/a/keep.tmp'), "--exclude 'keep.tmp'");
    await assert.rejects(walk(src, { excludeFrom: [join(work, 'missing')] }), InputError);
  });

  describe('.xtarignore', () => {
    let t: string;
    before(async () => {
      t = join(work, 'ign', 'src');
      for (const p of ['a/y.tmp', 'a/keep.tmp', 'a/sub/x', 'a/sub/keep.tmp', 'b/y.tmp', 'b/keep.tmp', 'b/sub/x', 'x.log', 'a/x.log', 'a/deep/z.log']) await put(join(t, p));
      await writeFile(join(t, '.xtarignore'), '*.tmp\n*.log\n');
      // a/ re-includes keep.tmp below it, and leaves out sub/x relative to itself (a/sub/x, not b/sub/x).
      await writeFile(join(t, 'a', '.xtarignore'), '# a\n!keep.tmp\nsub/x\n/deep\n');
    });

    it('is scoped to its folder: a pattern with / is anchored there; the file itself is kept', async () => {
      const w = await walk(t);
      assert.equal(w.excluded.get('src/a/sub/x'), "src/a/.xtarignore: line 3 'sub/x'");
      assert.ok(w.paths.includes('src/b/sub/x'));
      assert.equal(w.excluded.get('src/a/deep'), "src/a/.xtarignore: line 4 '/deep'");
      assert.equal(w.kinds.get('src/a/deep'), 'ignore-file');
      assert.ok(w.paths.includes('src/.xtarignore') && w.paths.includes('src/a/.xtarignore'));
    });

    it('a deeper file wins over a shallower one: its negation re-includes below it, not beside it', async () => {
      const w = await walk(t);
      assert.ok(w.paths.includes('src/a/keep.tmp'));
      assert.ok(w.paths.includes('src/a/sub/keep.tmp'));
      assert.equal(w.excluded.get('src/b/keep.tmp'), "src/.xtarignore: line 1 '*.tmp'");
      assert.equal(w.excluded.get('src/a/y.tmp'), "src/.xtarignore: line 1 '*.tmp'");
      assert.equal(w.excluded.get('src/a/x.log'), "src/.xtarignore: line 2 '*.log'");
    });

    it('the command line wins over ignore files, both ways', async () => {
      // --exclude leaves out what an ignore file re-includes ...
      const w = await walk(t, { exclude: ['keep.tmp'] });
      assert.equal(w.excluded.get('src/a/keep.tmp'), "--exclude 'keep.tmp'");
      // ... and an --exclude negation brings back what an ignore file leaves out.
      const back = await walk(t, { exclude: ['!x.log'] });
      assert.ok(back.paths.includes('src/x.log') && back.paths.includes('src/a/x.log'));
    });

    it("a folder an ignore file leaves out and the command line brings back: what is below it needs bringing back too (the 'ignore' package's rule, README)", async () => {
      const s = join(work, 'ign-back', 'src');
      await put(join(s, 'build', 'out'));
      await writeFile(join(s, '.xtarignore'), 'build/\n');
      const folderOnly = await walk(s, { exclude: ['!build/'] });
      assert.ok(folderOnly.paths.includes('src/build'));
      assert.equal(folderOnly.excluded.get('src/build/out'), "src/.xtarignore: line 1 'build/'");
      const all = await walk(s, { exclude: ['!build/', '!build/**'] });
      assert.ok(all.paths.includes('src/build/out'));
    });

    it('another name, or none, with ignoreFile', async () => {
      const none = await walk(t, { ignoreFile: null });
      assert.equal(none.excluded.size, 0);
      await writeFile(join(t, 'b', '.myignore'), 'y.tmp\n');
      const other = await walk(t, { ignoreFile: '.myignore' });
      assert.deepEqual([...other.excluded.entries()], [['src/b/y.tmp', "src/b/.myignore: line 1 'y.tmp'"]]);
    });

    it('one that is a symlink is not followed: a problem, and the folder is walked without it', async () => {
      const s = join(work, 'ign-link', 'src');
      await put(join(s, 'f.tmp'));
      await writeFile(join(work, 'ign-link', 'rules'), '*.tmp\n');
      await symlink('../rules', join(s, '.xtarignore'));
      const w = await walk(s);
      assert.ok(w.paths.includes('src/f.tmp'));
      assert.equal(w.skipped.length, 1);
      assert.equal(w.skipped[0]?.path, 'src/.xtarignore');
      assert.match(w.skipped[0]?.reason ?? '', /^cannot read the ignore file/);
    });
  });

  it('an ignore file or CACHEDIR.TAG that is a FIFO is never read (the walk does not hang); the FIFO is stored as one', async () => {
    const s = join(work, 'fifo', 'src');
    await put(join(s, 'f.tmp'));
    execFileSync('mkfifo', [join(s, '.xtarignore'), join(s, 'CACHEDIR.TAG')]);
    const seen: { path: string; type: string }[] = [];
    await scanTree(s, (e) => void seen.push({ path: e.path, type: e.type }), { select: { excludeCaches: true } });
    assert.deepEqual(seen, [
      { path: 'src', type: 'dir' },
      { path: 'src/.xtarignore', type: 'fifo' },
      { path: 'src/CACHEDIR.TAG', type: 'fifo' },
      { path: 'src/f.tmp', type: 'file' },
    ]);
  });

  describe('folder flags', () => {
    let t: string;
    before(async () => {
      t = join(work, 'flags', 'src');
      for (const p of ['keep/f', 'flagged/.bkexclude', 'flagged/inner/f', 'other/.nobackup', 'other/f', 'cache/CACHEDIR.TAG', 'cache/blob', 'fake/CACHEDIR.TAG', 'fake/blob', 'short/CACHEDIR.TAG']) await put(join(t, p));
      await writeFile(join(t, 'cache', 'CACHEDIR.TAG'), Buffer.concat([CACHEDIR_SIGNATURE, Buffer.from('\n# This file is a cache directory tag.\n')]));
      // One byte off, and the signature cut short: not tags.
      await writeFile(join(t, 'fake', 'CACHEDIR.TAG'), 'Signature: 8a477f597d28d172789f06886806bc56\n');
      await writeFile(join(t, 'short', 'CACHEDIR.TAG'), 'Signature: 8a477f597d28d172789f');
      await mkdir(join(t, 'linked'));
      await writeFile(join(t, 'tag'), CACHEDIR_SIGNATURE);
      await symlink('../tag', join(t, 'linked', 'CACHEDIR.TAG'));
    });

    it('a folder holding .bkexclude is left out with everything below it, told once', async () => {
      const w = await walk(t);
      assert.ok(!w.paths.some((p) => p.startsWith('src/flagged')));
      assert.deepEqual([...w.excluded.entries()], [['src/flagged', '.bkexclude flag']]);
      assert.equal(w.kinds.get('src/flagged'), 'flag');
    });

    it('--exclude-flag names another flag; null honours none', async () => {
      const w = await walk(t, { excludeFlag: '.nobackup' });
      assert.deepEqual([...w.excluded.entries()], [['src/other', '.nobackup flag']]);
      assert.ok(w.paths.includes('src/flagged/inner/f'));
      assert.equal((await walk(t, { excludeFlag: null })).excluded.size, 0);
    });

    it('--exclude-caches honours CACHEDIR.TAG with the standard signature only, and never through a symlink', async () => {
      const off = await walk(t);
      assert.ok(off.paths.includes('src/cache/blob'), 'not without --exclude-caches');
      const w = await walk(t, { excludeCaches: true });
      assert.equal(w.excluded.get('src/cache'), 'CACHEDIR.TAG');
      assert.equal(w.kinds.get('src/cache'), 'caches');
      assert.ok(!w.paths.some((p) => p.startsWith('src/cache')));
      for (const p of ['src/fake/blob', 'src/short/CACHEDIR.TAG', 'src/linked/CACHEDIR.TAG']) assert.ok(w.paths.includes(p), p);
    });

    it('a flag in the source folder itself leaves the source empty', async () => {
      const s = join(work, 'flag-root', 'src');
      await put(join(s, '.bkexclude'));
      await put(join(s, 'a', 'f'));
      const w = await walk(s);
      assert.deepEqual(w.paths, ['src']);
      assert.deepEqual([...w.excluded.entries()], [['src', '.bkexclude flag']]);
    });
  });

  describe('--max-age, with the clock given', () => {
    const NOW = Date.parse('2030-06-01T12:00:00Z');
    let t: string;
    before(async () => {
      t = join(work, 'age', 'src');
      const at = { fresh: NOW - 5 * 60_000, hour: NOW - 60 * 60_000, old: NOW - 86_400_000 };
      for (const [name, ms] of Object.entries(at)) {
        await put(join(t, 'd', name));
        await utimes(join(t, 'd', name), ms / 1000, ms / 1000);
      }
      // A folder changed just now is still walked: the rule is for files.
      await utimes(join(t, 'd'), NOW / 1000, NOW / 1000);
    });

    it('leaves out files modified less than the age before now, named as given', async () => {
      const w = await walk(t, { maxAgeMs: 10 * 60_000, nowMs: NOW });
      assert.deepEqual([...w.excluded.entries()], [['src/d/fresh', '--max-age 10m']]);
      assert.equal(w.kinds.get('src/d/fresh'), 'max-age');
      assert.ok(w.paths.includes('src/d/hour') && w.paths.includes('src/d/old'));
      const twoHours = await walk(t, { maxAgeMs: 2 * 3_600_000, nowMs: NOW });
      assert.deepEqual([...twoHours.excluded.keys()], ['src/d/fresh', 'src/d/hour']);
      assert.deepEqual(quick(t, { maxAgeMs: 2 * 3_600_000, nowMs: NOW }), ['src/d/old']);
    });

    it('names durations in their largest whole unit', () => {
      assert.deepEqual([durationText(600_000), durationText(7_200_000), durationText(86_400_000), durationText(90_000), durationText(1500)], ['10m', '2h', '1d', '90s', '1500ms']);
    });
  });

  it('--one-file-system leaves out a mount point of another file system', { skip: isRoot ? false : 'mounting a tmpfs needs root' }, async (t) => {
    const s = join(work, 'fs', 'src');
    await put(join(s, 'here'));
    await mkdir(join(s, 'mnt'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', join(s, 'mnt')], { stdio: 'ignore' });
    } catch {
      t.skip('mount -t tmpfs is not allowed here');
      return;
    }
    try {
      await writeFile(join(s, 'mnt', 'there'), 'x');
      const all = await walk(s);
      assert.ok(all.paths.includes('src/mnt/there'), 'crossed without the flag');
      const w = await walk(s, { oneFileSystem: true });
      assert.deepEqual([...w.excluded.entries()], [['src/mnt', 'other file system']]);
      assert.equal(w.kinds.get('src/mnt'), 'one-file-system');
      assert.ok(w.paths.includes('src/here') && !w.paths.includes('src/mnt'));
      assert.deepEqual(quick(s, { oneFileSystem: true }), ['src/here']);
    } finally {
      execFileSync('umount', [join(s, 'mnt')]);
    }
  });

  it("activity's quick walk leaves out exactly the files the scan leaves out", async () => {
    const list = join(work, 'qlist');
    await writeFile(list, 'c/\n');
    await writeFile(join(src, 'a', '.xtarignore'), '*.tmp\n!keep.tmp\n');
    await put(join(src, 'b', 'sub', '.bkexclude'));
    const select: SelectionOptions = { exclude: ['*.log', '!keep.log'], excludeRegex: ['^top'], excludeFrom: [list] };
    const scanned = await files(src, select);
    assert.deepEqual(quick(src, select), scanned);
    assert.deepEqual(scanned, ['src/a/.xtarignore', 'src/a/build/o', 'src/a/keep.log', 'src/a/keep.tmp', 'src/a/sub/x', 'src/b/build', 'src/b/y.tmp', 'src/notes.txt']);
    // The old form, a list of patterns, still works.
    const old: string[] = [];
    walkFilesSync(src, ['*.log'], (f) => old.push(f.path));
    assert.ok(!old.some((p) => p.endsWith('.log')));
  });
});
