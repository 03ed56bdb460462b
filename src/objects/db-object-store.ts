import type { Readable } from 'node:stream';
import { PostgresAdapter, type Kysely, type Transaction } from 'kysely';
import type { Db } from '../store/index.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { BlobStore, WrittenBlob } from './blob-store.js';
import { ObjectStoreError } from './errors.js';
import { objectParts } from './completed-parts.js';
import { listObjectsPage } from './listing.js';
import { MIN_PART_SIZE_BYTES, MultipartUploads, type CommitFields } from './multipart.js';
import { assertBucketName, assertKey } from './names.js';
import type {
  BucketInfo,
  ChecksumCombiner,
  CompletedPart,
  CopyObjectOptions,
  ListObjectsOptions,
  ListObjectsResult,
  MultipartUploadInfo,
  ObjectHandle,
  MultipartChecksum,
  ObjectChecksum,
  ObjectInfo,
  ObjectPart,
  ObjectStore,
  PartInfo,
  PutObjectOptions,
  WriteConditions,
} from './object-store.js';
import { sweepOrphanBlobs } from './sweep.js';
import {
  DEFAULT_CONTENT_TYPE,
  rowToInfo,
  type ObjectRow,
  type ObjectsTables,
  type Tx,
} from './tables.js';
import { checkConditions, md5Check } from './write-rules.js';
import {
  deleteEntry,
  findVersion,
  latestVersion,
  recordVersion,
  setVersioning,
  type DeleteResult,
  type VersioningState,
  type VersionInfo,
} from './versions.js';
import { readTags, writeTags, type TaggedVersion } from './tagging.js';
import {
  listVersionsPage,
  type ListVersionsOptions,
  type ListVersionsResult,
} from './versions-listing.js';
import { integrityOf, verifiedSend, verifyBuffer, verifyStream } from './verified-read.js';
import { MAX_BUFFERED_OBJECT_BYTES, ObjectTooLargeToBufferError } from './object-store.js';

export interface DbObjectStoreOptions {
  readonly db: Db;
  readonly blobs: BlobStore;
  readonly clock?: Clock;
  /** Smallest allowed non-last part of a multipart upload (S3: 5 MiB). */
  readonly minPartSizeBytes?: number;
  /**
   * An unreferenced blob younger than this is left alone by the sweep: it may be a write whose row
   * has not committed yet, on this replica or another (default 0: only this process writes).
   */
  readonly orphanGraceMs?: number;
  /** Sweep again this often (default: only at start). */
  readonly sweepIntervalMs?: number;
  /** Where a failed periodic sweep is reported. */
  readonly onSweepError?: (err: unknown) => void;
}

/**
 * The object store on any blob store: buckets, keys, metadata and multipart state in the
 * database, bytes in immutable blobs. A write streams to a new blob, which is durable before the
 * key → blob row commits in one transaction (re-checking the bucket and any condition); the blob
 * it replaces is deleted after the commit. Readers pin the blob they resolved, so they see the old
 * or the new object, never a mix; a blob no row refers to is swept.
 */
export class DbObjectStore implements ObjectStore {
  private readonly db: Kysely<ObjectsTables>;
  private readonly blobs: BlobStore;
  private readonly clock: Clock;
  private readonly multipart: MultipartUploads;
  private readonly orphanGraceMs: number;
  private readonly sweepIntervalMs: number | undefined;
  private readonly onSweepError: (err: unknown) => void;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** PostgreSQL: writes lock the bucket row (SQLite's single writer serialises them already). */
  private readonly rowLocks: boolean;
  /**
   * Buckets seen to exist: spares a query before each upload streams. Only a hint — every commit
   * checks the bucket again inside its transaction (another replica may have deleted it).
   */
  private readonly knownBuckets = new Set<string>();

  constructor(options: DbObjectStoreOptions) {
    this.db = options.db.withTables<ObjectsTables>() as unknown as Kysely<ObjectsTables>;
    this.blobs = options.blobs;
    this.rowLocks = this.db.getExecutor().adapter instanceof PostgresAdapter;
    this.clock = options.clock ?? systemClock;
    this.orphanGraceMs = options.orphanGraceMs ?? 0;
    this.sweepIntervalMs = options.sweepIntervalMs;
    this.onSweepError = options.onSweepError ?? (() => undefined);
    this.multipart = new MultipartUploads({
      db: this.db,
      blobs: this.blobs,
      clock: this.clock,
      minPartSize: options.minPartSizeBytes ?? MIN_PART_SIZE_BYTES,
      requireBucket: async (tx, name) => {
        await this.requireBucket(tx, name);
      },
      writeBlob: (body, md5) => this.writeBlob(body, md5),
      commitObject: (bucket, key, blobId, fields, inTx) =>
        this.commitObject(bucket, key, blobId, fields, inTx),
    });
  }

  /** Which blob store holds the bytes. */
  get blobStoreKind(): BlobStore['kind'] {
    return this.blobs.kind;
  }

  /**
   * Prepares the blob store (deleting half-written temp files), then sweeps blobs no row refers
   * to (older than the grace period) and, when asked, keeps sweeping in the background.
   */
  async start(): Promise<{ tempFilesRemoved: number; orphanBlobsRemoved: number }> {
    const { tempFilesRemoved } = await this.blobs.start();
    for (const b of await this.db.selectFrom('s3_buckets').select('name').execute())
      this.knownBuckets.add(b.name);
    const { orphanBlobsRemoved } = await this.sweep();
    if (this.sweepIntervalMs !== undefined && !this.sweepTimer) {
      this.sweepTimer = setInterval(
        () => void this.sweep().catch(this.onSweepError),
        this.sweepIntervalMs,
      );
      this.sweepTimer.unref();
    }
    return { tempFilesRemoved, orphanBlobsRemoved };
  }

  /** Deletes unreferenced blobs older than the grace period (`graceMs` overrides it). */
  sweep(
    graceMs = this.orphanGraceMs,
  ): Promise<{ orphanBlobsRemoved: number; staleUploadsAborted: number }> {
    return sweepOrphanBlobs(this.db, this.blobs, graceMs);
  }

  /** Stops the background sweep. */
  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  // ---- buckets ----

  async createBucket(name: string): Promise<void> {
    assertBucketName(name);
    await this.db.transaction().execute(async (tx) => {
      const existing = await tx
        .selectFrom('s3_buckets')
        .select('name')
        .where('name', '=', name)
        .executeTakeFirst();
      if (existing) {
        throw new ObjectStoreError(
          'BucketAlreadyOwnedByYou',
          'Your previous request to create the named bucket succeeded and you already own it.',
          { BucketName: name },
        );
      }
      await tx
        .insertInto('s3_buckets')
        .values({ name, created_at_ms: this.clock.nowMs(), versioning: null, tags: null })
        .execute();
    });
    this.knownBuckets.add(name);
  }

  async getBucket(name: string): Promise<BucketInfo | undefined> {
    const row = await this.db
      .selectFrom('s3_buckets')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? { name: row.name, createdAtMs: Number(row.created_at_ms) } : undefined;
  }

  async listBuckets(): Promise<BucketInfo[]> {
    const rows = await this.db.selectFrom('s3_buckets').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, createdAtMs: Number(r.created_at_ms) }));
  }

  async deleteBucket(name: string): Promise<void> {
    const blobIds = await this.db.transaction().execute(async (tx) => {
      await this.requireBucket(tx, name);
      const one = await tx
        .selectFrom('s3_objects')
        .select('key')
        .where('bucket', '=', name)
        .limit(1)
        .executeTakeFirst();
      const version = one
        ? undefined
        : await tx
            .selectFrom('s3_versions')
            .select('key')
            .where('bucket', '=', name)
            .limit(1)
            .executeTakeFirst();
      if (one || version) {
        throw new ObjectStoreError(
          'BucketNotEmpty',
          'The bucket you tried to delete is not empty.',
          { BucketName: name },
        );
      }
      const uploads = await tx
        .selectFrom('s3_uploads')
        .select('upload_id')
        .where('bucket', '=', name)
        .execute();
      const ids = uploads.map((u) => u.upload_id);
      let partBlobs: string[] = [];
      if (ids.length > 0) {
        partBlobs = (
          await tx.selectFrom('s3_parts').select('blob_id').where('upload_id', 'in', ids).execute()
        ).map((p) => p.blob_id);
        await tx.deleteFrom('s3_parts').where('upload_id', 'in', ids).execute();
        await tx.deleteFrom('s3_uploads').where('bucket', '=', name).execute();
      }
      await tx.deleteFrom('s3_buckets').where('name', '=', name).execute();
      return partBlobs;
    });
    this.knownBuckets.delete(name);
    await this.blobs.delete(blobIds);
  }

  /** Before streaming: a cached positive answer will do (the commit checks again). */
  private async precheckBucket(name: string): Promise<void> {
    if (this.knownBuckets.has(name)) return;
    await this.requireBucket(this.db, name);
    this.knownBuckets.add(name);
  }

  /**
   * @returns the bucket's versioning state. @throws NoSuchBucket. `lock` (a transaction that
   * writes versions): on PostgreSQL the bucket row stays locked until the commit, so a write never
   * reads the state a concurrent PutBucketVersioning is changing, and two writes of one key never
   * take the same version sequence number.
   */
  private async requireBucket(tx: Tx, name: string, lock = false): Promise<VersioningState> {
    let q = tx.selectFrom('s3_buckets').select(['name', 'versioning']).where('name', '=', name);
    if (lock && this.rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) {
      throw new ObjectStoreError('NoSuchBucket', 'The specified bucket does not exist.', {
        BucketName: name,
      });
    }
    return row.versioning === 'Enabled' || row.versioning === 'Suspended' ? row.versioning : null;
  }

  // ---- objects ----

  private async writeBlob(
    body: Readable | Buffer | string,
    contentMd5: string | undefined,
  ): Promise<WrittenBlob> {
    const blob = await this.blobs.write(body);
    try {
      md5Check(contentMd5, blob.md5);
    } catch (err) {
      await this.blobs.delete([blob.id]);
      throw err;
    }
    return blob;
  }

  async putObject(
    bucket: string,
    key: string,
    body: Readable | Buffer | string,
    options: PutObjectOptions = {},
  ): Promise<ObjectInfo> {
    assertKey(key);
    await this.precheckBucket(bucket);
    const blob = await this.writeBlob(body, options.contentMd5);
    return this.commitObject(bucket, key, blob.id, {
      size: blob.size,
      etag: `"${blob.md5.toString('hex')}"`,
      contentType: options.contentType,
      metadata: options.metadata,
      headers: options.headers,
      checksum: options.checksum,
      partsCount: undefined,
      conditions: options,
      ...(options.tags ? { tags: options.tags } : {}),
    });
  }

  /** Commits `blobId` as the object; removes the blob it replaces, or `blobId` itself on failure. */
  private async commitObject(
    bucket: string,
    key: string,
    blobId: string,
    o: CommitFields,
    inTx?: (tx: Transaction<ObjectsTables>) => Promise<void>,
  ): Promise<ObjectInfo> {
    const row: ObjectRow = {
      bucket,
      key,
      blob_id: blobId,
      size: o.size,
      etag: o.etag,
      content_type: o.contentType || DEFAULT_CONTENT_TYPE,
      metadata: JSON.stringify(o.metadata ?? {}),
      headers: JSON.stringify(o.headers ?? {}),
      checksum: o.checksum ? JSON.stringify(o.checksum) : null,
      parts_count: o.partsCount ?? null,
      last_modified_ms: this.clock.nowMs(),
      version_id: null,
      tags: o.tags && Object.keys(o.tags).length > 0 ? JSON.stringify(o.tags) : null,
    };
    let replaced: string[] = [];
    try {
      replaced = await this.db.transaction().execute(async (tx) => {
        const versioning = await this.requireBucket(tx, bucket, true);
        const old = await tx
          .selectFrom('s3_objects')
          .select(['blob_id', 'etag'])
          .where('bucket', '=', bucket)
          .where('key', '=', key)
          .executeTakeFirst();
        checkConditions(old, o.conditions, key);
        if (inTx) await inTx(tx);
        // Versioned: the old blob stays with its version; only a replaced `null` version frees one.
        const freed = versioning ? await recordVersion(tx, versioning, row) : undefined;
        if (old) {
          const { bucket: _b, key: _k, ...rest } = row;
          await tx
            .updateTable('s3_objects')
            .set(rest)
            .where('bucket', '=', bucket)
            .where('key', '=', key)
            .execute();
        } else {
          await tx.insertInto('s3_objects').values(row).execute();
        }
        return freed ?? (old ? [old.blob_id] : []);
      });
    } catch (err) {
      await this.blobs.delete([blobId]);
      throw err;
    }
    const stale = replaced.filter((id) => id !== blobId);
    if (stale.length > 0) await this.blobs.delete(stale);
    return rowToInfo(row);
  }

  private selectObject(bucket: string, key: string) {
    return this.db
      .selectFrom('s3_objects')
      .selectAll()
      .where('bucket', '=', bucket)
      .where('key', '=', key)
      .executeTakeFirst();
  }

  /** A version's row as an object row; @throws NoSuchVersion, MethodNotAllowed (a delete marker). */
  private async selectVersion(bucket: string, key: string, versionId: string) {
    const state = await this.requireBucket(this.db, bucket);
    const { info, blobId } = await findVersion(this.db, state, bucket, key, versionId);
    if (info.isDeleteMarker || blobId === null) {
      throw new ObjectStoreError(
        'MethodNotAllowed',
        'The specified method is not allowed against this resource: the version is a delete marker.',
        { Key: key, VersionId: versionId },
      );
    }
    const { versionId: _v, isDeleteMarker: _d, ...rest } = info;
    return {
      bucket,
      key,
      blob_id: blobId,
      size: rest.size,
      etag: rest.etag,
      content_type: rest.contentType,
      metadata: JSON.stringify(rest.metadata),
      headers: JSON.stringify(rest.headers ?? {}),
      checksum: rest.checksum ? JSON.stringify(rest.checksum) : null,
      parts_count: rest.partsCount ?? null,
      last_modified_ms: rest.lastModifiedMs,
      version_id: versionId,
      tags: rest.tags ? JSON.stringify(rest.tags) : null,
    } satisfies ObjectRow;
  }

  async headObject(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const row = await this.selectObject(bucket, key);
    if (row) return rowToInfo(row);
    await this.requireBucket(this.db, bucket);
    return undefined;
  }

  /**
   * Opens the current version of an object and pins it: the handle reads that version even when
   * a newer one commits meanwhile. Call `read` once, or `close`.
   */
  async openObject(
    bucket: string,
    key: string,
    versionId?: string,
  ): Promise<ObjectHandle | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const row =
        versionId === undefined
          ? await this.selectObject(bucket, key)
          : await this.selectVersion(bucket, key, versionId);
      if (!row) {
        await this.requireBucket(this.db, bucket);
        return undefined;
      }
      const info = rowToInfo(row);
      const blob = await this.blobs.open(row.blob_id, info.size);
      // Replaced and removed between the lookup and the open: look again.
      if (!blob) continue;
      // Whole reads are checked against the ETag (bit rot never reaches a client as 200); a
      // multipart object part by part, when its part sizes are known.
      const where = `s3://${bucket}/${key}`;
      const want = integrityOf(
        info,
        info.partsCount !== undefined ? await objectParts(this.db, bucket, key, info.etag) : [],
      );
      return {
        info,
        read: (range) =>
          range ? blob.read(range) : verifyStream(info, blob.read(undefined), where, want),
        readBuffer: async (range) =>
          range
            ? blob.readBuffer(range)
            : verifyBuffer(info, await blob.readBuffer(undefined), where, want),
        // Straight to the socket; a whole read is verified against its ETag on the way.
        ...(blob.send
          ? {
              send: (range, out) =>
                range
                  ? blob.send!(range, out)
                  : verifiedSend(info, (o) => blob.send!(undefined, o), out, where, want),
            }
          : {}),
        close: () => blob.close(),
      };
    }
    throw new Error('the object kept changing while it was being opened');
  }

  async getObject(
    bucket: string,
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ info: ObjectInfo; body: Readable } | undefined> {
    const handle = await this.openObject(bucket, key);
    if (!handle) return undefined;
    return { info: handle.info, body: handle.read(range) };
  }

  async getObjectBuffer(
    bucket: string,
    key: string,
    maxBytes = MAX_BUFFERED_OBJECT_BYTES,
  ): Promise<Buffer | undefined> {
    const handle = await this.openObject(bucket, key);
    if (!handle) return undefined;
    // Checked before a byte is read: a multi-GB object must never be pulled into memory.
    if (handle.info.size > maxBytes)
      throw new ObjectTooLargeToBufferError(bucket, key, handle.info.size, maxBytes);
    return handle.readBuffer();
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await this.deleteObjects(bucket, [key]);
  }

  /**
   * Deletes keys (a delete marker each in a versioned bucket) or named versions, up to 1,000 in
   * one transaction; what does not exist counts as deleted (as in S3).
   */
  async deleteObjectVersions(
    bucket: string,
    entries: readonly { key: string; versionId?: string }[],
  ): Promise<DeleteResult[]> {
    const results: DeleteResult[] = [];
    const blobIds = await this.db.transaction().execute(async (tx) => {
      const state = await this.requireBucket(tx, bucket, true);
      const freed: string[] = [];
      for (const e of entries) {
        const r = await deleteEntry(tx, state, bucket, e.key, e.versionId, this.clock.nowMs());
        results.push(r.result);
        freed.push(...r.freed);
      }
      return freed;
    });
    await this.blobs.delete(blobIds);
    return results;
  }

  /**
   * Runs `work` in one transaction with the bucket's versioning state (the bucket row locked, as
   * every version write) and frees the blobs it returns after the commit: the lifecycle sweep's
   * deletes, which re-check what they expire inside it. @throws NoSuchBucket.
   */
  async inBucketTransaction<T>(
    bucket: string,
    work: (tx: Tx, state: VersioningState, nowMs: number) => Promise<{ value: T; freed: string[] }>,
  ): Promise<T> {
    const { value, freed } = await this.db.transaction().execute(async (tx) => {
      const state = await this.requireBucket(tx, bucket, true);
      return work(tx, state, this.clock.nowMs());
    });
    if (freed.length > 0) await this.blobs.delete(freed);
    return value;
  }

  /** The bucket's versioning state (null: never enabled). */
  async getBucketVersioning(bucket: string): Promise<VersioningState> {
    return this.requireBucket(this.db, bucket);
  }

  /** Enables or suspends versioning of a bucket. */
  async putBucketVersioning(bucket: string, status: 'Enabled' | 'Suspended'): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const current = await this.requireBucket(tx, bucket, true);
      await setVersioning(tx, bucket, current, status);
    });
  }

  /** One version or delete marker of a key. @throws NoSuchVersion. */
  async getObjectVersion(bucket: string, key: string, versionId: string): Promise<VersionInfo> {
    const state = await this.requireBucket(this.db, bucket);
    return (await findVersion(this.db, state, bucket, key, versionId)).info;
  }

  /** The latest version or delete marker of a key (versioned buckets; undefined otherwise). */
  async getLatestVersion(bucket: string, key: string): Promise<VersionInfo | undefined> {
    const state = await this.requireBucket(this.db, bucket);
    return state === null ? undefined : latestVersion(this.db, bucket, key);
  }

  async listObjectVersions(
    bucket: string,
    options: ListVersionsOptions = {},
  ): Promise<ListVersionsResult> {
    const state = await this.requireBucket(this.db, bucket);
    return listVersionsPage(this.db, bucket, state, options);
  }

  async getObjectTagging(bucket: string, key: string, versionId?: string): Promise<TaggedVersion> {
    const state = await this.requireBucket(this.db, bucket);
    return readTags(this.db, state, bucket, key, versionId);
  }

  async putObjectTagging(
    bucket: string,
    key: string,
    versionId: string | undefined,
    tags: Readonly<Record<string, string>>,
  ): Promise<TaggedVersion> {
    return this.db.transaction().execute(async (tx) => {
      const state = await this.requireBucket(tx, bucket);
      return writeTags(tx, state, bucket, key, versionId, tags);
    });
  }

  async getBucketTagging(bucket: string): Promise<Record<string, string> | undefined> {
    await this.requireBucket(this.db, bucket);
    const row = await this.db
      .selectFrom('s3_buckets')
      .select('tags')
      .where('name', '=', bucket)
      .executeTakeFirst();
    return row?.tags ? (JSON.parse(row.tags) as Record<string, string>) : undefined;
  }

  async putBucketTagging(
    bucket: string,
    tags: Readonly<Record<string, string>> | undefined,
  ): Promise<void> {
    await this.requireBucket(this.db, bucket);
    await this.db
      .updateTable('s3_buckets')
      .set({ tags: tags ? JSON.stringify(tags) : null })
      .where('name', '=', bucket)
      .execute();
  }

  /** Deletes up to 1,000 keys in one transaction; missing keys count as deleted (as in S3). */
  async deleteObjects(bucket: string, keys: readonly string[]): Promise<void> {
    const blobIds = await this.db.transaction().execute(async (tx) => {
      const state = await this.requireBucket(tx, bucket, true);
      if (state !== null) {
        const freed: string[] = [];
        const now = this.clock.nowMs();
        for (const key of keys)
          freed.push(...(await deleteEntry(tx, state, bucket, key, undefined, now)).freed);
        return freed;
      }
      const found: string[] = [];
      for (let i = 0; i < keys.length; i += 500) {
        const slice = keys.slice(i, i + 500);
        const rows = await tx
          .selectFrom('s3_objects')
          .select('blob_id')
          .where('bucket', '=', bucket)
          .where('key', 'in', slice)
          .execute();
        for (const r of rows) found.push(r.blob_id);
        await tx
          .deleteFrom('s3_objects')
          .where('bucket', '=', bucket)
          .where('key', 'in', slice)
          .execute();
      }
      return found;
    });
    await this.blobs.delete(blobIds);
  }

  async listObjects(bucket: string, options: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    await this.requireBucket(this.db, bucket);
    return listObjectsPage(this.db, bucket, options);
  }

  /** The blob file of the object's current version (fs backend only; undefined otherwise). */
  async localPath(info: ObjectInfo): Promise<string | undefined> {
    if (!this.blobs.localPath) return undefined;
    const row = await this.db
      .selectFrom('s3_objects')
      .select('blob_id')
      .where('bucket', '=', info.bucket)
      .where('key', '=', info.key)
      .executeTakeFirst();
    return row ? this.blobs.localPath(row.blob_id) : undefined;
  }

  async copyObject(
    source: { bucket: string; key: string; versionId?: string },
    target: { bucket: string; key: string },
    options: CopyObjectOptions = {},
  ): Promise<ObjectInfo> {
    assertKey(target.key);
    await this.requireBucket(this.db, target.bucket);
    const replace = options.metadataDirective === 'REPLACE';
    if (
      source.bucket === target.bucket &&
      source.key === target.key &&
      source.versionId === undefined &&
      !replace
    ) {
      throw new ObjectStoreError(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const row =
        source.versionId === undefined
          ? await this.selectObject(source.bucket, source.key)
          : await this.selectVersion(source.bucket, source.key, source.versionId);
      if (!row) {
        await this.requireBucket(this.db, source.bucket);
        throw new ObjectStoreError('NoSuchKey', 'The specified key does not exist.', {
          Key: source.key,
        });
      }
      const src = rowToInfo(row);
      const id = await this.blobs.copy(row.blob_id, src.size);
      // The source was replaced and its blob removed meanwhile: copy the new version.
      if (id === undefined) continue;
      return this.commitObject(target.bucket, target.key, id, {
        size: src.size,
        etag: src.etag,
        contentType: replace ? options.contentType : src.contentType,
        metadata: replace ? options.metadata : src.metadata,
        headers: replace ? options.headers : src.headers,
        checksum: src.checksum,
        partsCount: src.partsCount,
        conditions: options,
        ...((options.taggingDirective === 'REPLACE' ? options.tags : src.tags)
          ? { tags: options.taggingDirective === 'REPLACE' ? options.tags : src.tags }
          : {}),
      });
    }
    throw new Error('the source object kept changing while it was being copied');
  }

  // ---- multipart (multipart.ts) ----

  createMultipartUpload(
    bucket: string,
    key: string,
    options?: PutObjectOptions & { readonly multipartChecksum?: MultipartChecksum },
  ): Promise<MultipartUploadInfo> {
    return this.multipart.create(bucket, key, options);
  }

  uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable | Buffer | string,
    options?: { contentMd5?: string; readonly checksum?: ObjectChecksum },
  ): Promise<PartInfo> {
    return this.multipart.uploadPart(bucket, key, uploadId, partNumber, body, options);
  }

  completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
    conditions?: WriteConditions & { readonly combineChecksum?: ChecksumCombiner },
  ): Promise<ObjectInfo> {
    return this.multipart.complete(bucket, key, uploadId, parts, conditions);
  }

  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    return this.multipart.abort(bucket, key, uploadId);
  }

  async objectParts(bucket: string, key: string, etag: string): Promise<ObjectPart[]> {
    return objectParts(this.db, bucket, key, etag);
  }

  listParts(
    bucket: string,
    key: string,
    uploadId: string,
    options?: { partNumberMarker?: number; maxParts?: number },
  ) {
    return this.multipart.listParts(bucket, key, uploadId, options);
  }

  listMultipartUploads(
    bucket: string,
    options?: { prefix?: string; keyMarker?: string; uploadIdMarker?: string; maxUploads?: number },
  ) {
    return this.multipart.listUploads(bucket, options);
  }
}
