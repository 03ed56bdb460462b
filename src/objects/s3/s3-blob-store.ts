import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform, pipeline } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { awsS3Client, awsS3Storage } from '../../shared/lazy-modules.js';
import { ObjectStoreError } from '../errors.js';
import {
  MissingBlobError,
  newBlobId,
  type BlobEntry,
  type BlobHandle,
  type BlobPart,
  type BlobStore,
  type ByteRange,
  type WrittenBlob,
} from '../blob-store.js';

/** Where the blobs go: `s3://BUCKET/PREFIX` plus how to reach the store. */
export interface S3BlobStoreOptions {
  readonly bucket: string;
  /** Key prefix of every blob ('' or ending in '/'). */
  readonly prefix: string;
  /** An S3-compatible endpoint (path-style addressing); AWS itself when unset. */
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
  /** Both or neither; neither: the standard AWS credential chain. */
  readonly accessKeyId?: string | undefined;
  readonly secretAccessKey?: string | undefined;
  /** Bytes per part of a streamed upload; memory per upload is at most twice this (default 8 MiB). */
  readonly partSizeBytes?: number;
}

/** S3's floor for every part but the last, and ceiling for one copy or part. */
const S3_MIN_PART_BYTES = 5 * 1024 * 1024;
const S3_MAX_COPY_BYTES = 5 * 1024 * 1024 * 1024;
/** Range size of a multipart copy of an object over 5 GiB. */
const COPY_PART_BYTES = 1024 * 1024 * 1024;
const DEFAULT_PART_BYTES = 8 * 1024 * 1024;
const BLOB_ID = /^[0-9a-f]{32}$/;

const isNotFound = (e: unknown): boolean => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    err?.name === 'NotFound' || err?.name === 'NoSuchKey' || err?.$metadata?.httpStatusCode === 404
  );
};

/** What the client sees when the external store fails: 503, which SDKs retry; nothing committed. */
function unavailable(op: string, cause: unknown): ObjectStoreError {
  const err = new ObjectStoreError(
    'ServiceUnavailable',
    `Apiary's blob store did not answer (${op} on the external S3 store failed); nothing was changed. Please try again.`,
  );
  (err as { cause?: unknown }).cause = cause;
  return err;
}

/**
 * Blobs as objects `<prefix><id>` in an external S3-compatible bucket. Writes stream through
 * `@aws-sdk/lib-storage` (one PUT, or a multipart upload of {@link DEFAULT_PART_BYTES} parts for
 * larger bodies: at most two parts in memory). Multipart completion joins the part blobs with
 * UploadPartCopy, so the bytes never pass through Apiary; only parts under S3's 5 MiB floor
 * (possible when the store's minimum part size is lowered) are joined by a streamed copy.
 * Readers are pinned in this process: a blob with open handles is deleted when the last closes.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly pins = new Map<string, number>();
  private readonly deferred = new Set<string>();
  /** The AWS SDK's S3 module, loaded when the first S3 blob store is made. */
  private readonly sdk = awsS3Client();

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.partSize = Math.max(options.partSizeBytes ?? DEFAULT_PART_BYTES, S3_MIN_PART_BYTES);
    this.client = new this.sdk.S3Client({
      region: options.region ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
      ...(options.accessKeyId && options.secretAccessKey
        ? {
            credentials: {
              accessKeyId: options.accessKeyId,
              secretAccessKey: options.secretAccessKey,
            },
          }
        : {}),
      // Plain Content-Length uploads: not every S3-compatible store takes aws-chunked trailers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private key(id: string): string {
    return this.prefix + id;
  }

  /** Checks that the bucket answers; the S3 store keeps no temp files. */
  async start(): Promise<{ tempFilesRemoved: number }> {
    try {
      await this.client.send(new this.sdk.HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const why = isNotFound(err) ? 'does not exist' : `did not answer (${(err as Error).name})`;
      throw new Error(
        `APIARY_BLOB_STORE: the bucket '${this.bucket}' ${why}; create it or fix the endpoint and credentials`,
        {
          cause: err,
        },
      );
    }
    return { tempFilesRemoved: 0 };
  }

  async write(body: Readable | Buffer | string): Promise<WrittenBlob> {
    const id = newBlobId();
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const md5 = createHash('md5').update(buf).digest();
      if (buf.length <= this.partSize) {
        try {
          await this.client.send(
            new this.sdk.PutObjectCommand({
              Bucket: this.bucket,
              Key: this.key(id),
              Body: buf,
              ContentMD5: md5.toString('base64'),
            }),
          );
        } catch (err) {
          throw unavailable('PutObject', err);
        }
        return { id, size: buf.length, md5 };
      }
      body = Readable.from([buf]);
    }
    const md5 = createHash('md5');
    let size = 0;
    let bodyError: unknown;
    body.once('error', (err) => (bodyError ??= err));
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    pipeline(body, hashing, (err) => {
      if (err) bodyError ??= err;
    });
    const upload = new (awsS3Storage().Upload)({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.key(id), Body: hashing },
      partSize: this.partSize,
      queueSize: 1,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      // The client's own failure (aborted, timed out, bad chunk) stays what it was.
      if (bodyError !== undefined) throw bodyError;
      const failure = unavailable('upload', err);
      // Stop reading the client's body, as a failed disk write does (the edge closes the connection).
      hashing.destroy(failure);
      throw failure;
    }
    if (bodyError !== undefined) {
      await this.delete([id]);
      throw bodyError;
    }
    return { id, size, md5: md5.digest() };
  }

  private pin(id: string): () => void {
    this.pins.set(id, (this.pins.get(id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.pins.get(id) ?? 1) - 1;
      if (n > 0) return void this.pins.set(id, n);
      this.pins.delete(id);
      if (this.deferred.delete(id)) void this.delete([id]);
    };
  }

  private get(id: string, range: ByteRange | undefined) {
    return this.client.send(
      new this.sdk.GetObjectCommand({
        Bucket: this.bucket,
        Key: this.key(id),
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }),
    );
  }

  async open(id: string, size: number): Promise<BlobHandle | undefined> {
    // One HEAD: a missing blob (replaced meanwhile) is retried by the caller, and an unreachable
    // store answers 503 before any response header is sent.
    try {
      await this.client.send(
        new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(id) }),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw unavailable('HeadObject', err);
    }
    const release = this.pin(id);
    const bounded = (range: ByteRange | undefined) => {
      const r = range ?? { start: 0, end: size - 1 };
      return r.end < r.start ? undefined : r;
    };
    return {
      read: (range) => {
        const r = bounded(range);
        if (!r) {
          release();
          return Readable.from([]);
        }
        const out = new PassThrough({ highWaterMark: 1024 * 1024 });
        out.once('close', release);
        this.get(id, r).then(
          (res) => {
            const src = res.Body as Readable;
            if (out.destroyed) return void src.destroy();
            pipeline(src, out, () => undefined);
          },
          (err: unknown) => out.destroy(unavailable('GetObject', err)),
        );
        return out;
      },
      readBuffer: async (range) => {
        try {
          const r = bounded(range);
          if (!r) return Buffer.alloc(0);
          const res = await this.get(id, r).catch((err: unknown) => {
            throw unavailable('GetObject', err);
          });
          return Buffer.from(await res.Body!.transformToByteArray());
        } finally {
          release();
        }
      },
      close: async () => release(),
    };
  }

  async copy(id: string, size: number): Promise<string | undefined> {
    try {
      return await this.copyRanges([{ id, size }]);
    } catch (err) {
      if (err instanceof MissingBlobError) return undefined;
      throw err;
    }
  }

  async concat(parts: readonly BlobPart[]): Promise<{ id: string; size: number }> {
    const size = parts.reduce((n, p) => n + p.size, 0);
    const copyable = parts.every(
      (p, i) =>
        p.size <= S3_MAX_COPY_BYTES && (i === parts.length - 1 || p.size >= S3_MIN_PART_BYTES),
    );
    if (parts.length === 1 || copyable) return { id: await this.copyRanges(parts), size };
    return { id: await this.streamConcat(parts), size };
  }

  /**
   * Server-side copy of `parts` into one new blob: CopyObject for one source up to 5 GiB, else a
   * multipart upload of UploadPartCopy ranges. @throws MissingBlobError.
   */
  private async copyRanges(parts: readonly BlobPart[]): Promise<string> {
    const id = newBlobId();
    const source = (p: BlobPart) => `${this.bucket}/${this.key(p.id)}`;
    const only = parts.length === 1 ? parts[0]! : undefined;
    if (only && only.size <= S3_MAX_COPY_BYTES) {
      try {
        await this.client.send(
          new this.sdk.CopyObjectCommand({
            Bucket: this.bucket,
            Key: this.key(id),
            CopySource: source(only),
          }),
        );
        return id;
      } catch (err) {
        if (isNotFound(err)) throw new MissingBlobError(only.id);
        throw unavailable('CopyObject', err);
      }
    }
    const ranges: { part: BlobPart; range?: string }[] = [];
    for (const part of parts) {
      if (part.size <= S3_MAX_COPY_BYTES) ranges.push({ part });
      else
        for (let at = 0; at < part.size; at += COPY_PART_BYTES) {
          ranges.push({
            part,
            range: `bytes=${at}-${Math.min(at + COPY_PART_BYTES, part.size) - 1}`,
          });
        }
    }
    let uploadId: string | undefined;
    try {
      const created = await this.client.send(
        new this.sdk.CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(id) }),
      );
      uploadId = created.UploadId!;
      const etags: string[] = [];
      for (const [i, r] of ranges.entries()) {
        try {
          const res = await this.client.send(
            new this.sdk.UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: this.key(id),
              UploadId: uploadId,
              PartNumber: i + 1,
              CopySource: source(r.part),
              ...(r.range ? { CopySourceRange: r.range } : {}),
            }),
          );
          etags.push(res.CopyPartResult!.ETag!);
        } catch (err) {
          throw isNotFound(err) ? new MissingBlobError(r.part.id) : err;
        }
      }
      await this.client.send(
        new this.sdk.CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key(id),
          UploadId: uploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
      );
      return id;
    } catch (err) {
      if (uploadId !== undefined) {
        await this.client
          .send(
            new this.sdk.AbortMultipartUploadCommand({
              Bucket: this.bucket,
              Key: this.key(id),
              UploadId: uploadId,
            }),
          )
          .catch(() => undefined);
      }
      if (err instanceof MissingBlobError) throw err;
      throw unavailable('UploadPartCopy', err);
    }
  }

  /** Parts read one after another and written as one streamed upload. @throws MissingBlobError. */
  private async streamConcat(parts: readonly BlobPart[]): Promise<string> {
    const get = (id: string) => this.get(id, undefined);
    let missing: string | undefined;
    async function* bytes() {
      for (const p of parts) {
        if (p.size === 0) continue;
        const res = await get(p.id).catch((err: unknown) => {
          if (isNotFound(err)) missing = p.id;
          throw err;
        });
        yield* res.Body as Readable;
      }
    }
    try {
      return (await this.write(Readable.from(bytes()))).id;
    } catch (err) {
      if (missing !== undefined) throw new MissingBlobError(missing);
      if (err instanceof ObjectStoreError) throw err;
      throw unavailable('GetObject', err);
    }
  }

  async delete(ids: readonly string[]): Promise<void> {
    const now: string[] = [];
    for (const id of ids) {
      if (this.pins.has(id)) this.deferred.add(id);
      else now.push(id);
    }
    for (let i = 0; i < now.length; i += 1000) {
      const batch = now.slice(i, i + 1000);
      // A failure leaves orphans, which the sweep removes later.
      await this.client
        .send(
          new this.sdk.DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((id) => ({ Key: this.key(id) })), Quiet: true },
          }),
        )
        .catch(() => undefined);
    }
  }

  async *list(): AsyncIterable<BlobEntry> {
    let token: string | undefined;
    do {
      const page = await this.client
        .send(
          new this.sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix,
            ContinuationToken: token,
          }),
        )
        .catch((err: unknown) => {
          throw unavailable('ListObjectsV2', err);
        });
      for (const o of page.Contents ?? []) {
        const id = o.Key!.slice(this.prefix.length);
        // Anything else under the prefix is not ours to delete.
        if (!BLOB_ID.test(id)) continue;
        const ms = o.LastModified?.getTime() ?? 0;
        yield { id, modifiedMs: async () => ms };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Aborts this store's unfinished multipart uploads (a crash mid-write) begun before the cutoff. */
  async abortStaleUploads(olderThanMs: number): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new this.sdk.ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: this.prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const u of page.Uploads ?? []) {
        if (!BLOB_ID.test(u.Key!.slice(this.prefix.length))) continue;
        if ((u.Initiated?.getTime() ?? 0) > olderThanMs) continue;
        await this.client.send(
          new this.sdk.AbortMultipartUploadCommand({
            Bucket: this.bucket,
            Key: u.Key!,
            UploadId: u.UploadId!,
          }),
        );
        aborted++;
      }
      if (!page.IsTruncated) return aborted;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /** Closes the HTTP client's sockets. */
  destroy(): void {
    this.client.destroy();
  }
}
