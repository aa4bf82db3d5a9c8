/**
 * Command sources from code (src/pack/command-source.ts through packSources): a command's stdout is
 * stored as the file NAME of the source `command:NAME`; a failing command (exit status, signal, not
 * started) fails only its source, with its status and stderr's last lines, and stores nothing; the
 * same output again makes no backup and a different one (even of the same size, in the same second)
 * does; Ctrl-C stops the command and leaves no spool; a large output is streamed through a file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InterruptedError, UsageError } from '../../src/errors.js';
import { CommandFailedError, commandSourceId, packCommand } from '../../src/pack/command-source.js';
import { packSources } from '../../src/pack/pack-sources.js';
import { SetIndex } from '../../src/setindex/db.js';
import { unpack } from '../../src/unpack/unpack.js';
import { removeTree, tempDir } from '../helpers/tree.js';

const sh = (script: string): string[] => ['sh', '-c', script];

async function spoolsLeft(set: string): Promise<string[]> {
  return (await readdir(set)).filter((n) => n.startsWith('.xtar-tmp'));
}

/** A seeded stream of incompressible bytes (xorshift32, 64 KiB at a time), as the child below writes it. */
function* seededChunks(size: number): Generator<Buffer> {
  let x = 2463534242;
  for (let n = size; n > 0; ) {
    const w = new Uint32Array(16384);
    for (let k = 0; k < w.length; k++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      w[k] = x;
    }
    const b = Buffer.from(w.buffer);
    const c = n < b.length ? b.subarray(0, n) : b;
    n -= c.length;
    yield c;
  }
}
const GENERATOR = `const g=(${seededChunks.toString()})(+process.argv[1]);const w=()=>{for(let r=g.next();!r.done;r=g.next()){if(!process.stdout.write(r.value)){process.stdout.once('drain',w);return}}};w();`;

describe('command sources (packSources with commands)', () => {
  let work: string;
  before(async () => {
    work = await tempDir('xtar-command-');
    await mkdir(join(work, 'a'));
    await writeFile(join(work, 'a', 'a.txt'), 'a'.repeat(100));
  });
  after(() => removeTree(work));

  it('stores the output as NAME of command:NAME; a failing command beside it fails alone, with its status and last stderr lines', async () => {
    const out = join(work, 'set1');
    const noisy = Array.from({ length: 30 }, (_, i) => `echo line-${i + 1} >&2`).join('; ');
    const r = await packSources({
      sources: [join(work, 'a')],
      commands: [
        { name: 'good.txt', argv: sh("printf 'hello\\nworld\\n'") },
        { name: 'bad.txt', argv: sh(`printf partial; ${noisy}; exit 3`) },
      ],
      out,
    });
    assert.deepEqual(r.outcomes.map((o) => o.source), [join(work, 'a'), 'command:good.txt', 'command:bad.txt']);
    assert.equal(r.status, 1, 'one source failed, the others were packed');
    const good = r.outcomes[1]!.result!;
    assert.equal(good.root, 'good.txt');
    assert.equal(good.storedFiles, 1);
    const err = r.outcomes[2]!.error;
    assert.ok(err instanceof CommandFailedError, String(err));
    assert.equal(err.exitStatus, 3);
    assert.equal(err.signal, null);
    assert.match(err.message, /exited with status 3/);
    assert.match(err.message, /line-30/);
    assert.match(err.message, /line-21\n/);
    assert.doesNotMatch(err.message, /line-20\n/, 'only the last lines of stderr');
    assert.deepEqual(await spoolsLeft(out), []);

    const index = SetIndex.open(out);
    try {
      assert.equal(index.latest('command:bad.txt'), null, 'nothing of the failed command is stored');
      assert.notEqual(index.latest('command:good.txt'), null);
    } finally {
      index.close();
    }
    const dest = join(work, 'r1');
    await unpack({ inputs: [out], dest, source: 'command:good.txt' });
    assert.deepEqual(await readdir(dest), ['good.txt']);
    assert.equal(await readFile(join(dest, 'good.txt'), 'utf8'), 'hello\nworld\n');
  });

  it('the same output makes no backup; a different one of the same size is stored, and the newest restores', async () => {
    const out = join(work, 'set2');
    const c = (text: string) => ({ name: 'state', argv: sh(`printf ${text}`) });
    const first = await packCommand(c('aaaa'), { out });
    assert.equal(first.nothingChanged, false);
    const same = await packCommand(c('aaaa'), { out });
    assert.equal(same.nothingChanged, true);
    assert.equal(same.base, first.backupId);
    // Same size, most likely the same second: the mtime chosen still tells it apart.
    const other = await packCommand(c('bbbb'), { out });
    assert.equal(other.nothingChanged, false);
    assert.equal(other.storedFiles, 1);
    const back = await packCommand(c('aaaa'), { out });
    assert.equal(back.nothingChanged, false, 'compared with the newest backup, not any earlier one');
    const dest = join(work, 'r2');
    await unpack({ inputs: [out], dest });
    assert.equal(await readFile(join(dest, 'state'), 'utf8'), 'aaaa');
    const older = join(work, 'r2b');
    await unpack({ inputs: [out], dest: older, backup: other.backupId });
    assert.equal(await readFile(join(older, 'state'), 'utf8'), 'bbbb');
    assert.deepEqual(await spoolsLeft(out), []);
  });

  it('a command killed by a signal, or one that cannot start, fails its source and stores nothing', async () => {
    const out = join(work, 'set3');
    const r = await packSources({ sources: [], commands: [{ name: 'killed', argv: sh('printf x; kill -KILL $$') }, { name: 'missing', argv: [join(work, 'no-such-program')] }], out });
    assert.equal(r.status, 2, 'every source failed');
    const [killed, missing] = r.outcomes.map((o) => o.error);
    assert.ok(killed instanceof CommandFailedError);
    assert.equal(killed.signal, 'SIGKILL');
    assert.match(killed.message, /killed by SIGKILL/);
    assert.ok(missing instanceof CommandFailedError);
    assert.match(missing.message, /could not be started \(ENOENT\)/);
    assert.deepEqual(await spoolsLeft(out), []);
    assert.deepEqual((await readdir(out)).filter((n) => n.includes('-vol')), []);
  });

  it('an interruption stops the command, removes the spool and ends the run', async () => {
    const out = join(work, 'set4');
    const ac = new AbortController();
    const run = packSources({ sources: [], commands: [{ name: 'slow', argv: sh('printf start; sleep 30') }], out, signal: ac.signal });
    setTimeout(() => ac.abort(new InterruptedError('SIGINT')), 300);
    await assert.rejects(run, InterruptedError);
    assert.deepEqual(await spoolsLeft(out), []);
  });

  it('a name that cannot be one file, or no program, is a usage error before anything runs', async () => {
    const out = join(work, 'never');
    await assert.rejects(packSources({ sources: [], commands: [{ name: 'a/b', argv: ['true'] }], out }), UsageError);
    await assert.rejects(packSources({ sources: [], commands: [{ name: '.xtar-tmp-x', argv: ['true'] }], out }), UsageError);
    await assert.rejects(packSources({ sources: [], commands: [{ name: 'x', argv: [] }], out }), UsageError);
    await assert.rejects(readdir(out), { code: 'ENOENT' });
    assert.equal(commandSourceId('db.sql'), 'command:db.sql');
  });

  it('a 64 MiB output is streamed through the set and restores byte for byte', async () => {
    const out = join(work, 'set5');
    const size = 64 * 1024 * 1024;
    const r = await packCommand({ name: 'big.bin', argv: [process.execPath, '-e', GENERATOR, String(size)] }, { out, level: 1 });
    assert.equal(r.bytes, size);
    const dest = join(work, 'r5');
    await unpack({ inputs: [out], dest });
    const want = createHash('sha256');
    for (const c of seededChunks(size)) want.update(c);
    const got = createHash('sha256');
    for await (const chunk of createReadStream(join(dest, 'big.bin'))) got.update(chunk as Buffer);
    assert.equal(got.digest('hex'), want.digest('hex'));
    await removeTree(dest);
  });
});
