export type {
  ObjectStore,
  ObjectInfo,
  ObjectHandle,
  ObjectChecksum,
  ChecksumAlgorithm,
  BucketInfo,
  PutObjectOptions,
  CopyObjectOptions,
  WriteConditions,
  ListObjectsOptions,
  ListObjectsResult,
  MultipartUploadInfo,
  PartInfo,
  CompletedPart,
  ObjectPart,
  MultipartChecksum,
  ChecksumType,
  ChecksumCombiner,
} from './object-store.js';
export {
  CHECKSUM_ALGORITHMS,
  MAX_BUFFERED_OBJECT_BYTES,
  ObjectTooLargeToBufferError,
} from './object-store.js';
export { ObjectStoreError, isObjectStoreError, type ObjectErrorCode } from './errors.js';
export { bucketNameProblem, assertBucketName, assertKey, MAX_KEY_BYTES } from './names.js';
export { objectsMigrations } from './migrations.js';
export {
  NULL_VERSION,
  type VersioningState,
  type VersionInfo,
  type DeleteResult,
} from './versions.js';
export type { ListVersionsOptions, ListVersionsResult } from './versions-listing.js';
export type { TaggedVersion } from './tagging.js';
export { BucketCorsRepository, type BucketCorsStore, type CorsRule } from './bucket-cors.js';
export { BucketLifecycleRepository, type BucketLifecycleStore } from './lifecycle/store.js';
export {
  DAY_MS as LIFECYCLE_DAY_MS,
  objectExpiration,
  uploadAbortion,
  type LifecycleFilter,
  type LifecycleRule,
  type LifecycleTag,
} from './lifecycle/rules.js';
export { LifecycleSweeper, sweepLifecycle } from './lifecycle/sweep.js';
export type { BlobStore } from './blob-store.js';
export { DbObjectStore } from './db-object-store.js';
export { copySourceKeyError, type SseWrite } from './encryption/sealed.js';
export type { BucketEncryption } from './encryption/bucket-encryption.js';
export { MIN_PART_SIZE_BYTES, MAX_PART_NUMBER } from './multipart.js';
export { FsBlobStore } from './fs/fs-blob-store.js';
export { InlineBlobStore, DEFAULT_INLINE_MAX_BYTES } from './inline-blobs.js';
export { S3BlobStore, type S3BlobStoreOptions } from './s3/s3-blob-store.js';

import type { Db } from '../store/index.js';
import type { Clock } from '../shared/clock.js';
import { join } from 'node:path';
import { DbObjectStore } from './db-object-store.js';
import { loadMasterKey } from './encryption/keys.js';
import { FsBlobStore } from './fs/fs-blob-store.js';
import { DEFAULT_INLINE_MAX_BYTES, InlineBlobStore } from './inline-blobs.js';
import { S3BlobStore, type S3BlobStoreOptions } from './s3/s3-blob-store.js';

/** Which blob store holds object bytes (the shape of the settings' `blobStore`). */
export type BlobStoreChoice =
  { readonly kind: 'fs' } | ({ readonly kind: 's3' } & S3BlobStoreOptions);

/**
 * An unreferenced external blob younger than this is not swept: another replica may be about to
 * commit it (S3 dates a multipart upload's object by when the upload began, so this must outlast
 * the longest upload).
 */
const S3_ORPHAN_GRACE_MS = 24 * 3600 * 1000;
const S3_SWEEP_INTERVAL_MS = 3600 * 1000;

/**
 * Builds the object store the settings pick: blob files under `<dataDir>` (default) or an external
 * S3 bucket; sweeps what a crash left (temp files, unreferenced blobs) before it returns.
 * @throws when the external bucket does not answer.
 */
export async function createObjectStore(opts: {
  db: Db;
  dataDir: string;
  blobStore?: BlobStoreChoice;
  clock?: Clock;
  minPartSizeBytes?: number;
  /** fsync each blob before it commits (fs; default true). */
  fsync?: boolean;
  /** Blobs up to this size live in the database (`inline-blobs.ts`); 0 turns it off. */
  inlineMaxBytes?: number;
  /** Where a failed background sweep is reported. */
  onSweepError?: (err: unknown) => void;
  /** The SSE-S3 master key file (default `<dataDir>/sse-master.key`, created at first start). */
  sseMasterKeyFile?: string;
}): Promise<DbObjectStore> {
  const choice = opts.blobStore ?? { kind: 'fs' };
  const external = choice.kind === 's3';
  const inner = external
    ? new S3BlobStore(choice)
    : new FsBlobStore({ dataDir: opts.dataDir, fsync: opts.fsync ?? true });
  const inlineMaxBytes = opts.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES;
  const store = new DbObjectStore({
    db: opts.db,
    blobs: inlineMaxBytes > 0 ? new InlineBlobStore(opts.db, inner, inlineMaxBytes) : inner,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.minPartSizeBytes !== undefined ? { minPartSizeBytes: opts.minPartSizeBytes } : {}),
    // The fs store belongs to this process alone, so at start every unreferenced blob is garbage.
    orphanGraceMs: external ? S3_ORPHAN_GRACE_MS : 0,
    ...(external ? { sweepIntervalMs: S3_SWEEP_INTERVAL_MS } : {}),
    ...(opts.onSweepError ? { onSweepError: opts.onSweepError } : {}),
    masterKey: loadMasterKey(opts.sseMasterKeyFile ?? join(opts.dataDir, 'sse-master.key')),
  });
  await store.start();
  return store;
}
export * from './access/index.js';
