/** Whose a record is, by its header: another backup's or another volume's is told apart; a header that names none is not. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { otherOwner } from '../../src/set/read-records.js';

describe('otherOwner', () => {
  const owner = { backupId: '20261202T095145Z', volume: 1 };

  it('names another backup, then another volume', () => {
    assert.equal(otherOwner({ backup: '20261202T095147Z', volume: 1 }, owner), "it is backup 20261202T095147Z's, not 20261202T095145Z's");
    assert.equal(otherOwner({ backup: '20261202T095145Z', volume: 2 }, owner), "it is volume 2's, not volume 1's");
    assert.equal(otherOwner({ backup: '20261202T095147Z', volume: 2 }, owner), "it is backup 20261202T095147Z's, not 20261202T095145Z's");
  });

  it("is the volume's own, or cannot tell: a matching header, one without a backup id or volume, an owner not known", () => {
    assert.equal(otherOwner({ backup: '20261202T095145Z', volume: 1 }, owner), undefined);
    assert.equal(otherOwner({ backup: '20261202T095145Z' }, owner), undefined);
    assert.equal(otherOwner({ backup: '', volume: 1 }, owner), undefined);
    assert.equal(otherOwner({ backup: '20261202T095147Z', volume: 2 }, { backupId: null, volume: null }), undefined);
    assert.equal(otherOwner({ backup: '20261202T095147Z' }, undefined), undefined);
    assert.equal(otherOwner(null, owner), undefined);
  });
});
