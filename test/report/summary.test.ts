/**
 * The run's summary (src/report/summary.ts) and its log line (run-log.ts), on made-up results: the
 * text a mail carries for a backup, a source with nothing changed and a failed one; the subject;
 * durations; the log line's counts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/errors.js';
import type { PackResult } from '../../src/pack/pack.js';
import type { PackSourcesResult } from '../../src/pack/pack-sources.js';
import { logLine } from '../../src/report/run-log.js';
import { duration, subjectOf, summarize, summaryText } from '../../src/report/summary.js';

function packed(over: Partial<PackResult>): PackResult {
  return {
    set: '/set', backupId: '20261202T010000Z', root: 'docs', volumes: [], files: 10, dirs: 1, entries: 11, bytes: 1000, archiveBytes: 900, recordBytes: 100, bytesWritten: 900,
    skipped: [], ignored: [], changed: [], kind: 'full', base: null, reason: 'first', nothingChanged: false, storedFiles: 10, storedBytes: 1000, unchangedFiles: 0, renamedFiles: 0, deletedFiles: 0,
    ...over,
  };
}

const run: PackSourcesResult = {
  set: '/set',
  started: new Date('2026-12-02T01:00:00Z'),
  ended: new Date('2026-12-02T01:04:05Z'),
  status: 1,
  outcomes: [
    { source: '/home/docs', result: packed({ skipped: [{ path: 'docs/app.sock', reason: 'a socket cannot be stored' }], volumes: [{ volume: 1, path: '/set/20261202T010000Z-vol001', archive: 'a', bytes: 2048, files: 10 }, { volume: 2, path: '/set/20261202T010000Z-vol002', archive: 'b', bytes: 1024, files: 0, iso: '/set/20261202T010000Z-vol002.iso' }] }) },
    { source: '/srv/www', result: packed({ nothingChanged: true, backupId: '', files: 4 }) },
    { source: '/gone', error: new InputError('The source /gone does not exist; nothing was written.', '/gone') },
  ],
};

describe('the run summary', () => {
  it('says per source what was stored, skipped and why, or why it failed; the discs to burn last', () => {
    const s = summarize(run);
    const text = summaryText({ ...s, host: 'server1' });
    assert.equal(
      text,
      [
        'xtar pack on server1 into /set',
        'started  2026-12-02T01:00:00.000Z',
        'ended    2026-12-02T01:04:05.000Z (4 min 05 s)',
        'exit status 1: finished with problems',
        '',
        'source /home/docs',
        '  full backup 20261202T010000Z: 10 file(s) stored (1000 B) of 10',
        '  volume /set/20261202T010000Z-vol001 (2.00 KiB)',
        '  volume /set/20261202T010000Z-vol002 (1.00 KiB), image /set/20261202T010000Z-vol002.iso',
        '  1 skipped:',
        '    docs/app.sock: a socket cannot be stored',
        '',
        'source /srv/www',
        '  nothing changed: no backup made (4 files)',
        '',
        'source /gone',
        '  FAILED: The source /gone does not exist; nothing was written.',
        '',
        'discs to burn: 2',
        '  /set/20261202T010000Z-vol001',
        '  /set/20261202T010000Z-vol002.iso',
        '',
      ].join('\n'),
    );
    assert.equal(subjectOf({ ...s, host: 'server1' }), 'xtar server1:/set: finished with problems (exit status 1)');
  });

  it('durations read as a person says them', () => {
    assert.equal(duration(6200), '6.2 s');
    assert.equal(duration(245_000), '4 min 05 s');
    assert.equal(duration(3_723_000), '1 h 02 min 03 s');
  });

  it('the log line counts the run', () => {
    const line = logLine(summarize(run), 'failed', ['warning: x']);
    assert.deepEqual(
      { ...line },
      {
        start: '2026-12-02T01:00:00.000Z', end: '2026-12-02T01:04:05.000Z', seconds: 245, set: '/set', status: 1, outcome: 'problems', sources: 3, failedSources: 1,
        backups: ['20261202T010000Z'], storedFiles: 10, storedBytes: 1000, skipped: 1, changed: 0, volumes: ['/set/20261202T010000Z-vol001', '/set/20261202T010000Z-vol002'],
        mail: 'failed', warnings: ['warning: x'], errors: ['/gone: The source /gone does not exist; nothing was written.'],
      },
    );
  });
});
