/** pack's options are judged in one place (src/pack/options.ts), for the CLI and for code alike. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkJobs, checkPackOptions } from '../../src/pack/options.js';
import { xtar } from '../helpers/cli.js';

describe('pack options', () => {
  it('the level defaults to 6 and is returned when in range', () => {
    assert.equal(checkPackOptions({}), 6);
    assert.equal(checkPackOptions({ level: 0, par2: 100, jobs: 1, split: 1, fullEvery: 0 }), 0);
  });

  it('a value out of range is a UsageError naming the value', () => {
    const cases: [Parameters<typeof checkPackOptions>[0], string][] = [
      [{ level: 10 }, '--level must be a whole number from 0 to 9, not 10.'],
      [{ level: 1.5 }, '--level must be a whole number from 0 to 9, not 1.5.'],
      [{ par2: 0 }, '--par2 must be a percentage above 0 and at most 100, not 0.'],
      [{ par2: 101 }, '--par2 must be a percentage above 0 and at most 100, not 101.'],
      [{ jobs: 0 }, '--jobs must be a whole number of at least 1, not 0.'],
      [{ split: 0 }, '--split must be a whole number of at least 1, not 0.'],
      [{ fullEvery: -1 }, '--full-every must be a whole number of at least 0, not -1.'],
    ];
    for (const [o, message] of cases) assert.throws(() => checkPackOptions(o), { name: 'UsageError', message }, message);
    assert.throws(() => checkJobs(2.5), { name: 'UsageError', message: '--jobs must be a whole number of at least 1, not 2.5.' });
  });

  it('the CLI says the same sentence, exit 2, with a hint to --help', async () => {
    const r = await xtar(['pack', '.', '--out', '/nonexistent/never-made', '--level', '12']);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'xtar: --level must be a whole number from 0 to 9, not 12.\nTry xtar --help.\n');
    const d = await xtar(['pack', '.', '--out', '/nonexistent/never-made', '--dry-run', '--par2', '0']);
    assert.equal(d.stderr, 'xtar: --par2 must be a percentage above 0 and at most 100, not 0.\nTry xtar --help.\n');
  });
});
