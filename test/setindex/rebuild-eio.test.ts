/**
 * Importing a backup into the index from volumes on a disc that fails some sectors (EIO, through the
 * FUSE file system of test/helpers/eio-mount.ts): an unreadable structure.jsonl gives way to the copy
 * the .xtar begins with, and the files an unreadable catalog (catalog.jsonl and its copy inside the
 * .xtar) no longer names are marked skipped with that reason — the damage named, never an opaque
 * failure nor a quiet "not in the catalogs".
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack } from '../../src/pack/pack.js';
import { SetIndex } from '../../src/setindex/db.js';
import { importBackup } from '../../src/setindex/rebuild.js';
import { setVolumes } from '../../src/set/locate.js';
import { xtar } from '../helpers/cli.js';
import { mountEio, type EioMount } from '../helpers/eio-mount.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const sample = fileURLToPath(new URL('../../../fixtures/sample', import.meta.url));

describe('importBackup from a disc that fails sectors', () => {
  let work: string;
  let mount: EioMount | null = null;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await mount?.close();
    await removeTree(work);
  });

  it('reads the structure record from the copy inside the archive, and names what the unreadable catalog cost', async () => {
    const set = join(work, 'set');
    const { backupId: id } = await pack({ source: sample, out: set, jobs: 1 });
    const vol = (await readdir(set)).find((n) => n.startsWith(`${id}-vol`)) as string;
    const whole = async (name: string): Promise<[number, number][]> => [[0, (await stat(join(set, vol, name))).size]];
    // The catalog's copy too (its data, after its tar header), else index rebuild takes that.
    const archive = (await readdir(join(set, vol))).find((n) => n.endsWith('.xtar')) as string;
    const bytes = await readFile(join(set, vol, archive));
    const name = bytes.indexOf('.xtar-catalog.jsonl.gz\0');
    const copy: [number, number][] = [[name - (name % 512) + 512, bytes.length - 1024]];
    const mnt = join(work, 'mnt');
    await mkdir(mnt);
    mount = await mountEio(set, mnt, { [`${vol}/structure.jsonl`]: await whole('structure.jsonl'), [`${vol}/catalog.jsonl`]: await whole('catalog.jsonl'), [`${vol}/${archive}`]: copy }, join(work, 'eio.log'));

    const index = SetIndex.openFile(join(work, 'index.sqlite'));
    try {
      const r = await importBackup(index, id, (await setVolumes(mnt)).get(id) ?? []);
      assert.ok(r.files > 0);
      assert.ok(r.damage.some((d) => d.includes('structure.jsonl') && d.includes('cannot read')), r.damage.join('\n'));
      assert.ok(r.damage.some((d) => d.includes('catalog.jsonl')), r.damage.join('\n'));
      assert.ok(r.damage.some((d) => d.includes('the copy of catalog.jsonl inside the archive')), r.damage.join('\n'));
      const files = index.dump().files[id] as { skipped?: string | null }[];
      assert.equal(files.length, r.files);
      for (const f of files) assert.match(String(f.skipped), /its catalog line is in a record that does not check/);
    } finally {
      index.close();
    }
  });

  it('index rebuild of a rescued copy: a structure.jsonl its map marks in part unread is passed over, named, exit 1', async () => {
    const set = join(work, 'set-map');
    const { backupId: id } = await pack({ source: sample, out: set, jobs: 1 });
    const copy = join(work, 'copy');
    await cp(set, copy, { recursive: true });
    const vol = (await readdir(copy)).find((n) => n.startsWith(`${id}-vol`)) as string;
    // As `xtar rescue` leaves it: zeros where unread, and a ddrescue map saying so (bytes 512–1023).
    const structure = join(copy, vol, 'structure.jsonl');
    const bytes = await readFile(structure);
    assert.ok(bytes.length > 1024);
    bytes.fill(0, 512, 1024);
    await writeFile(structure, bytes);
    const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
    await writeFile(`${structure}.map`, `# Mapfile\n${hex(512)} - 1\n${hex(0)} ${hex(512)} +\n${hex(512)} ${hex(512)} -\n${hex(1024)} ${hex(bytes.length - 1024)} +\n`);
    const r = await xtar(['index', 'rebuild', copy, '--json']);
    assert.equal(r.status, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { backups: { id: string; files: number; damage: string[] }[]; failed: unknown[] };
    assert.deepEqual(out.failed, []);
    const b = out.backups.find((x) => x.id === id);
    assert.ok(b !== undefined && b.files > 0);
    assert.match(b.damage.join('\n'), /structure\.jsonl: it is missing from this rescued copy from byte 512 on/);
    const text = await xtar(['index', 'rebuild', copy]);
    assert.equal(text.status, 1);
    assert.match(text.stderr, new RegExp(`xtar: backup ${id}: .*structure\\.jsonl: it is missing from this rescued copy`));
  });
});
