/**
 * openHealed: which indexes count as damaged (moved aside and made again) and which do not — a
 * newer schema is refused with its own sentence and left where it is; an empty file in a set
 * without volumes is simply a new index.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IndexError } from '../../src/errors.js';
import { INDEX_FILE, SetIndex } from '../../src/setindex/db.js';
import { isIndexDamage, openHealed } from '../../src/setindex/heal.js';
import { removeTree, tempDir } from '../helpers/tree.js';

describe('openHealed', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await removeTree(dir);
  });

  it('a newer schema is refused, not rebuilt, and the file stays', async () => {
    const set = join(dir, 'newer');
    await mkdir(set);
    SetIndex.open(set).close();
    const db = new Database(join(set, INDEX_FILE));
    db.prepare("UPDATE meta SET value = '99' WHERE key = 'schema'").run();
    db.close();
    const notes: string[] = [];
    await assert.rejects(openHealed(set, { write: true, note: (l) => notes.push(l) }), (e: unknown) => e instanceof IndexError && /made by a newer xtar/.test(e.message));
    assert.deepEqual(notes, []);
    assert.deepEqual((await readdir(set)).filter((n) => n.includes('damaged')), []);
  });

  it('an empty file in a set without volumes is a new index, said nowhere', async () => {
    const set = join(dir, 'new');
    await mkdir(set);
    await writeFile(join(set, INDEX_FILE), '');
    const notes: string[] = [];
    const ix = await openHealed(set, { write: true, note: (l) => notes.push(l) });
    assert.deepEqual(ix.backups(), []);
    ix.close();
    assert.deepEqual(notes, []);
  });

  it('garbage: moved aside, a fresh index made, said once', async () => {
    const set = join(dir, 'garbage');
    await mkdir(set);
    await writeFile(join(set, INDEX_FILE), Buffer.alloc(8192, 0x5a));
    const notes: string[] = [];
    const ix = await openHealed(set, { write: true, note: (l) => notes.push(l) });
    ix.close();
    assert.equal(notes.length, 1);
    assert.match(notes[0] as string, /was damaged \(.+\); rebuilt it from the volumes \(0 backup\(s\)\); the damaged file is kept as .*xtar-index\.sqlite\.damaged-/);
    assert.equal((await readdir(set)).filter((n) => n.startsWith(`${INDEX_FILE}.damaged-`)).length, 1);
  });

  it('isIndexDamage: SQLite corruption codes, directly or as a cause; not a full disk', () => {
    const corrupt = Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' });
    assert.equal(isIndexDamage(corrupt), true);
    assert.equal(isIndexDamage(new IndexError('x', Object.assign(new Error('file is not a database'), { code: 'SQLITE_NOTADB' }))), true);
    assert.equal(isIndexDamage(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })), false);
    assert.equal(isIndexDamage(new Error('other')), false);
  });
});
