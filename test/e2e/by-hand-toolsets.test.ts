/**
 * The README.txt script on any system: run with only GNU tools, only BusyBox, or bsdtar for both the
 * tars and the zips (as on macOS and Windows), each under LC_ALL=C and under a UTF-8 locale, then
 * `xtar expand-structure`: the tree must come back exactly, awkward and unportable names included.
 * PATH holds exactly the programs README.txt says the script needs, so that list is checked too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, xtar } from '../helpers/cli.js';
import { addUnportableNames, diffSnapshots, makeNastyTree, removeTree, snapshot, tempDir } from '../helpers/tree.js';
import { SCRIPT_TOOLS } from '../../src/pack/readme.js';
import { scriptFromReadme } from '../helpers/readme-script.js';
import { TOOLSETS, which } from '../helpers/toolsets.js';

const LOCALES = ['C', 'C.UTF-8'];
const missing = ['dash', 'busybox', 'bsdtar', 'unzip', 'locale'].filter((t) => which(t) === null);

describe('restore by hand with GNU, BusyBox and bsdtar userlands', { skip: missing.length > 0 ? `needs ${missing.join(', ')}` : false }, () => {
  let work: string;
  let src: string;
  let volume: string;
  let archive: string;
  let script: string;
  let bundled: { volume: string; archive: string };

  before(async () => {
    work = await tempDir();
    src = await makeNastyTree(join(work, 'in'));
    await addUnportableNames(src);
    const r = await xtar(['pack', src, '--out', join(work, 'set'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const v = (JSON.parse(r.stdout) as { volumes: { path: string; archive: string }[] }).volumes[0];
    volume = v?.path as string;
    archive = v?.archive as string;
    script = join(work, 'restore.sh');
    await writeFile(script, await scriptFromReadme(volume));
    // The same tree packed with --bundle: several small files of a folder in one zip.
    const b = await xtar(['pack', src, '--out', join(work, 'bundled'), '--bundle', '--json']);
    assert.equal(b.status, 0, b.stderr);
    const bv = (JSON.parse(b.stdout) as { volumes: { path: string; archive: string }[] }).volumes[0];
    bundled = { volume: bv?.path as string, archive: bv?.archive as string };
  });
  after(async () => {
    await removeTree(work);
  });

  for (const [name, where] of Object.entries(TOOLSETS)) {
    for (const [locale, bundles] of [...LOCALES.map((l) => [l, false] as const), [LOCALES[0] as string, true] as const]) {
      it(`${name} tools, LC_ALL=${locale}${bundles ? ', a set made with --bundle' : ''}: the script, then expand-structure, give the tree back exactly`, async () => {
        const bin = join(work, `bin-${name}-${locale}-${bundles}`);
        await mkdir(bin);
        for (const t of [...SCRIPT_TOOLS, 'locale', 'bsdtar']) {
          const to = where(t);
          if (to !== null) await symlink(to, join(bin, t));
        }
        const dest = join(work, `by-hand-${name}-${locale}-${bundles}`);
        const env = { PATH: bin, LC_ALL: locale, HOME: work };
        const r = await run(join(bin, 'sh'), [script, dest, bundles ? bundled.archive : archive], { env });
        assert.equal(r.status, 0, `restore script failed with ${name} tools:\n${r.stderr}`);
        const ex = await xtar(['expand-structure', join(bundles ? bundled.volume : volume, 'structure.jsonl'), '--dest', dest]);
        assert.equal(ex.status, 0, ex.stderr);
        assert.deepEqual(diffSnapshots(await snapshot(src), await snapshot(join(dest, 'nasty'))), []);
      });
    }
  }

  it('expand-structure gives back the names other platforms write (\\ as a folder, NFC for NFD, _ for :), checked by sha256', async () => {
    const dest = join(work, 'renamed');
    const r = await run('sh', [script, dest, archive]);
    assert.equal(r.status, 0, r.stderr);
    const at = (p: string): string => join(dest, 'nasty', p);
    // What bsdtar, macOS or 7-Zip on Windows would have written.
    await mkdir(at('back'));
    await rename(at('back\\slash'), at('back/slash'));
    await rename(at('cafe\u0301 NFD.txt'), at('caf\u00e9 NFD.txt'));
    await rename(at('colon: on Windows.txt'), at('colon_ on Windows.txt'));
    await mkdir(at('dir/with/backslash'), { recursive: true });
    await rename(at('dir\\with\\backslash/inside.txt'), at('dir/with/backslash/inside.txt'));
    // A file under such a name that is not the recorded one (other bytes): named, left alone.
    await rename(at('glob[1]*?.txt'), at('glob[1]__.txt'));
    await writeFile(at('glob[1]__.txt'), 'not the same bytes\n');
    const ex = await xtar(['expand-structure', join(volume, 'structure.jsonl'), '--dest', dest]);
    assert.notEqual(ex.status, 0);
    assert.match(ex.stderr, /glob\[1\]__\.txt may be this file .* sha256 differs/);
    const diff = diffSnapshots(await snapshot(src), await snapshot(join(dest, 'nasty')));
    assert.deepEqual(diff, ['missing: "glob[1]*?.txt"', 'extra: "glob[1]__.txt"']);
  });
});
