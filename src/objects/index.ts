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
} from './object-store.js';
export { CHECKSUM_ALGORITHMS } from './object-store.js';
export { ObjectStoreError, isObjectStoreError, type ObjectErrorCode } from './errors.js';
export { bucketNameProblem, assertBucketName, assertKey, MAX_KEY_BYTES } from './names.js';
export { objectsMigrations } from './migrations.js';
export { FsObjectStore, MIN_PART_SIZE_BYTES, MAX_PART_NUMBER } from './fs/fs-object-store.js';

import type { Db } from '../store/index.js';
import type { Clock } from '../shared/clock.js';
import { FsObjectStore } from './fs/fs-object-store.js';

/**
 * Builds the object store the settings pick (today: the fs backend under `<dataDir>`), sweeping
 * temp files and unreferenced blobs left by a crash before it returns.
 */
export async function createObjectStore(opts: {
  db: Db;
  dataDir: string;
  clock?: Clock;
  minPartSizeBytes?: number;
  /** fsync each blob before it commits (default true). */
  fsync?: boolean;
}): Promise<FsObjectStore> {
  const store = new FsObjectStore(opts);
  await store.start();
  return store;
}
