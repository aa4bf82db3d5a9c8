/**
 * The check of a small zip blob held whole in memory: inflate it, check size, CRC-32 and the
 * catalog's sha256. Pure bytes in, bytes out: reading archives and writing files live elsewhere.
 */
import { hash } from 'node:crypto';
import { DamagedBlobError, XtarError } from '../errors.js';
import { decodeZipBlob, type BlobCodec } from './zip.js';

/**
 * Inflate a small blob in memory and check its size, CRC-32 and (when given) the catalog's sha256:
 * the file's bytes, or a DamagedBlobError naming `shown`. (Its inner name was checked by readBlob, on
 * the same header bytes.) Run by the main thread and by the extraction workers, these with
 * libdeflate's inflate and CRC-32 (`codec`) where its addon is built.
 */
export function checkSmallBlob(blob: Buffer, shown: string, sha256: string | undefined, codec?: BlobCodec): Buffer {
  let data: Buffer;
  try {
    data = decodeZipBlob(blob, codec).data;
  } catch (e) {
    if (e instanceof XtarError && e.path === undefined) throw new DamagedBlobError(e.message, shown);
    throw e;
  }
  if (sha256 !== undefined && hash('sha256', data, 'hex') !== sha256) {
    throw new DamagedBlobError("the restored bytes do not match the catalog's sha256", shown);
  }
  return data;
}
