import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';

/**
 * The blob-store port: immutable byte sequences named by a random id. The database-backed object
 * store ({@link ../db-object-store.ts}) keeps keys, metadata and multipart state; a blob store only
 * keeps bytes. Adapters: `fs/fs-blob-store.ts` (files under the data dir, the default) and
 * `s3/s3-blob-store.ts` (any S3-compatible bucket), each wrapped by `inline-blobs.ts` (small blobs
 * as database rows) unless `APIARY_S3_INLINE_MAX_BYTES` is 0. A blob becomes visible to readers only through a
 * database row that commits after `write` resolves, so a blob store never needs transactions.
 */

/** Inclusive byte range, as HTTP's. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface WrittenBlob {
  readonly id: string;
  readonly size: number;
  /** Binary MD5 of the bytes. */
  readonly md5: Buffer;
  /**
   * CRC32 (zlib's, unsigned) of the bytes, computed in the same pass as the MD5 where the store
   * does so (fs): a whole GET is verified by it instead of re-hashing MD5 (verified-read.ts).
   */
  readonly crc32?: number;
}

/** Where `BlobHandle.send` writes: an HTTP response or any writable with a flush callback. */
export interface SendTarget {
  write(chunk: Buffer, callback: (err?: Error | null) => void): boolean;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
  readonly destroyed: boolean;
}

/** A blob opened for reading; it stays readable until closed even if the blob is deleted. */
export interface BlobHandle {
  /** Streams `range` (inclusive; the whole blob when absent). Call once, or `close`. */
  read(range: ByteRange | undefined): Readable;
  /** The bytes of `range` in memory; closes the handle. */
  readBuffer(range: ByteRange | undefined): Promise<Buffer>;
  /**
   * Writes `range` straight to `out` (an HTTP response) without a stream in between, where the
   * store can (fs: pooled buffers, see `fs/fd.ts` sendFd); closes the handle. Call once, instead
   * of `read`.
   */
  send?(range: ByteRange | undefined, out: SendTarget): Promise<void>;
  close(): Promise<void>;
}

/** One stored blob, as a sweep sees it. */
export interface BlobEntry {
  readonly id: string;
  /** When the blob (or an unfinished upload) was written; fs stats lazily, only for orphans. */
  modifiedMs(): Promise<number>;
}

/** A part of a blob made by {@link BlobStore.concat}. */
export interface BlobPart {
  readonly id: string;
  readonly size: number;
}

/** Port for the bytes of objects and parts (filesystem or S3); metadata lives in the database. */
export interface BlobStore {
  /** `fs` or `s3`: for logs and the README's table. */
  readonly kind: 'fs' | 's3';
  /** Prepares the store (directories, a reachable bucket); removes what a crash left half-written. */
  start(): Promise<{ tempFilesRemoved: number }>;
  /**
   * Streams `body` into a new blob and makes it durable before resolving (fs: temp file, fsync,
   * rename). On any failure nothing is left behind.
   * @throws ObjectStoreError `ServiceUnavailable` when an external store fails; a body's own error as is.
   */
  write(body: Readable | Buffer | string): Promise<WrittenBlob>;
  /**
   * Opens a blob and pins it: the handle reads it even when it is deleted meanwhile.
   * @returns undefined when the blob does not exist (deleted after its row was read).
   */
  open(id: string, size: number): Promise<BlobHandle | undefined>;
  /** A new blob with the bytes of `id`, without streaming through Node when the store can. */
  copy(id: string, size: number): Promise<string | undefined>;
  /**
   * A new blob holding `parts` one after the other (multipart completion).
   * @throws MissingBlobError naming the first part that no longer exists.
   */
  concat(parts: readonly BlobPart[]): Promise<{ id: string; size: number }>;
  /** Deletes blobs; missing ones count as deleted. Never throws: a sweep collects what is left. */
  delete(ids: readonly string[]): Promise<void>;
  /** Every blob (and unfinished upload) in the store, for the orphan sweep. */
  list(): AsyncIterable<BlobEntry>;
  /** Removes unfinished uploads older than `olderThanMs` (s3); the fs store has none. */
  abortStaleUploads?(olderThanMs: number): Promise<number>;
  /**
   * A local file with the blob's bytes (fs only): lets staging hard-link it. Never written to.
   * Undefined for a blob without a file (inline in the database): the caller copies its bytes.
   */
  localPath?(id: string): string | undefined;
}

/** A blob that {@link BlobStore.concat} or `copy` needed is gone (its part was replaced). */
export class MissingBlobError extends Error {
  override readonly name = 'MissingBlobError';
  constructor(readonly blobId: string) {
    super(`blob ${blobId} does not exist`);
  }
}

/** A random 32-hex-digit blob id: never derived from a user-supplied name. */
export const newBlobId = (): string => randomBytes(16).toString('hex');
