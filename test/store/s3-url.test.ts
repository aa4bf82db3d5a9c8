import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isUrl, parseStoreUrl } from '../../src/store/s3-url.js';
import { InputError } from '../../src/errors.js';

describe('parseStoreUrl', () => {
  it('a path is not a URL', () => {
    assert.equal(parseStoreUrl('/media/backup'), null);
    assert.equal(parseStoreUrl('set'), null);
    assert.equal(parseStoreUrl('./s3:/x'), null);
    assert.equal(isUrl('s3:x'), false);
  });
  it('s3://BUCKET/PREFIX, with the prefix normalised', () => {
    assert.deepEqual(parseStoreUrl('s3://b/x/y/'), { bucket: 'b', prefix: 'x/y', url: 's3://b/x/y' });
    assert.deepEqual(parseStoreUrl('S3://b'), { bucket: 'b', prefix: '', url: 's3://b' });
  });
  it('an unknown scheme, a missing bucket and dot parts are errors', () => {
    assert.throws(() => parseStoreUrl('ftp://host/set'), (e) => e instanceof InputError && /ftp:\/\//.test(e.message));
    assert.throws(() => parseStoreUrl('gs://b/x'), InputError);
    assert.throws(() => parseStoreUrl('s3:///x'), /name a bucket/);
    assert.throws(() => parseStoreUrl('s3://b/a/../c'), /\. or \.\./);
  });
});
