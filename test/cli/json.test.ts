/** What --json asks of the output, read from the raw arguments (so a usage error is answered in JSON too), and the error object. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, InterruptedError, UsageError } from '../../src/errors.js';
import { errorJson, JSON_VERSION, outputWanted } from '../../src/cli/output/json.js';

describe('outputWanted', () => {
  it('finds --json, --quiet (also among short flags) and the output before --', () => {
    assert.deepEqual(outputWanted(['pack', 'src', '--json', '-q']), { json: true, quiet: true, xtar: 'pack' });
    assert.deepEqual(outputWanted(['list', 'set', '--obsolete', '--json']), { json: true, quiet: false, xtar: 'list-obsolete' });
    assert.deepEqual(outputWanted(['index', 'rebuild', 'set', '--quiet']), { json: false, quiet: true, xtar: 'index-rebuild' });
    assert.deepEqual(outputWanted(['--json', 'nonsense']), { json: true, quiet: false, xtar: 'xtar' });
    assert.equal(outputWanted(['unpack', 'set', '--', '--json']).json, false);
    assert.equal(outputWanted(['unpack', 'set', '--json', '--no-json']).json, false);
  });
});

describe('errorJson', () => {
  it('carries the code, the sentence, the exit status and the path', () => {
    assert.deepEqual(errorJson('unpack', new InputError('x does not exist.', 'x')), {
      xtar: 'unpack',
      jsonVersion: JSON_VERSION,
      error: { code: 'EINPUT', message: 'x does not exist.', exitCode: 2, path: 'x' },
    });
    assert.deepEqual(errorJson('pack', new UsageError('bad')).error, { code: 'EUSAGE', message: 'bad', exitCode: 2 });
    assert.equal(errorJson('pack', new InterruptedError('SIGINT')).error.exitCode, 130);
    const full = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC', path: '/d/f' });
    assert.deepEqual(errorJson('unpack', full).error, { code: 'ENOSPC', message: 'the disk is full: /d/f.', exitCode: 2, path: '/d/f' });
    assert.equal(errorJson('list', new Error('boom')).error.code, 'EINTERNAL');
  });
});

describe('errorJson of a full destination', () => {
  it('lists the files the error cost', async () => {
    const { DestinationError } = await import('../../src/dest/destination.js');
    const full = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    const e = errorJson('unpack', new DestinationError('/d', full, 1, [{ path: 'a', reason: 'not written', kind: 'failed' }]));
    assert.deepEqual(e.error.problems, [{ path: 'a', reason: 'not written', kind: 'failed' }]);
    assert.equal(e.error.exitCode, 2);
  });
});
