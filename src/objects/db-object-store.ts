// Over 500 lines on purpose: this is the `ObjectStore` port's facade, each method a few lines
// handing over to the module that holds the logic (buckets, object-write, versions, tagging,
// listing, multipart, encryption); splitting the class would scatter one interface.
import type { Readable } from 'node:stream';
import { PostgresAdapter, type Kysely } from 'kysely';
import type { Db } from '../store/index.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { BlobStore } from './blob-store.js';
import { insertBucket, removeEmptyBucket, requireBucket, type StoreCore } from './buckets.js';
import { objectParts } from './completed-parts.js';
import { listObjectsPage } from './listing.js';
import { MIN_PART_SIZE_BYTES, MultipartUploads } from './multipart.js';
import { assertBucketName, assertKey } from './names.js';
import { copyObject } from './object-copy.js';
import { removeKeys } from './object-deletes.js';
import { openObject } from './object-handle.js';
import { selectObject } from './object-rows.js';
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
import { commitObject, writeBlob } from './object-write.js';
import { sweepOrphanBlobs } from './sweep.js';
import { rowToInfo, type ObjectsTables, type Tx } from './tables.js';
import {
  deleteEntry,
  findVersion,
  latestVersion,
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
import { MAX_BUFFERED_OBJECT_BYTES, ObjectTooLargeToBufferError } from './object-store.js';
import { SseKeys } from './encryption/sse-keys.js';
import {
  readBucketEncryption,
  writeBucketEncryption,
  type BucketEncryption,
} from './encryption/bucket-encryption.js';

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
  /** The SSE-S3 master key (encryption/keys.ts loadMasterKey); without it SSE is refused. */
  readonly masterKey?: Buffer;
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
  /** What the parts in buckets.ts, object-write.ts, object-handle.ts, object-copy.ts share. */
  private readonly core: StoreCore;
  private readonly multipart: MultipartUploads;
  private readonly orphanGraceMs: number;
  private readonly sweepIntervalMs: number | undefined;
  private readonly onSweepError: (err: unknown) => void;
  private sweepTimer: NodeJS.Timeout | undefined;
  /**
   * Buckets seen to exist: spares a query before each upload streams. Only a hint — every commit
   * checks the bucket again inside its transaction (another replica may have deleted it).
   */
  private readonly knownBuckets = new Set<string>();

  constructor(options: DbObjectStoreOptions) {
    this.db = options.db.withTables<ObjectsTables>() as unknown as Kysely<ObjectsTables>;
    this.blobs = options.blobs;
    this.clock = options.clock ?? systemClock;
    this.orphanGraceMs = options.orphanGraceMs ?? 0;
    this.sweepIntervalMs = options.sweepIntervalMs;
    this.onSweepError = options.onSweepError ?? (() => undefined);
    const core: StoreCore = {
      db: this.db,
      blobs: this.blobs,
      clock: this.clock,
      sse: new SseKeys(options.masterKey),
      rowLocks: this.db.getExecutor().adapter instanceof PostgresAdapter,
    };
    this.core = core;
    this.multipart = new MultipartUploads({
      db: this.db,
      blobs: this.blobs,
      clock: this.clock,
      minPartSize: options.minPartSizeBytes ?? MIN_PART_SIZE_BYTES,
      requireBucket: async (tx, name) => {
        await this.requireBucket(tx, name);
      },
      writeBlob: (body, md5, sealKey) => writeBlob(core, body, md5, sealKey),
      masterKey: () => core.sse.masterKey(),
      commitObject: (bucket, key, blobId, fields, inTx) =>
        commitObject(core, bucket, key, blobId, fields, inTx),
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
    await insertBucket(this.core, name);
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
    const blobIds = await removeEmptyBucket(this.core, name);
    this.knownBuckets.delete(name);
    await this.blobs.delete(blobIds);
  }

  /** Before streaming: a cached positive answer will do (the commit checks again). */
  private async precheckBucket(name: string): Promise<void> {
    if (this.knownBuckets.has(name)) return;
    await this.requireBucket(this.db, name);
    this.knownBuckets.add(name);
  }

  /** The bucket's versioning state (buckets.ts requireBucket). @throws NoSuchBucket. */
  private requireBucket(tx: Tx, name: string, lock = false): Promise<VersioningState> {
    return requireBucket(this.core, tx, name, lock);
  }

  // ---- objects ----

  async putObject(
    bucket: string,
    key: string,
    body: Readable | Buffer | string,
    options: PutObjectOptions = {},
  ): Promise<ObjectInfo> {
    assertKey(key);
    await this.precheckBucket(bucket);
    const sse = await this.core.sse.forWrite(this.db, bucket, options.sse);
    const blob = await writeBlob(this.core, body, options.contentMd5, sse?.dataKey);
    return commitObject(this.core, bucket, key, blob.id, {
      ...(sse ? { sse: JSON.stringify(sse.record) } : {}),
      size: blob.size,
      etag: `"${blob.md5.toString('hex')}"`,
      contentType: options.contentType,
      metadata: options.metadata,
      headers: options.headers,
      checksum: options.checksum,
      partsCount: undefined,
      conditions: options,
      ...(options.tags ? { tags: options.tags } : {}),
      ...(blob.crc32 !== undefined ? { crc32: blob.crc32 } : {}),
    });
  }

  async headObject(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const row = await selectObject(this.core, bucket, key);
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
    customerKey?: Buffer,
  ): Promise<ObjectHandle | undefined> {
    return openObject(this.core, bucket, key, versionId, customerKey);
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
    const blobIds = await removeKeys(this.core, bucket, keys);
    await this.blobs.delete(blobIds);
  }

  async listObjects(bucket: string, options: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    await this.requireBucket(this.db, bucket);
    return listObjectsPage(this.db, bucket, options);
  }

  /**
   * The blob file of the object's current version (fs backend only; undefined otherwise, and for
   * an encrypted object: its file holds ciphertext).
   */
  async localPath(info: ObjectInfo): Promise<string | undefined> {
    if (!this.blobs.localPath) return undefined;
    const row = await this.db
      .selectFrom('s3_objects')
      .select(['blob_id', 'sse'])
      .where('bucket', '=', info.bucket)
      .where('key', '=', info.key)
      .executeTakeFirst();
    return row && !row.sse ? this.blobs.localPath(row.blob_id) : undefined;
  }

  // ---- bucket default encryption (encryption/bucket-encryption.ts) ----

  /** The bucket's default encryption; undefined when none. @throws NoSuchBucket. */
  async getBucketEncryption(bucket: string): Promise<BucketEncryption | undefined> {
    await this.requireBucket(this.db, bucket);
    return readBucketEncryption(this.db, bucket);
  }

  /** Sets (undefined: removes) the bucket's default encryption. @throws NoSuchBucket. */
  async putBucketEncryption(bucket: string, config: BucketEncryption | undefined): Promise<void> {
    await this.requireBucket(this.db, bucket);
    await writeBucketEncryption(this.db, bucket, config);
  }

  async copyObject(
    source: { bucket: string; key: string; versionId?: string },
    target: { bucket: string; key: string },
    options: CopyObjectOptions = {},
  ): Promise<ObjectInfo> {
    assertKey(target.key);
    return copyObject(this.core, source, target, options);
  }

  // ---- multipart (multipart.ts) ----

  async createMultipartUpload(
    bucket: string,
    key: string,
    options?: PutObjectOptions & { readonly multipartChecksum?: MultipartChecksum },
  ): Promise<MultipartUploadInfo> {
    await this.requireBucket(this.db, bucket);
    const sse = await this.core.sse.uploadColumn(this.db, bucket, options?.sse);
    return this.multipart.create(bucket, key, options, sse);
  }

  uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable | Buffer | string,
    options?: {
      contentMd5?: string;
      readonly checksum?: ObjectChecksum;
      readonly customerKey?: Buffer;
    },
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
