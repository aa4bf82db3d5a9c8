/**
 * Where a set lives: a folder (no scheme), or `s3://BUCKET/PREFIX` in S3-compatible object storage.
 * Any other `scheme://` is an error, never a folder named after the scheme.
 */
import { InputError } from '../errors.js';

export interface S3Location {
  bucket: string;
  /** The set's key prefix, without a trailing slash ('' for the bucket's top). */
  prefix: string;
  /** s3://BUCKET/PREFIX as given, normalised. */
  url: string;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** The S3 location `text` names, or null when it is a path; an unknown scheme (or an s3:// URL without a bucket) is an InputError. */
export function parseStoreUrl(text: string): S3Location | null {
  const m = SCHEME.exec(text);
  if (m === null) return null;
  const scheme = (m[1] as string).toLowerCase();
  if (scheme !== 's3') throw new InputError(`${text}: xtar knows no ${m[1]}:// sets; a set is a folder or s3://BUCKET/PREFIX.`, text);
  const rest = text.slice(m[0].length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = (slash < 0 ? '' : rest.slice(slash + 1)).replace(/\/+$/, '').replace(/^\/+/, '');
  if (bucket === '') throw new InputError(`${text}: name a bucket (s3://BUCKET/PREFIX).`, text);
  if (prefix.split('/').some((p) => p === '.' || p === '..')) throw new InputError(`${text}: a prefix may not hold . or .. parts.`, text);
  return { bucket, prefix, url: `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}` };
}

/** True when `text` is a URL (any scheme), not a path. */
export function isUrl(text: string): boolean {
  return SCHEME.test(text);
}
