/**
 * Failures of the object store, in S3's own vocabulary (the store's language is S3's). The S3 API
 * maps each code to its HTTP status in one table (`api/s3/errors.ts`); other contexts read `code`.
 */
export const ObjectErrorCodes = [
  'NoSuchBucket',
  'NoSuchKey',
  'NoSuchUpload',
  /** GET/HEAD/copy of a version id that names nothing (404). */
  'NoSuchVersion',
  /** GET/HEAD of a delete marker's version id (405). */
  'MethodNotAllowed',
  'BucketAlreadyOwnedByYou',
  'BucketNotEmpty',
  'InvalidBucketName',
  'KeyTooLongError',
  'InvalidArgument',
  'InvalidDigest',
  'BadDigest',
  'InvalidPart',
  'InvalidPartOrder',
  'EntityTooSmall',
  'EntityTooLarge',
  'MalformedXML',
  'PreconditionFailed',
  'InvalidRequest',
  /** An SSE-C object read with a key that is not its own (403). */
  'AccessDenied',
  /** The external blob store failed; nothing was committed (503, retryable). */
  'ServiceUnavailable',
  /** A stored blob failed its integrity check on read (500). */
  'InternalError',
  /** The disk is full (ENOSPC): nothing was stored, earlier versions are intact (507). */
  'InsufficientStorage',
] as const;

/** Why an object store operation failed, in S3's vocabulary (NoSuchKey, PreconditionFailed, …). */
export type ObjectErrorCode = (typeof ObjectErrorCodes)[number];

/** Thrown by the object store; its code is an S3 error code the protocols map to their wire shapes. */
export class ObjectStoreError extends Error {
  override readonly name = 'ObjectStoreError';
  constructor(
    readonly code: ObjectErrorCode,
    message: string,
    readonly context: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** Whether `e` is an ObjectStoreError (narrows it). */
export const isObjectStoreError = (e: unknown): e is ObjectStoreError =>
  e instanceof ObjectStoreError;
