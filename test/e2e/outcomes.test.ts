/**
 * Outcomes end to end: an error that ends a run exits 2 with one sentence and no stack trace, even
 * where it is a FormatError (an archive from a newer xtar), which used to exit 1 ("finished with
 * problems") although nothing was restored.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { seededBytes } from '../helpers/tree.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { xtar } from '../helpers/cli.js';
import { removeTree, tempDir } from '../helpers/tree.js';
import { recordLines, sealedRecord } from '../helpers/records.js';

const sample = fileURLToPath(new URL('../../../fixtures/sample', import.meta.url));

describe('outcomes', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('an archive from a newer xtar ends the run: exit 2, one sentence naming the record', async () => {
    const set = join(work, 'set');
    const p = await xtar(['pack', sample, '--out', set, '--quiet']);
    assert.equal(p.status, 0, p.stderr);
    const vol = join(set, (await readdir(set)).find((n) => n.endsWith('-vol001')) as string);
    for (const name of ['structure.jsonl', 'catalog.jsonl']) {
      const path = join(vol, name);
      const text = await readFile(path, 'utf8');
      // As a newer xtar would write it: a record that checks, of a version this one does not know.
      await writeFile(path, sealedRecord(recordLines(text.replace(/^(\{[^\n]*"version":)\d+/, '$19'))));
    }
    const r = await xtar(['unpack', set, '--dest', join(work, 'out')]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `xtar: ${join(vol, 'catalog.jsonl')}: format version 9 is newer than this xtar understands (2); upgrade xtar.\n`);
  });

  it('verify of an archive of which nothing can be read exits 2; one damaged past its start exits 1', async () => {
    const garbage = join(work, 'garbage.xtar');
    await writeFile(garbage, seededBytes(11, 20_000));
    const r = await xtar(['verify', garbage, '--json']);
    assert.equal(r.status, 2, r.stderr);
    const j = JSON.parse(r.stdout) as { intact: number; problems: { path: string; reason: string }[] };
    assert.equal(j.intact, 0);
    // With --json the problems are in the object (docs/JSON.md).
    assert.match(j.problems.map((p) => `${p.path}: ${p.reason}`).join('\n'), /garbage\.xtar: the archive is damaged at byte 0: not a tar header \(no ustar magic\)/);

    const set = join(work, 'set-tail');
    assert.equal((await xtar(['pack', sample, '--out', set, '--quiet'])).status, 0);
    const vol = join(set, (await readdir(set)).find((n) => n.endsWith('-vol001')) as string);
    const archive = join(vol, (await readdir(vol)).find((n) => n.endsWith('.xtar')) as string);
    const bytes = await readFile(archive);
    bytes.fill(0x41, bytes.length - 3000, bytes.length - 1500);
    await writeFile(archive, bytes);
    const tail = await xtar(['verify', archive]);
    assert.equal(tail.status, 1, tail.stderr);
  });

  it('a set of a newer layout is not written into: exit 2, the marker named', async () => {
    const set = join(work, 'newer-set');
    assert.equal((await xtar(['pack', sample, '--out', set, '--quiet'])).status, 0);
    await writeFile(join(set, 'xtar-set.json'), '{"xtar":"set","version":5}\n');
    const r = await xtar(['pack', sample, '--out', set]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `xtar: ${join(set, 'xtar-set.json')}: set layout version 5 is newer than this xtar understands (1); upgrade xtar.\n`);
    assert.equal((await readdir(set)).filter((n) => n.includes('-vol')).length, 1, 'no second backup');
  });

  it('expand-structure refuses a damaged structure file given alone, and uses the checked copy when given the volume', async () => {
    const set = join(work, 'set-expand');
    assert.equal((await xtar(['pack', sample, '--out', set, '--quiet'])).status, 0);
    const vol = join(set, (await readdir(set)).find((n) => n.endsWith('-vol001')) as string);
    const record = join(vol, 'structure.jsonl');
    const text = await readFile(record, 'utf8');
    await writeFile(record, text.replace('"mode":"0755"', '"mode":"0757"'));
    const dest = join(work, 'expand-alone');
    const r = await xtar(['expand-structure', record, '--dest', dest]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `xtar: ${record} is damaged (its checksum does not match); nothing was applied. Give its volume folder or .xtar instead: the copy inside the archive is checked on its own.\n`);
    await assert.rejects(readdir(dest));
    const viaVolume = await xtar(['expand-structure', vol, '--dest', join(work, 'expand-volume')]);
    assert.ok(viaVolume.stderr.includes(`xtar: ${record}: structure.jsonl is damaged (its checksum does not match); the copy inside the archive was used\n`), viaVolume.stderr);
    assert.equal(((await stat(join(work, 'expand-volume', 'sample'))).mode & 0o7777), 0o755);
  });

  it('a bad line of a record is named once, its place not repeated in the reason', async () => {
    const file = join(work, 'legacy-structure.jsonl');
    const header = '{"xtar":"structure","version":1,"backup":"20261201T000000Z","root":"r","created":"2026-12-01T00:00:00.000Z"}';
    const dir = '{"path":"r","type":"dir","mode":"0755","uid":0,"gid":0,"mtime":"0.000000000"}';
    await writeFile(file, `${header}\n${dir}\n{"path":"../x","type":"dir","mode":"0755","uid":0,"gid":0,"mtime":"0.000000000"}\n{"end":true,"entries":2}\n`);
    const r = await xtar(['expand-structure', file, '--dest', join(work, 'legacy-out')]);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `xtar: ${file} line 3: path "../x" is not a safe relative path.\n`);
  });
});
