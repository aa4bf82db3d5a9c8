/**
 * A file that stays unreadable does not make a new, empty incremental on every run: when the tree and
 * the files that cannot be read are the same as last time, nothing changed — and the file is still
 * reported (exit 1). Once it can be read again, the next pack stores it. As root (who reads any file)
 * the packs run as nobody.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, type CliResult } from '../helpers/cli.js';
import { isRoot, removeTree, seededText, tempDir } from '../helpers/tree.js';

const NOBODY = 65534;

function packAs(src: string, set: string, day: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'pack', src, '--out', set, '--json'], {
      env: { ...process.env, SOURCE_DATE_EPOCH: String(1_780_000_000 + day * 86_400) },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(isRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });
}

describe('a permanently unreadable file', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeTree(work);
  });

  it('nothing changed when the tree and the unreadable files are the same; still reported, exit 1', async () => {
    const src = join(work, 'src');
    const set = join(work, 'set');
    await mkdir(join(src, 'docs'), { recursive: true });
    for (let i = 0; i < 10; i++) await writeFile(join(src, 'docs', `f${i}.txt`), seededText(i, 500));
    await writeFile(join(src, 'docs', 'secret.txt'), 'no one may read this\n');
    await chmod(join(src, 'docs', 'secret.txt'), 0o000);
    if (isRoot) execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, work]);

    const first = await packAs(src, set, 0);
    assert.equal(first.status, 1, first.stderr);
    assert.match(first.stdout, /secret\.txt/, 'the unreadable file is in the JSON (skipped)');
    const volumes = (await readdir(set)).filter((n) => /-vol\d+$/.test(n));
    assert.equal(volumes.length, 1);

    for (const day of [1, 2]) {
      const r = await packAs(src, set, day);
      assert.equal(r.status, 1, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { nothingChanged?: boolean }).nothingChanged, true, r.stdout);
      assert.match(r.stdout, /secret\.txt/, 'the unreadable file is still reported (skipped)');
      assert.deepEqual((await readdir(set)).filter((n) => /-vol\d+$/.test(n)), volumes, 'no new backup');
    }

    // Readable again: the skipped set changed, so the file is stored.
    await chmod(join(src, 'docs', 'secret.txt'), 0o644);
    const r = await packAs(src, set, 3);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { kind: string; storedFiles: number; nothingChanged?: boolean };
    assert.equal(j.kind, 'incremental');
    assert.equal(j.storedFiles, 1);
  });
});
