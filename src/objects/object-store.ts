import type { Readable } from 'node:stream';

/**
 * The object store port: buckets and keys in the database, bytes in immutable blobs.
 * The fs adapter keeps blobs under `<dataDir>/blobs/`; an S3 adapter can sit on any S3-compatible
 * store. Other contexts (training staging, hosting, labeling) use this interface directly — they
 * never go through HTTP.
 */
export interface BucketInfo {
  readonly name: string;
  readonly createdAtMs: number;
}

export interface ObjectInfo {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  /** Quoted, as S3 returns it: `"<md5 hex>"` or `"<md5 of md5s>-<parts>"`. */
  readonly etag: string;
  readonly contentType: string;
  readonly lastModifiedMs: number;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface PutObjectOptions {
  readonly contentType?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface ListObjectsOptions {
  readonly prefix?: string;
  readonly delimiter?: string;
  /** Return keys strictly after this one. */
  readonly startAfter?: string;
  readonly maxKeys?: number;
}

export interface ListObjectsResult {
  readonly objects: readonly ObjectInfo[];
  readonly commonPrefixes: readonly string[];
  readonly isTruncated: boolean;
  /** The last key or common prefix returned; continue after it. */
  readonly nextMarker: string | undefined;
}

export interface ObjectStore {
  createBucket(name: string): Promise<void>;
  getBucket(name: string): Promise<BucketInfo | undefined>;
  listBuckets(): Promise<BucketInfo[]>;
  /** @throws when the bucket is not empty. */
  deleteBucket(name: string): Promise<void>;

  /** Streams `body` to a new blob and commits it atomically; readers see old or new, never a mix. */
  putObject(
    bucket: string,
    key: string,
    body: Readable | Buffer | string,
    options?: PutObjectOptions,
  ): Promise<ObjectInfo>;
  headObject(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /** @returns undefined when the key does not exist. `range` is inclusive, as HTTP's. */
  getObject(
    bucket: string,
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ info: ObjectInfo; body: Readable } | undefined>;
  /** Whole object in memory (small objects: manifests, configs). */
  getObjectBuffer(bucket: string, key: string): Promise<Buffer | undefined>;
  deleteObject(bucket: string, key: string): Promise<void>;
  listObjects(bucket: string, options?: ListObjectsOptions): Promise<ListObjectsResult>;
  /**
   * A local file holding the object's bytes, when the backend has one (fs backend): lets staging
   * hard-link or copy without streaming through Node. Never written to.
   */
  localPath?(info: ObjectInfo): Promise<string | undefined>;
}
