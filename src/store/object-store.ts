/**
 * The S3 side of a set in object storage: one bucket and key prefix reached with the official
 * @aws-sdk/client-s3. Credentials, region and endpoint come as the AWS SDKs and CLI take them (the
 * SDK's default provider chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
 * AWS_PROFILE and the shared config and credentials files, AWS_REGION, AWS_ENDPOINT_URL); with an
 * endpoint, path-style addressing (what S3-compatible servers answer). Throttling (503 SlowDown),
 * other 5xx answers and dropped connections are retried with exponential backoff and jitter (the
 * SDK's standard retry strategy, MAX_ATTEMPTS tries). Every byte fetched is counted, so a restore
 * can say what it cost. Knows nothing of volumes, tars or records.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { InputError, XtarError } from '../errors.js';
import type { S3Location } from './s3-url.js';

/** Tries of one request (the first and its retries), unless AWS_MAX_ATTEMPTS says otherwise. */
export const MAX_ATTEMPTS = 8;

/** An object under the set's prefix. */
export interface StoredObject {
  /** Its key below the prefix (`VOLUME/FILE`). */
  name: string;
  size: number;
  etag: string;
}

/** A request to the object store failed for a reason other than the user's settings (after its retries). */
export class StoreError extends XtarError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'ESTORE', cause });
  }
}

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function nameOf(e: unknown): string {
  return (e as { name?: string; Code?: string } | null)?.Code ?? (e as Error | null)?.name ?? '';
}

/** The endpoint given by the environment (the SDK reads it too; path-style addressing follows from it). */
function endpointFromEnv(): string | undefined {
  const e = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  return e === undefined || e === '' ? undefined : e;
}

export class ObjectStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  /** Bytes of object bodies fetched (GETs, ranged or whole) and sent (PUTs, parts) by this store. */
  fetched = 0;
  sent = 0;
  readonly endpoint: string | undefined;

  constructor(readonly where: S3Location) {
    // The SDK warns once per process that its next versions need Node 22; it is not the user's business on every run.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.bucket = where.bucket;
    this.prefix = where.prefix;
    this.endpoint = endpointFromEnv();
    this.client = new S3Client({
      ...(this.endpoint === undefined ? {} : { endpoint: this.endpoint, forcePathStyle: true }),
      // An endpoint of one's own often comes without a region: any name signs its requests.
      ...(this.endpoint !== undefined && (process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION) === undefined ? { region: 'us-east-1' } : {}),
      // AWS_MAX_ATTEMPTS and AWS_RETRY_MODE (or the profile's max_attempts, retry_mode) are the SDK's to read when set.
      ...(process.env.AWS_MAX_ATTEMPTS === undefined ? { maxAttempts: MAX_ATTEMPTS } : {}),
      ...(process.env.AWS_RETRY_MODE === undefined ? { retryMode: 'standard' } : {}),
      // Checksums only where S3 requires them: not every S3-compatible server knows the newer headers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** The full key of `name` below the prefix. */
  key(name: string): string {
    return this.prefix === '' ? name : `${this.prefix}/${name}`;
  }

  url(name = ''): string {
    return name === '' ? this.where.url : `${this.where.url}/${name}`;
  }

  /** Turn an SDK error into what the user is told: wrong credentials and a missing bucket are InputErrors (exit 2). */
  fail(e: unknown, what: string): never {
    if (e instanceof XtarError) throw e;
    const status = statusOf(e);
    const name = nameOf(e);
    const where = `s3://${this.bucket}${this.endpoint === undefined ? '' : ` at ${this.endpoint}`}`;
    if (name === 'CredentialsProviderError' || /Could not load credentials/i.test((e as Error)?.message ?? '')) {
      throw new InputError(`No S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a shared credentials file (${what}).`, this.where.url, e);
    }
    if (/Region is missing/i.test((e as Error)?.message ?? '')) throw new InputError(`No S3 region: set AWS_REGION (or a region in the shared config file).`, this.where.url, e);
    if (name === 'NoSuchBucket' || (status === 404 && name === 'NotFound' && what === 'checking the bucket')) {
      throw new InputError(`The bucket ${this.bucket} does not exist (${where}); create it first (e.g. aws s3 mb s3://${this.bucket}).`, this.where.url, e);
    }
    if (status === 403 || ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden'].includes(name)) {
      throw new InputError(`${where} refused the credentials (${name !== '' && name !== 'Unknown' ? name : `HTTP ${status}`}) while ${what}: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the profile).`, this.where.url, e);
    }
    throw new StoreError(`${where}: ${what} failed: ${name || 'error'}${status === undefined ? '' : ` (HTTP ${status})`}: ${(e as Error)?.message ?? String(e)}`, e);
  }

  /** Check that the bucket exists and the credentials are taken, before anything is written. */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      this.fail(e, 'checking the bucket');
    }
  }

  /** Every object whose name (below the prefix) starts with `under`. */
  async list(under = ''): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    const base = this.key('');
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + under, ...(token === undefined ? {} : { ContinuationToken: token }) }));
        for (const o of r.Contents ?? []) out.push({ name: (o.Key ?? '').slice(base.length), size: o.Size ?? 0, etag: o.ETag ?? '' });
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (e) {
      this.fail(e, `listing ${this.url(under)}`);
    }
    return out;
  }

  /** The object's size and ETag, or null when there is none. */
  async head(name: string): Promise<StoredObject | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(name) }));
      return { name, size: r.ContentLength ?? 0, etag: r.ETag ?? '' };
    } catch (e) {
      if (statusOf(e) === 404) return null;
      this.fail(e, `reading ${this.url(name)}`);
    }
  }

  /** The whole object, or null when there is none. */
  async get(name: string): Promise<Buffer | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(name) }));
      const b = Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      this.fetched += b.length;
      return b;
    } catch (e) {
      if (statusOf(e) === 404 && nameOf(e) !== 'NoSuchBucket') return null;
      this.fail(e, `reading ${this.url(name)}`);
    }
  }

  /** Bytes [pos, pos+length) of the object (fewer at its end). */
  async getRange(name: string, pos: number, length: number): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
   
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(name), Range: `bytes=${pos}-${pos + length - 1}` }));
      const b = Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      this.fetched += b.length;
      return b;
    } catch (e) {
      if (statusOf(e) === 416) return Buffer.alloc(0);
      this.fail(e, `reading ${this.url(name)} bytes ${pos}–${pos + length - 1}`);
    }
  }

  async put(name: string, body: Uint8Array | string, opts: { storageClass?: string; ifNoneMatch?: boolean } = {}): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key(name),
          Body: body,
          ...(opts.storageClass === undefined ? {} : { StorageClass: opts.storageClass as StorageClass }),
          ...(opts.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
        }),
      );
      this.sent += typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    } catch (e) {
      this.fail(e, `writing ${this.url(name)}`);
    }
  }

  async delete(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(name) }));
    } catch (e) {
      if (statusOf(e) === 404) return;
      this.fail(e, `deleting ${this.url(name)}`);
    }
  }

  /** Start a multipart upload of `name`: its upload id. */
  async startUpload(name: string, storageClass?: string): Promise<string> {
    try {
      const r = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(name), ...(storageClass === undefined ? {} : { StorageClass: storageClass as StorageClass }) }));
      if (r.UploadId === undefined) throw new Error('no upload id in the answer');
      return r.UploadId;
    } catch (e) {
      this.fail(e, `starting the upload of ${this.url(name)}`);
    }
  }

  /** Upload (or upload again: the last upload of a number counts) part `partNumber`: its ETag. */
  async uploadPart(name: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<string> {
    try {
      const r = await this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: this.key(name), UploadId: uploadId, PartNumber: partNumber, Body: body }));
      this.sent += body.length;
      return r.ETag ?? '';
    } catch (e) {
      this.fail(e, `uploading part ${partNumber} of ${this.url(name)}`);
    }
  }

  async completeUpload(name: string, uploadId: string, parts: { PartNumber: number; ETag: string }[]): Promise<void> {
    try {
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(name), UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    } catch (e) {
      this.fail(e, `completing the upload of ${this.url(name)}`);
    }
  }

  async abortUpload(name: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(name), UploadId: uploadId }));
    } catch (e) {
      if (statusOf(e) === 404) return;
      this.fail(e, `aborting the upload of ${this.url(name)}`);
    }
  }

  /** The multipart uploads in progress under the prefix (left by a pack that was killed): name and upload id. */
  async uploadsInProgress(): Promise<{ name: string; uploadId: string }[]> {
    const out: { name: string; uploadId: string }[] = [];
    const base = this.key('');
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    try {
      for (;;) {
        const r = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: base, ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }), ...(idMarker === undefined ? {} : { UploadIdMarker: idMarker }) }));
        for (const u of r.Uploads ?? []) if (u.Key !== undefined && u.UploadId !== undefined) out.push({ name: u.Key.slice(base.length), uploadId: u.UploadId });
        if (!r.IsTruncated) break;
        keyMarker = r.NextKeyMarker;
        idMarker = r.NextUploadIdMarker;
      }
    } catch (e) {
      this.fail(e, `listing the uploads in progress under ${this.url()}`);
    }
    return out;
  }

  destroy(): void {
    this.client.destroy();
  }
}
