/** packPassphrase: the one decision of which passphrase a pack into a set needs (the CLI asks only when it says so). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { packPassphrase, type PackKeyOffer, type SealedFolder } from '../../src/set/encryption.js';

const R = 'age1' + 'q'.repeat(58);
const withKey: SealedFolder = { recipients: [R], keyFile: new Uint8Array(1) };
const recipientsOnly: SealedFolder = { recipients: [R], keyFile: null };
const offer = (o: Partial<PackKeyOffer> = {}): PackKeyOffer => ({ ownKey: false, recipients: 0, identityFiles: 0, passphraseGiven: false, ...o });

describe('packPassphrase', () => {
  it('a new set: required with a key of its own, optional to recipients, none when plain', () => {
    assert.equal(packPassphrase(null, false, offer({ ownKey: true })), 'new');
    assert.equal(packPassphrase(null, false, offer({ ownKey: true, recipients: 1 })), 'new');
    assert.equal(packPassphrase(null, false, offer({ recipients: 2 })), 'optional');
    assert.equal(packPassphrase(null, true, offer({ passphraseGiven: true })), 'none');
  });

  it("an encrypted set: its own passphrase only when it has backups to read and a key file it opens", () => {
    assert.equal(packPassphrase(withKey, true, offer()), 'set');
    assert.equal(packPassphrase(withKey, true, offer({ identityFiles: 1, passphraseGiven: true })), 'set');
    assert.equal(packPassphrase(withKey, true, offer({ identityFiles: 1 })), 'none');
    assert.equal(packPassphrase(withKey, false, offer({ ownKey: true })), 'none');
    assert.equal(packPassphrase(recipientsOnly, true, offer({ passphraseGiven: true })), 'none');
  });
});
