/**
 * What a command loads: age-encryption (and the @noble libraries under it) only when an age file is
 * made or read, so a plain set's pack, list, verify and unpack never pay for loading it. The same
 * recording on an encrypted set shows that the recording sees it when it is loaded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, run } from '../helpers/cli.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const RECORD_LOADS = fileURLToPath(new URL('../helpers/record-loads.js', import.meta.url));
const AGE = /\/node_modules\/(age-encryption|@noble\/)/;
/** SQLite (the set's index) and the progress bar's library. */
const INDEX_AND_BAR = /\/node_modules\/(better-sqlite3|cli-progress)\//;

describe('modules a command loads', () => {
  let dir: string;
  let n = 0;

  /** Runs the CLI; the URLs of the modules it loaded. */
  async function loads(args: readonly string[], extraEnv: Record<string, string> = {}): Promise<string[]> {
    const log = join(dir, `loads-${n++}.txt`);
    const env: NodeJS.ProcessEnv = { ...process.env, XTAR_TEST_LOADS: log, ...extraEnv };
    if (extraEnv.XTAR_PASSPHRASE === undefined) delete env.XTAR_PASSPHRASE;
    const r = await run(process.execPath, ['--import', RECORD_LOADS, CLI, ...args], { env });
    assert.ok(r.status === 0, `xtar ${args.join(' ')}: ${r.status}\n${r.stderr}`);
    return (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '');
  }

  before(async () => {
    dir = await tempDir();
    await mkdir(join(dir, 'src'));
    for (let i = 0; i < 5; i++) await writeFile(join(dir, 'src', `f${i}.txt`), `file ${i}\n`);
  });
  after(() => removeTree(dir));

  it('a plain set: pack, list, verify and unpack never load age-encryption', async () => {
    const set = join(dir, 'plain');
    for (const args of [
      ['pack', '-q', join(dir, 'src'), '--out', set],
      ['list', set],
      ['verify', '-q', set],
      ['unpack', '-q', set, '--dest', join(dir, 'out')],
    ]) {
      const loaded = await loads(args);
      assert.ok(loaded.some((u) => u.endsWith('/src/cli/main.js')), 'the recording saw the CLI load');
      assert.deepEqual(loaded.filter((u) => AGE.test(u)), [], `xtar ${args[0]} on a plain set`);
    }
  });

  it('verify and unpack of a local set load neither SQLite nor the progress bar (in a pipe); pack does load SQLite', async () => {
    const set = join(dir, 'local');
    const packed = await loads(['pack', '-q', join(dir, 'src'), '--out', set]);
    assert.ok(packed.some((u) => /\/node_modules\/better-sqlite3\//.test(u)), 'the recording sees SQLite when it is loaded');
    for (const args of [
      ['verify', set],
      ['unpack', set, '--dest', join(dir, 'out2')],
      ['expand-structure', set, '--dest', join(dir, 'out2')],
    ]) {
      assert.deepEqual((await loads(args)).filter((u) => INDEX_AND_BAR.test(u)), [], `xtar ${args[0]}`);
    }
  });

  it('an encrypted set loads it (the recording sees it)', async () => {
    const set = join(dir, 'sealed');
    const keys = { XTAR_PASSPHRASE: 'a passphrase', XTAR_SCRYPT_LOG_N: '10' };
    assert.ok((await loads(['pack', '-q', join(dir, 'src'), '--out', set, '--encrypt'], keys)).some((u) => AGE.test(u)));
    assert.ok((await loads(['verify', '-q', set], keys)).some((u) => AGE.test(u)));
  });
});
