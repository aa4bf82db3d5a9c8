/** The exit statuses come from one list (src/errors.ts): --help and README are made from it. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { EXIT_STATUSES, FormatError, InterruptedError, XtarError, DamagedBlobError, UnsafePathError, IndexError, SetBusyError, InputError, UsageError } from '../../src/errors.js';
import { describeFailure, exitStatusHelp } from '../../src/cli/output/exit.js';
import { README, withExitStatusTable } from '../../scripts/readme-exit-status.js';
import { xtar } from '../helpers/cli.js';

describe('exit statuses', () => {
  it("README's table is the one made from EXIT_STATUSES (else: node dist/scripts/readme-exit-status.js)", async () => {
    const readme = await readFile(README, 'utf8');
    assert.equal(readme, withExitStatusTable(readme));
    for (const e of EXIT_STATUSES) assert.ok(readme.includes(`| ${e.status} | ${e.meaning} |`), `README lists ${e.status}`);
  });

  it('--help ends with every status from the list', async () => {
    const r = await xtar(['pack', '--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes(exitStatusHelp()), r.stdout);
    const v = await xtar(['verify', '--help']);
    assert.ok(v.stdout.includes('  2    nothing could be read, or a usage error'), v.stdout);
    assert.ok(v.stdout.includes('  130  interrupted'), v.stdout);
  });

  it('every error that ends a run is fatal (2), an interruption 130', () => {
    const errors: XtarError[] = [
      new FormatError('newer'),
      new DamagedBlobError('bad'),
      new UnsafePathError('outside'),
      new InputError('no such set'),
      new IndexError('broken'),
      new SetBusyError('busy', '/x'),
      new UsageError('flag'),
    ];
    for (const e of errors) assert.deepEqual(describeFailure(e), { message: e.message, status: 2 }, e.name);
    assert.equal(describeFailure(new InterruptedError('SIGINT')).status, 130);
  });

  it('an operating-system error that ends a run is one sentence from the table, with its path', () => {
    const e = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: '/media/set/x' });
    assert.deepEqual(describeFailure(e), { message: 'the disk is full: /media/set/x.', status: 2 });
    const other = Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' });
    assert.deepEqual(describeFailure(other), { message: 'EXDEV: cross-device link not permitted.', status: 2 });
  });
});

describe('entryProblem', () => {
  it('refuses an XtarError in its own sentence, throws a fatal I/O error on, and words any other failure', async () => {
    const { entryProblem } = await import('../../src/errors.js');
    assert.deepEqual(entryProblem('a/b', new UnsafePathError('Refused a/b: outside.'), 'remove it'), { path: 'a/b', reason: 'Refused a/b: outside.', kind: 'refused' });
    const full = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    assert.throws(() => entryProblem('a/b', full, 'remove it'), (e) => e === full);
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    assert.deepEqual(entryProblem('a/b', denied, 'remove it'), { path: 'a/b', reason: 'cannot remove it: permission denied', kind: 'failed' });
  });
});
