import type { IncomingMessage, ServerResponse } from 'node:http';
import { isObjectStoreError, type ObjectErrorCode } from '../../objects/index.js';
import { CatalogError, type ErrorCatalog, type ErrorSpec } from '../error-catalog.js';
import { ONE_AUTH_MECHANISM, type SigV4Error } from '../sigv4/index.js';
import { escapeXml } from './xml.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable } from '../../store/index.js';

/**
 * S3's error catalog: every code Apiary's S3 API emits, with its HTTP status and the default
 * message AWS documents for it ("Error responses", Amazon S3 API Reference). Handlers throw
 * {@link S3Error} with a message that names the value at fault; {@link sendS3Error} writes it.
 */
export const S3_ERRORS = {
  AccessDenied: { status: 403, message: 'Access Denied' },
  AuthorizationHeaderMalformed: {
    status: 400,
    message: 'The authorization header that you provided is not valid.',
  },
  AuthorizationQueryParametersError: {
    status: 400,
    message:
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
  },
  BadDigest: {
    status: 400,
    message:
      'The Content-MD5 or checksum value that you specified did not match what the server received.',
  },
  BucketAlreadyOwnedByYou: {
    status: 409,
    message: 'The bucket that you tried to create already exists, and you own it.',
  },
  ConditionalRequestConflict: {
    status: 409,
    message:
      'A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload you should initiate another CreateMultipartUpload request and re-upload each part.',
  },
  /** A preflight with no Origin or no Access-Control-Request-Method (S3's code for it). */
  BadRequest: { status: 400, message: 'Insufficient information. Origin request header needed.' },
  BucketNotEmpty: { status: 409, message: 'The bucket that you tried to delete is not empty.' },
  CORSResponse: { status: 403, message: 'CORS is not enabled for this bucket.' },
  EntityTooLarge: {
    status: 400,
    message: 'Your proposed upload exceeds the maximum allowed object size.',
  },
  EntityTooSmall: {
    status: 400,
    message: 'Your proposed upload is smaller than the minimum allowed object size.',
  },
  IllegalLocationConstraintException: {
    status: 400,
    message:
      'The location constraint you specified is incompatible for the region specific endpoint this request was sent to.',
  },
  IncompleteBody: {
    status: 400,
    message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.',
  },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  InvalidAccessKeyId: {
    status: 403,
    message: 'The AWS access key ID that you provided does not exist in our records.',
  },
  InvalidArgument: { status: 400, message: 'Invalid Argument' },
  MalformedPolicy: { status: 400, message: 'Policy has invalid resource' },
  InvalidBucketName: { status: 400, message: 'The specified bucket is not valid.' },
  InvalidChunkSizeError: {
    status: 400,
    message: 'Only the last chunk is allowed to have a size less than 8192 bytes.',
  },
  InvalidDigest: {
    status: 400,
    message: 'The Content-MD5 or checksum value that you specified is not valid.',
  },
  InvalidPart: {
    status: 400,
    message:
      "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified ETag might not have matched the uploaded part's ETag.",
  },
  InvalidPartOrder: {
    status: 400,
    message:
      'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
  },
  InvalidPartNumber: { status: 416, message: 'The requested partnumber is not satisfiable' },
  InvalidStorageClass: { status: 400, message: 'The storage class you specified is not valid.' },
  InvalidRange: { status: 416, message: 'The requested range cannot be satisfied.' },
  InvalidRequest: { status: 400, message: 'The request is not valid.' },
  /** A path that is not valid percent-encoded UTF-8 (AWS's code and message for it). */
  InvalidURI: { status: 400, message: "Couldn't parse the specified URI." },
  KeyTooLongError: { status: 400, message: 'Your key is too long.' },
  MalformedXML: {
    status: 400,
    message:
      'The XML that you provided was not well formed or did not validate against our published schema.',
  },
  MaxPostPreDataLengthExceeded: {
    status: 400,
    message: 'Your POST request fields preceding the upload file were too large.',
  },
  MalformedPOSTRequest: {
    status: 400,
    message: 'The body of your POST request is not well-formed multipart/form-data.',
  },
  InvalidPolicyDocument: {
    status: 400,
    message:
      'The content of the form does not meet the conditions specified in the policy document.',
  },
  IncorrectNumberOfFilesInPostRequest: {
    status: 400,
    message: 'POST requires exactly one file upload per request.',
  },
  MetadataTooLarge: {
    status: 400,
    message: 'Your metadata headers exceed the maximum allowed metadata size.',
  },
  MethodNotAllowed: {
    status: 405,
    message: 'The specified method is not allowed against this resource.',
  },
  MissingContentLength: {
    status: 411,
    message: 'You must provide the Content-Length HTTP header.',
  },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist.' },
  NoSuchBucketPolicy: { status: 404, message: 'The bucket policy does not exist' },
  NoSuchCORSConfiguration: { status: 404, message: 'The CORS configuration does not exist' },
  ServerSideEncryptionConfigurationNotFoundError: {
    status: 404,
    message: 'The server side encryption configuration was not found',
  },
  NoSuchLifecycleConfiguration: {
    status: 404,
    message: 'The lifecycle configuration does not exist',
  },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  InvalidTag: { status: 400, message: 'The tag provided was not a valid tag.' },
  NoSuchTagSet: { status: 404, message: 'The TagSet does not exist.' },
  NoSuchVersion: {
    status: 404,
    message: 'The version ID specified in the request does not match an existing version.',
  },
  NoSuchUpload: {
    status: 404,
    message:
      'The specified multipart upload does not exist. The upload ID might not be valid, or the multipart upload might have been aborted or completed.',
  },
  NotImplemented: {
    status: 501,
    message: 'A header that you provided implies functionality that is not implemented.',
  },
  PreconditionFailed: {
    status: 412,
    message: 'At least one of the preconditions that you specified did not hold.',
  },
  RequestTimeTooSkewed: {
    status: 403,
    message: "The difference between the request time and the server's time is too large.",
  },
  RequestTimeout: {
    status: 400,
    message:
      'Your socket connection to the server was not read from or written to within the timeout period.',
  },
  ServiceUnavailable: { status: 503, message: 'Service is unable to handle request.' },
  SlowDown: { status: 503, message: 'Please reduce your request rate.' },
  /** Not an AWS code (AWS never fills up): MinIO and Ceph answer a full disk with 507 too. */
  InsufficientStorage: {
    status: 507,
    message: 'The server has no space left to store the object; nothing was changed.',
  },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      'The request signature that the server calculated does not match the signature that you provided. Check your AWS secret access key and signing method.',
  },
  XAmzContentSHA256Mismatch: {
    status: 400,
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  },
} as const satisfies ErrorCatalog;

export type S3ErrorCode = keyof typeof S3_ERRORS;

// The object store fails in S3's vocabulary: each of its codes has a row (a missing one fails to
// compile here).
const _storeCodesCovered: Readonly<Record<ObjectErrorCode, ErrorSpec>> = S3_ERRORS;

/** The HTTP status S3 answers `code` with. */
export const s3ErrorStatus = (code: S3ErrorCode): number => S3_ERRORS[code].status;

/** An S3 error to answer with; the status comes from the catalog. */
export class S3Error extends CatalogError<S3ErrorCode> {
  override readonly name: string = 'S3Error';
  readonly status: number;
  constructor(
    code: S3ErrorCode,
    /** What was wrong, naming the value; defaults to the catalog's message for `code`. */
    message: string = S3_ERRORS[code].message,
    /** Extra elements S3 puts in the error (BucketName, Key, ExpectedDigest…). */
    readonly detail: Readonly<Record<string, string>> = {},
    /** Extra response headers (Content-Range on 416). */
    readonly headers: Readonly<Record<string, string>> = {},
    cause?: unknown,
  ) {
    super(code, message, { cause, context: detail });
    this.status = S3_ERRORS[code].status;
  }
}

export const isS3Error = (e: unknown): e is S3Error => e instanceof S3Error;

/**
 * Turns whatever a handler threw into an S3 error: S3 errors as they are, the object store's
 * errors (already in S3's vocabulary) with their code, anything else an InternalError that
 * `onInternal` logs with the request id and the client sees without internals.
 */
export function toS3Error(
  err: unknown,
  requestId: string,
  onInternal?: (err: unknown, requestId: string) => void,
): S3Error {
  if (isS3Error(err)) return err;
  if (isObjectStoreError(err)) {
    // A damaged blob is an incident for the operator, not only an answer.
    if (err.code === 'InternalError') onInternal?.(err, requestId);
    return new S3Error(err.code, err.message, err.context, {}, err);
  }
  if (isDatabaseUnavailable(err))
    return new S3Error('ServiceUnavailable', DATABASE_UNAVAILABLE_MESSAGE, {}, {}, err);
  onInternal?.(err, requestId);
  return new S3Error('InternalError', undefined, {}, {}, err);
}

/** S3's answer to each SigV4 failure. */
export function authToS3Error(err: SigV4Error, req: IncomingMessage): S3Error {
  const presigned = (req.url ?? '').includes('X-Amz-Algorithm=');
  const d = err.detail;
  // Header-signed V2 (`Authorization: AWS key:sig`) stays refused; V2 presigned URLs are verified.
  if (String(req.headers.authorization ?? '').startsWith('AWS ')) {
    return new S3Error(
      'AccessDenied',
      "Signature Version 2 is accepted only in presigned URLs (query AWSAccessKeyId, Signature, Expires); sign requests with AWS Signature Version 4 (boto3: Config(signature_version='s3v4'); aws CLI: 'aws configure set default.s3.signature_version s3v4').",
    );
  }
  switch (err.kind) {
    case 'Missing':
      return new S3Error('AccessDenied', err.message || S3_ERRORS.AccessDenied.message);
    case 'UnknownKey':
      return new S3Error('InvalidAccessKeyId', err.message, d);
    case 'BadSignature':
      return new S3Error('SignatureDoesNotMatch', err.message, d);
    case 'Skewed':
      return new S3Error(
        'RequestTimeTooSkewed',
        `The difference between the request time and the server's time is too large: ${err.message}`,
        {
          ...d,
          MaxAllowedSkewMilliseconds: '900000',
        },
      );
    case 'Expired':
      return new S3Error('AccessDenied', 'Request has expired', d);
    case 'Throttled':
      return new S3Error('SlowDown', err.message);
    case 'BadExpires':
      return new S3Error(
        'AccessDenied',
        `${err.message}: presigned URLs may be valid for 1 to 604800 seconds (7 days).`,
        {
          ...d,
          Reason: 'AuthorizationQueryParametersError',
        },
      );
    case 'Malformed':
      if (err.message === ONE_AUTH_MECHANISM)
        return new S3Error('InvalidArgument', err.message, { ArgumentName: 'Authorization' });
      // A scope date that is not the request's day, or an unsigned Host, can never carry a valid
      // signature: S3 refuses those with 403.
      if (/scope date|'host'/.test(err.message))
        return new S3Error('SignatureDoesNotMatch', err.message, d);
      return new S3Error(
        presigned ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed',
        `The authorization ${presigned ? 'query parameters are' : 'header is'} malformed; ${err.message}`,
        d,
      );
  }
}

/** Headers every S3 response carries, errors included. */
export const baseHeaders = (requestId: string): Record<string, string | number> => ({
  'x-amz-request-id': requestId,
  'x-amz-id-2': requestId,
  server: 'Apiary',
});

/** Where an error is answered: the exchange, its request id, method and resource path. */
export interface S3ErrorTarget {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly method: string;
  readonly resource: string;
}

/** `<Error><Code/><Message/>…detail…<Resource/><RequestId/><HostId/></Error>` as S3 writes it. */
export function s3ErrorXml(err: S3Error, resource: string, requestId: string): string {
  const extra: string[] = [];
  for (const [k, v] of Object.entries(err.detail)) extra.push(`<${k}>${escapeXml(v)}</${k}>`);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${escapeXml(err.message)}</Message>` +
    extra.join('') +
    `<Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId><HostId>${requestId}</HostId></Error>`
  );
}

/**
 * The one place an S3 error reaches the wire: status from the catalog, the XML body (none for
 * HEAD), the error's extra headers. Once headers are out, the socket is destroyed instead, so the
 * client sees a truncated response rather than a wrong one. `closeConnection` answers and then
 * closes, for a request body abandoned part-way (it cannot be drained cheaply).
 */
export function sendS3Error(target: S3ErrorTarget, err: S3Error, closeConnection: boolean): void {
  const res = target.res;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = s3ErrorXml(err, target.resource, target.requestId);
  const headers: Record<string, string | number> = {
    ...baseHeaders(target.requestId),
    ...err.headers,
    'content-type': 'application/xml',
    'content-length': target.method === 'HEAD' ? 0 : Buffer.byteLength(body),
  };
  if (closeConnection) headers.connection = 'close';
  res.writeHead(err.status, headers);
  res.end(target.method === 'HEAD' ? undefined : body);
  if (closeConnection) res.once('finish', () => target.req.socket?.destroySoon?.());
}
