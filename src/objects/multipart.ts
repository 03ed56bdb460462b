import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../shared/clock.js';
import { MissingBlobError, type BlobStore, type WrittenBlob } from './blob-store.js';
import { ObjectStoreError } from './errors.js';
import { assertKey } from './names.js';
import type {
  ChecksumCombiner,
  CompletedPart,
  MultipartChecksum,
  MultipartUploadInfo,
  ObjectChecksum,
  ObjectInfo,
  PartInfo,
  PutObjectOptions,
  WriteConditions,
} from './object-store.js';
import { recordCompletion, repeatedCompletion } from './completed-parts.js';
import { DEFAULT_CONTENT_TYPE, rowToInfo, type ObjectsTables, type Tx } from './tables.js';
import { unquote } from './write-rules.js';
import { checkPartOrder, chooseParts, multipartChecksum } from './part-list.js';
import { dataKeyOf, newPartSalt, parseSse, partKey, type SseRecord } from './encryption/sealed.js';
import { sealedSize } from './encryption/scheme.js';

/** S3's limits on multipart uploads. */
export const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;
/** The highest part number S3 accepts in a multipart upload. */
export const MAX_PART_NUMBER = 10_000;
export const MAX_PART_SIZE_BYTES = 5 * 1024 * 1024 * 1024;

/** What a new object row carries besides its key and blob. */
export interface CommitFields {
  readonly size: number;
  readonly etag: string;
  readonly contentType: string | undefined;
  readonly metadata: Readonly<Record<string, string>> | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly checksum: ObjectInfo['checksum'];
  readonly partsCount: number | undefined;
  readonly conditions: WriteConditions;
  readonly tags?: Readonly<Record<string, string>>;
  /** How the blob is sealed (JSON SseRecord); absent: plain. */
  readonly sse?: string;
  /** The blob's CRC32 as its store computed it (WrittenBlob.crc32), kept to verify whole reads. */
  readonly crc32?: number;
}

/** The parts of the object store multipart uploads build on. */
export interface MultipartDeps {
  readonly db: Kysely<ObjectsTables>;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly minPartSize: number;
  requireBucket(tx: Tx, name: string): Promise<void>;
  /** Streams a body to a blob and checks its Content-MD5 (the blob is removed on a mismatch). */
  writeBlob(
    body: Readable | Buffer | string,
    contentMd5: string | undefined,
    sealKey?: Buffer,
  ): Promise<WrittenBlob>;
  /** The SSE-S3 master key (throws when none is configured). */
  masterKey(): Buffer;
  /** Commits `blobId` as the object (running `inTx` inside the transaction) or removes the blob. */
  commitObject(
    bucket: string,
    key: string,
    blobId: string,
    fields: CommitFields,
    inTx?: (tx: Transaction<ObjectsTables>) => Promise<void>,
  ): Promise<ObjectInfo>;
}

const replacedWhileCompleting = (uploadId: string, partNumber: number) =>
  new ObjectStoreError(
    'InvalidPart',
    `Part ${partNumber} was replaced while the upload was being completed; complete it again.`,
    {
      UploadId: uploadId,
      PartNumber: String(partNumber),
    },
  );

/**
 * Multipart uploads: each part is a blob of its own (`s3_parts`); Complete checks order, ETags and
 * sizes, has the blob store join the parts into one new blob and commits it with S3's ETag
 * `"<md5 of the parts' binary md5s>-<count>"`, deleting the upload in the same transaction.
 */
export class MultipartUploads {
  constructor(private readonly deps: MultipartDeps) {}

  async create(
    bucket: string,
    key: string,
    options: PutObjectOptions & { readonly multipartChecksum?: MultipartChecksum } = {},
    sse?: string,
  ): Promise<MultipartUploadInfo> {
    const { db, clock } = this.deps;
    assertKey(key);
    await this.deps.requireBucket(db, bucket);
    const uploadId = randomBytes(24).toString('base64url');
    const initiatedAtMs = clock.nowMs();
    await db
      .insertInto('s3_uploads')
      .values({
        upload_id: uploadId,
        bucket,
        key,
        content_type: options.contentType || DEFAULT_CONTENT_TYPE,
        metadata: JSON.stringify(options.metadata ?? {}),
        headers: JSON.stringify(options.headers ?? {}),
        initiated_at_ms: initiatedAtMs,
        tags:
          options.tags && Object.keys(options.tags).length > 0
            ? JSON.stringify(options.tags)
            : null,
        checksum_algorithm: options.multipartChecksum?.algorithm ?? null,
        checksum_type: options.multipartChecksum?.type ?? null,
        sse: sse ?? null,
      })
      .execute();
    return {
      uploadId,
      bucket,
      key,
      initiatedAtMs,
      ...(options.multipartChecksum ? { checksum: options.multipartChecksum } : {}),
      ...(sse ? { encryption: parseSse(sse)!.mode } : {}),
    };
  }

  private async requireUpload(tx: Tx, bucket: string, key: string, uploadId: string) {
    const row = await tx
      .selectFrom('s3_uploads')
      .selectAll()
      .where('upload_id', '=', uploadId)
      .executeTakeFirst();
    if (!row || row.bucket !== bucket || row.key !== key) {
      await this.deps.requireBucket(tx, bucket);
      throw new ObjectStoreError(
        'NoSuchUpload',
        'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        { UploadId: uploadId },
      );
    }
    return row;
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable | Buffer | string,
    options: {
      contentMd5?: string;
      readonly checksum?: ObjectChecksum;
      readonly customerKey?: Buffer;
    } = {},
  ): Promise<PartInfo> {
    const { db, blobs, clock } = this.deps;
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw new ObjectStoreError(
        'InvalidArgument',
        `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive.`,
        {
          ArgumentName: 'partNumber',
          ArgumentValue: String(partNumber),
        },
      );
    }
    const upload = await this.requireUpload(db, bucket, key, uploadId);
    // An encrypted upload seals each part under its own key (encryption/sealed.ts partKey).
    const seal = sealForPart(upload.sse, options.customerKey, () => this.deps.masterKey());
    const blob = await this.deps.writeBlob(body, options.contentMd5, seal?.key);
    const part = {
      upload_id: uploadId,
      part_number: partNumber,
      blob_id: blob.id,
      size: blob.size,
      etag: `"${blob.md5.toString('hex')}"`,
      last_modified_ms: clock.nowMs(),
      // Read after the body has been written: the decoder has verified it by then.
      checksum: options.checksum ? JSON.stringify(options.checksum) : null,
      sse: seal?.column ?? null,
    };
    let replaced: string | undefined;
    try {
      replaced = await db.transaction().execute(async (tx) => {
        await this.requireUpload(tx, bucket, key, uploadId);
        const old = await tx
          .selectFrom('s3_parts')
          .select('blob_id')
          .where('upload_id', '=', uploadId)
          .where('part_number', '=', partNumber)
          .executeTakeFirst();
        if (old) {
          await tx
            .updateTable('s3_parts')
            .set({
              blob_id: part.blob_id,
              size: part.size,
              etag: part.etag,
              last_modified_ms: part.last_modified_ms,
              checksum: part.checksum,
              sse: part.sse,
            })
            .where('upload_id', '=', uploadId)
            .where('part_number', '=', partNumber)
            .execute();
        } else {
          await tx.insertInto('s3_parts').values(part).execute();
        }
        return old?.blob_id;
      });
    } catch (err) {
      await blobs.delete([blob.id]);
      throw err;
    }
    if (replaced) await blobs.delete([replaced]);
    return {
      partNumber,
      etag: part.etag,
      size: part.size,
      lastModifiedMs: part.last_modified_ms,
      ...(options.checksum ? { checksum: options.checksum } : {}),
      ...(seal ? { encryption: parseSse(upload.sse)!.mode } : {}),
    };
  }

  async complete(
    bucket: string,
    key: string,
    uploadId: string,
    listed: readonly CompletedPart[],
    options: WriteConditions & { readonly combineChecksum?: ChecksumCombiner } = {},
  ): Promise<ObjectInfo> {
    const { db, blobs, minPartSize } = this.deps;
    const { combineChecksum, ...conditions } = options;
    let upload: Awaited<ReturnType<MultipartUploads['requireUpload']>>;
    try {
      upload = await this.requireUpload(db, bucket, key, uploadId);
    } catch (err) {
      // S3 answers a repeated Complete of a completed upload (same parts) with the same ETag.
      if (!(err instanceof ObjectStoreError) || err.code !== 'NoSuchUpload') throw err;
      const now = this.deps.clock.nowMs();
      const etag = await repeatedCompletion(db, bucket, key, uploadId, listed, now);
      if (etag === undefined) throw err;
      const row = await db
        .selectFrom('s3_objects')
        .selectAll()
        .where('bucket', '=', bucket)
        .where('key', '=', key)
        .executeTakeFirst();
      return row && row.etag === etag
        ? rowToInfo(row)
        : { bucket, key, etag, size: 0, contentType: '', lastModifiedMs: now, metadata: {} };
    }
    checkPartOrder(listed, uploadId);
    const stored = new Map(
      (await db.selectFrom('s3_parts').selectAll().where('upload_id', '=', uploadId).execute()).map(
        (p) => [Number(p.part_number), p],
      ),
    );
    const { parts, chosen } = chooseParts(listed, stored, uploadId, minPartSize);
    // Before the join: a checksum mismatch must leave no joined blob behind.
    const checksum = multipartChecksum(upload, parts, chosen, uploadId, combineChecksum);
    let joined: { id: string; size: number };
    try {
      joined = await blobs.concat(
        chosen.map((p) => ({
          id: p.blob_id,
          size: upload.sse ? sealedSize(Number(p.size)) : Number(p.size),
        })),
      );
    } catch (err) {
      if (!(err instanceof MissingBlobError)) throw err;
      const part = chosen.find((p) => p.blob_id === err.blobId);
      throw replacedWhileCompleting(uploadId, Number(part?.part_number ?? 0));
    }
    const md5s = createHash('md5');
    for (const p of chosen) md5s.update(Buffer.from(unquote(p.etag), 'hex'));
    const etag = `"${md5s.digest('hex')}-${chosen.length}"`;
    let partBlobs: string[] = [];
    const info = await this.deps.commitObject(
      bucket,
      key,
      joined.id,
      {
        size: upload.sse ? chosen.reduce((n, p) => n + Number(p.size), 0) : joined.size,
        etag,
        ...(upload.sse ? { sse: sealedObjectColumn(upload.sse, chosen) } : {}),
        contentType: upload.content_type,
        metadata: JSON.parse(upload.metadata) as Record<string, string>,
        headers: JSON.parse(upload.headers) as Record<string, string>,
        ...(upload.tags ? { tags: JSON.parse(upload.tags) as Record<string, string> } : {}),
        checksum,
        partsCount: chosen.length,
        conditions,
      },
      async (tx) => {
        await this.requireUpload(tx, bucket, key, uploadId);
        const now = await tx
          .selectFrom('s3_parts')
          .select(['part_number', 'blob_id'])
          .where('upload_id', '=', uploadId)
          .execute();
        const current = new Map(now.map((p) => [Number(p.part_number), p.blob_id]));
        for (const p of chosen) {
          if (current.get(Number(p.part_number)) !== p.blob_id)
            throw replacedWhileCompleting(uploadId, Number(p.part_number));
        }
        partBlobs = now.map((p) => p.blob_id);
        await recordCompletion(tx, {
          uploadId,
          bucket,
          key,
          etag,
          parts: chosen.map((p) => ({
            partNumber: Number(p.part_number),
            size: Number(p.size),
            etag: p.etag,
            ...(p.checksum ? { checksum: JSON.parse(p.checksum) as ObjectChecksum } : {}),
          })),
          nowMs: this.deps.clock.nowMs(),
        });
        await tx.deleteFrom('s3_parts').where('upload_id', '=', uploadId).execute();
        await tx.deleteFrom('s3_uploads').where('upload_id', '=', uploadId).execute();
      },
    );
    await blobs.delete(partBlobs);
    return info;
  }

  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    const blobIds = await this.deps.db.transaction().execute(async (tx) => {
      await this.requireUpload(tx, bucket, key, uploadId);
      const rows = await tx
        .selectFrom('s3_parts')
        .select('blob_id')
        .where('upload_id', '=', uploadId)
        .execute();
      await tx.deleteFrom('s3_parts').where('upload_id', '=', uploadId).execute();
      await tx.deleteFrom('s3_uploads').where('upload_id', '=', uploadId).execute();
      return rows.map((r) => r.blob_id);
    });
    await this.deps.blobs.delete(blobIds);
  }

  async listParts(
    bucket: string,
    key: string,
    uploadId: string,
    options: { partNumberMarker?: number; maxParts?: number } = {},
  ) {
    const { db } = this.deps;
    const upload = await this.requireUpload(db, bucket, key, uploadId);
    const maxParts = Math.max(0, Math.min(options.maxParts ?? 1000, 1000));
    const rows = await db
      .selectFrom('s3_parts')
      .selectAll()
      .where('upload_id', '=', uploadId)
      .where('part_number', '>', options.partNumberMarker ?? 0)
      .orderBy('part_number')
      .limit(maxParts + 1)
      .execute();
    const parts: PartInfo[] = rows.slice(0, maxParts).map((r) => ({
      partNumber: Number(r.part_number),
      etag: r.etag,
      size: Number(r.size),
      lastModifiedMs: Number(r.last_modified_ms),
      ...(r.checksum ? { checksum: JSON.parse(r.checksum) as ObjectChecksum } : {}),
    }));
    return {
      upload: {
        uploadId,
        bucket,
        key,
        initiatedAtMs: Number(upload.initiated_at_ms),
        contentType: upload.content_type,
      },
      parts,
      isTruncated: rows.length > maxParts,
    };
  }

  async listUploads(
    bucket: string,
    options: {
      prefix?: string;
      keyMarker?: string;
      uploadIdMarker?: string;
      maxUploads?: number;
    } = {},
  ) {
    const { db } = this.deps;
    await this.deps.requireBucket(db, bucket);
    const maxUploads = Math.max(0, Math.min(options.maxUploads ?? 1000, 1000));
    let q = db.selectFrom('s3_uploads').selectAll().where('bucket', '=', bucket);
    if (options.prefix) q = q.where('key', '>=', options.prefix);
    if (options.keyMarker !== undefined) {
      const km = options.keyMarker;
      const um = options.uploadIdMarker;
      q = um
        ? q.where((eb) =>
            eb.or([eb('key', '>', km), eb.and([eb('key', '=', km), eb('upload_id', '>', um)])]),
          )
        : q.where('key', '>', km);
    }
    const rows = await q
      .orderBy('key')
      .orderBy('upload_id')
      .limit(maxUploads + 1 + 1000)
      .execute();
    const matching = rows.filter((r) => !options.prefix || r.key.startsWith(options.prefix));
    return {
      uploads: matching.slice(0, maxUploads).map((r) => ({
        uploadId: r.upload_id,
        bucket: r.bucket,
        key: r.key,
        initiatedAtMs: Number(r.initiated_at_ms),
      })),
      isTruncated: matching.length > maxUploads,
    };
  }
}

/**
 * The key a part of an encrypted upload is sealed under (a fresh salt each upload of the part, so
 * a re-uploaded part never reuses a key), and its `sse` column. SSE-C parts need the upload's key.
 */
function sealForPart(
  uploadSse: string | null | undefined,
  customerKey: Buffer | undefined,
  masterKey: () => Buffer,
): { key: Buffer; column: string } | undefined {
  const record = parseSse(uploadSse);
  const dataKey =
    record || customerKey
      ? dataKeyOf(masterKey(), record, customerKey, 'InvalidRequest')
      : undefined;
  if (!record || !dataKey) return undefined;
  const salt = newPartSalt();
  return { key: partKey(dataKey, Buffer.from(salt, 'base64')), column: JSON.stringify({ salt }) };
}

/** The completed object's `sse`: the upload's wrapped key plus each part's salt and size. */
function sealedObjectColumn(
  uploadSse: string,
  parts: readonly { readonly sse?: string | null; readonly size: number }[],
): string {
  const record = parseSse(uploadSse)!;
  const out: SseRecord = {
    ...record,
    parts: parts.map((p) => [
      (JSON.parse(p.sse ?? '{}') as { salt?: string }).salt ?? '',
      Number(p.size),
    ]),
  };
  return JSON.stringify(out);
}
