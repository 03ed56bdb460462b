import type { Readable } from 'node:stream';
import type { SendTarget } from './blob-store.js';
import type { DeleteResult, VersioningState, VersionInfo } from './versions.js';
import type { TaggedVersion } from './tagging.js';
import type { SseWrite } from './encryption/sealed.js';
import type { BucketEncryption } from './encryption/bucket-encryption.js';
import type { ListVersionsOptions, ListVersionsResult } from './versions-listing.js';

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

/** Metadata of a stored object: size, ETag, content type, user metadata, checksum, times. */
export interface ObjectInfo {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  /** Quoted, as S3 returns it: `"<md5 hex>"` or `"<md5 of md5s>-<parts>"`. */
  readonly etag: string;
  readonly contentType: string;
  readonly lastModifiedMs: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** Content-Encoding, Content-Disposition, Content-Language, Cache-Control, Expires as stored. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The checksum the uploader sent (`x-amz-checksum-<algorithm>`), when it sent one. */
  readonly checksum?: ObjectChecksum;
  /** Number of parts for objects made by a multipart upload. */
  readonly partsCount?: number;
  /** The version id ('null' or an id) in a bucket that has had versioning; absent otherwise. */
  readonly versionId?: string;
  /** The object's tags (ObjectTagging), when it has any. */
  readonly tags?: Readonly<Record<string, string>>;
  /** How the bytes are encrypted at rest (encryption/sealed.ts); absent: stored plain. */
  readonly encryption?: 'SSE-S3' | 'SSE-C';
  /**
   * The CRC32 the server computed over the bytes when it wrote them (migration 0170): what a whole
   * read is verified against (verified-read.ts). Internal, never sent; absent for objects written
   * before it, multipart, copied and encrypted objects (those keep the MD5 check).
   */
  readonly storedCrc32?: number;
}

/** The additional checksum algorithms S3 clients may ask for, as S3 names them. */
export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
/** One of the S3 additional checksum algorithms (CRC32, CRC32C, CRC64NVME, SHA1, SHA256). */
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** An object's additional checksum: the algorithm and its base64 value (full object or composite). */
export interface ObjectChecksum {
  readonly algorithm: ChecksumAlgorithm;
  /** Base64, as S3 sends it. */
  readonly value: string;
}

/** Conditions checked atomically with the commit (S3 conditional writes). */
export interface WriteConditions {
  /** `*`: create only (fails with PreconditionFailed when the key exists). */
  readonly ifNoneMatch?: string;
  /** The current ETag must equal this one (quoted or not). */
  readonly ifMatch?: string;
}

/** Options of a put: content type, user metadata, headers, Content-MD5 or checksum to verify, write conditions. */
export interface PutObjectOptions extends WriteConditions {
  readonly contentType?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Base64 MD5 of the body (`Content-MD5`); a mismatch fails with BadDigest before anything commits. */
  readonly contentMd5?: string;
  /** A checksum already verified by the caller, kept with the object. */
  readonly checksum?: ObjectChecksum;
  /** Tags of the new object (`x-amz-tagging`). */
  readonly tags?: Readonly<Record<string, string>>;
  /** Encrypt at rest (SSE-S3, or SSE-C with the customer's key); absent: the bucket's default. */
  readonly sse?: SseWrite;
}

/** Options of a copy: whether metadata is copied or replaced (and by what), plus write conditions. */
export interface CopyObjectOptions extends WriteConditions {
  /** COPY (default) keeps the source's metadata and headers; REPLACE takes them from here. */
  readonly metadataDirective?: 'COPY' | 'REPLACE';
  readonly contentType?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** COPY (default) keeps the source's tags; REPLACE sets `tags` (`x-amz-tagging-directive`). */
  readonly taggingDirective?: 'COPY' | 'REPLACE';
  readonly tags?: Readonly<Record<string, string>>;
  /** How the copy is encrypted (absent: the target bucket's default). */
  readonly sse?: SseWrite;
  /** The SSE-C key of an SSE-C source (`x-amz-copy-source-server-side-encryption-customer-key`). */
  readonly sourceCustomerKey?: Buffer;
}

/** An in-progress multipart upload: its id, bucket, key and start time. */
export interface MultipartUploadInfo {
  readonly uploadId: string;
  readonly bucket: string;
  readonly key: string;
  readonly initiatedAtMs: number;
  /** The checksum the completed object gets, chosen at CreateMultipartUpload. */
  readonly checksum?: MultipartChecksum;
  /** How the completed object will be encrypted at rest. */
  readonly encryption?: 'SSE-S3' | 'SSE-C';
}

/** How a multipart object's checksum is made: of the parts' checksums, or of all its bytes. */
export type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

/**
 * Makes a multipart object's checksum value from its parts' checksums and sizes (the API layer
 * owns the checksum arithmetic; the store only persists the result with the object).
 */
export type ChecksumCombiner = (
  checksum: MultipartChecksum,
  parts: readonly { readonly value: string; readonly size: number }[],
) => string;

/** A multipart upload's checksum algorithm and type. */
export interface MultipartChecksum {
  readonly algorithm: ChecksumAlgorithm;
  readonly type: ChecksumType;
}

/** One uploaded part of a multipart upload: number, ETag, size, checksum. */
export interface PartInfo {
  readonly partNumber: number;
  readonly etag: string;
  readonly size: number;
  readonly lastModifiedMs: number;
  readonly checksum?: ObjectChecksum;
  /** How the part is encrypted at rest (UploadPart's response headers). */
  readonly encryption?: 'SSE-S3' | 'SSE-C';
}

/** A part named by CompleteMultipartUpload: its number and the ETag the client got. */
export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
  /** The part's checksum as the client sent it in `<ChecksumCRC32>` etc., checked if present. */
  readonly checksum?: string;
}

/** Filters and paging of a listing: prefix, delimiter, start key and page size. */
export interface ListObjectsOptions {
  readonly prefix?: string;
  readonly delimiter?: string;
  /** Return keys strictly after this one. */
  readonly startAfter?: string;
  readonly maxKeys?: number;
}

/** One page of a listing: objects, common prefixes, and the key to continue from when truncated. */
export interface ListObjectsResult {
  readonly objects: readonly ObjectInfo[];
  readonly commonPrefixes: readonly string[];
  readonly isTruncated: boolean;
  /** The last key or common prefix returned; continue after it. */
  readonly nextMarker: string | undefined;
}

/** An object opened for reading: its info and ways to read its bytes (stream, buffer, range); close it after. */
export interface ObjectHandle {
  readonly info: ObjectInfo;
  /** `range` is inclusive and must lie inside the object. */
  read(range?: { start: number; end: number }): Readable;
  /** The bytes in memory (for small objects: one read, no stream); closes the handle. */
  readBuffer(range?: { start: number; end: number }): Promise<Buffer>;
  /** Writes the bytes straight to `out` where the blob store can (see `BlobHandle.send`). */
  send?(range: { start: number; end: number } | undefined, out: SendTarget): Promise<void>;
  close(): Promise<void>;
}

/** The S3-like object store every context uses: buckets, objects, multipart uploads, listings. */
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
  /**
   * Opens the current version and pins it: `read` streams that version even if a newer one commits
   * meanwhile. Call `read` once or `close`. @returns undefined when the key does not exist.
   */
  openObject(
    bucket: string,
    key: string,
    versionId?: string,
    /** The SSE-C key of an SSE-C object (required for it; refused for any other object). */
    customerKey?: Buffer,
  ): Promise<ObjectHandle | undefined>;
  /**
   * Whole object in memory (small objects: manifests, configs, images); throws
   * ObjectTooLargeToBufferError past `maxBytes` (default MAX_BUFFERED_OBJECT_BYTES) before reading.
   */
  getObjectBuffer(bucket: string, key: string, maxBytes?: number): Promise<Buffer | undefined>;
  deleteObject(bucket: string, key: string): Promise<void>;
  /** Deletes up to 1,000 keys at once; keys that do not exist count as deleted. */
  deleteObjects(bucket: string, keys: readonly string[]): Promise<void>;
  listObjects(bucket: string, options?: ListObjectsOptions): Promise<ListObjectsResult>;

  // ---- versioning (versions.ts) ----
  /** The bucket's versioning state: null until it is first enabled. */
  getBucketVersioning(bucket: string): Promise<VersioningState>;
  putBucketVersioning(bucket: string, status: 'Enabled' | 'Suspended'): Promise<void>;
  /** One version or delete marker. @throws ObjectStoreError NoSuchVersion. */
  getObjectVersion(bucket: string, key: string, versionId: string): Promise<VersionInfo>;
  /** The latest version or delete marker of a key in a versioned bucket. */
  getLatestVersion(bucket: string, key: string): Promise<VersionInfo | undefined>;
  listObjectVersions(bucket: string, options?: ListVersionsOptions): Promise<ListVersionsResult>;
  /** Deletes keys (delete markers when versioned) or named versions; up to 1,000. */
  deleteObjectVersions(
    bucket: string,
    entries: readonly { key: string; versionId?: string }[],
  ): Promise<DeleteResult[]>;

  // ---- tagging (tagging.ts) ----
  /** The tags of the current object or of a version. @throws NoSuchKey, NoSuchVersion. */
  getObjectTagging(bucket: string, key: string, versionId?: string): Promise<TaggedVersion>;
  /** Replaces (or with `{}` removes) the tags of the current object or of a version. */
  putObjectTagging(
    bucket: string,
    key: string,
    versionId: string | undefined,
    tags: Readonly<Record<string, string>>,
  ): Promise<TaggedVersion>;
  /** The bucket's tags; undefined when it has none. */
  getBucketTagging(bucket: string): Promise<Record<string, string> | undefined>;
  /** Replaces the bucket's tags; undefined removes them. */
  putBucketTagging(
    bucket: string,
    tags: Readonly<Record<string, string>> | undefined,
  ): Promise<void>;
  /** The bucket's default encryption (PutBucketEncryption); undefined when none. */
  getBucketEncryption(bucket: string): Promise<BucketEncryption | undefined>;
  /** Sets (undefined: removes) the bucket's default encryption. */
  putBucketEncryption(bucket: string, config: BucketEncryption | undefined): Promise<void>;
  /**
   * A local file holding the object's bytes, when the backend has one (fs backend): lets staging
   * hard-link or copy without streaming through Node. Never written to.
   */
  localPath?(info: ObjectInfo): Promise<string | undefined>;

  /** Copies without streaming through Node when the backend can (fs: a hard link). */
  copyObject(
    source: { bucket: string; key: string; versionId?: string },
    target: { bucket: string; key: string },
    options?: CopyObjectOptions,
  ): Promise<ObjectInfo>;

  /** Multipart uploads: parts are blobs; Complete concatenates them into one new blob. */
  createMultipartUpload(
    bucket: string,
    key: string,
    options?: PutObjectOptions & { readonly multipartChecksum?: MultipartChecksum },
  ): Promise<MultipartUploadInfo>;
  uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable | Buffer | string,
    options?: {
      contentMd5?: string;
      readonly checksum?: ObjectChecksum;
      /** The upload's SSE-C key (required when it was created with one). */
      readonly customerKey?: Buffer;
    },
  ): Promise<PartInfo>;
  /**
   * @throws ObjectStoreError InvalidPartOrder, InvalidPart, EntityTooSmall (non-last part under
   * 5 MiB), NoSuchUpload, PreconditionFailed.
   */
  completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
    conditions?: WriteConditions & { readonly combineChecksum?: ChecksumCombiner },
  ): Promise<ObjectInfo>;
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>;
  /** The parts of a multipart object (the one whose ETag is `etag`); [] for a single PUT. */
  objectParts(bucket: string, key: string, etag: string): Promise<ObjectPart[]>;
  listParts(
    bucket: string,
    key: string,
    uploadId: string,
    options?: { partNumberMarker?: number; maxParts?: number },
  ): Promise<{
    upload: MultipartUploadInfo & { contentType: string };
    parts: PartInfo[];
    isTruncated: boolean;
  }>;
  listMultipartUploads(
    bucket: string,
    options?: { prefix?: string; keyMarker?: string; uploadIdMarker?: string; maxUploads?: number },
  ): Promise<{ uploads: MultipartUploadInfo[]; isTruncated: boolean }>;
}

/** One part of an object completed from a multipart upload. */
export interface ObjectPart {
  readonly partNumber: number;
  readonly size: number;
  readonly etag: string;
  readonly checksum?: ObjectChecksum;
}

/** The default cap of getObjectBuffer: larger objects must be streamed. */
export const MAX_BUFFERED_OBJECT_BYTES = 256 * 1024 * 1024;

/** getObjectBuffer refused an object larger than its cap (stream it instead). */
export class ObjectTooLargeToBufferError extends Error {
  override readonly name = 'ObjectTooLargeToBufferError';
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(
      `s3://${bucket}/${key} is ${size} bytes, over the ${maxBytes}-byte limit for reading it whole`,
    );
  }
}
