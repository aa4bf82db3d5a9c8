import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProblemLog } from '../../src/unpack/problem-log.js';

describe('ProblemLog', () => {
  it('lists problems in the order they were found', () => {
    const log = new ProblemLog();
    log.report('a', 'first', 'header');
    log.add('b', 'second', 'missing');
    assert.deepEqual(log.problems().map((p) => p.path), ['a', 'b']);
  });

  it('keeps a later-settled problem in the place taken when its file was read', () => {
    const log = new ProblemLog();
    const place = log.place(); // a file handed to a worker
    log.report('after', 'found on this thread meanwhile', 'header');
    log.report('worker', 'the CRC-32 of the restored bytes does not match', 'damaged', place);
    assert.deepEqual(
      log.problems().map((p) => [p.path, p.kind]),
      [
        ['worker', 'damaged'],
        ['after', 'header'],
      ],
    );
  });

  it('a place taken but never used leaves no gap or entry', () => {
    const log = new ProblemLog();
    log.place();
    log.report('x', 'why', 'failed');
    assert.deepEqual(log.problems(), [{ path: 'x', reason: 'why', kind: 'failed' }]);
  });

  it('knows which paths have a problem listed', () => {
    const log = new ProblemLog();
    log.report('root/f', 'damaged', 'damaged', log.place());
    assert.equal(log.has('root/f'), true);
    assert.equal(log.has('root/g'), false);
  });
});
