import type { FastifyReply } from 'fastify';
import { InvokeError, type InvokeErrorCode } from '../../hosting/index.js';
import { IdentityError } from '../../identity/index.js';
import { TaskError } from '../../labeling/index.js';
import { ObjectStoreError, type ObjectErrorCode } from '../../objects/index.js';
import { isAppError, type ErrorCode } from '../../shared/errors.js';
import {
  CatalogError,
  inCatalog,
  internalErrorMessage,
  wireError,
  type CatalogErrorOptions,
  type ErrorCatalog,
  type ErrorSpec,
} from '../error-catalog.js';
import { S3_ERRORS } from '../s3/index.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable } from '../../store/index.js';

/**
 * The catalog of the console's and worker portal's JSON API (`/_apiary/api/…`, errors
 * `{"error": {"code", "message"}}`): its own codes, then the vocabularies of the contexts whose
 * errors reach it — SageMaker's (AppError), the runtime's (the test invocation), S3's (the object
 * store) — each with the status this REST-style API answers.
 */
export const CONSOLE_ERRORS = {
  BadRequest: { status: 400, message: 'The request could not be read.' },
  ValidationError: { status: 400, message: 'A parameter of the request is not valid.' },
  Invalid: { status: 400, message: 'The request is not valid for this task.' },
  Unauthorized: { status: 401, message: 'Sign in first' },
  InvalidCredentials: { status: 401, message: 'The username or password is incorrect' },
  Forbidden: { status: 403, message: 'Your account may not use this page' },
  CsrfTokenInvalid: {
    status: 403,
    message: 'Missing or wrong x-apiary-csrf header; reload the page',
  },
  NotFound: { status: 404, message: 'Not found.' },
  UserNotFound: { status: 404, message: 'No such user.' },
  Conflict: { status: 409, message: 'Someone else changed this first; reload it.' },
  UserExists: { status: 409, message: 'A user with this name already exists.' },
  KeyNotFound: { status: 404, message: 'No such access key.' },
  LimitExceeded: { status: 409, message: 'A user has at most two access keys.' },
  Gone: { status: 410, message: 'This is no longer available.' },
  PayloadTooLarge: { status: 413, message: 'The request body is too large.' },
  UnsupportedMediaType: { status: 415, message: 'The content type is not supported here.' },
  TooManyRequests: { status: 429, message: 'Too many requests; try again later.' },
  InternalFailure: {
    status: 500,
    message: 'The request processing has failed because of an unknown error.',
  },
  ServiceUnavailable: { status: 503, message: 'The service is unavailable; retry shortly.' },
  UnknownOperationException: { status: 400, message: 'No such operation.' },

  // SageMaker's vocabulary (the contexts' AppError).
  ValidationException: { status: 400, message: 'A parameter of the request is not valid.' },
  ResourceNotFound: { status: 404, message: 'Resource being accessed is not found.' },
  ResourceInUse: { status: 409, message: 'Resource being accessed is in use.' },
  ResourceLimitExceeded: { status: 400, message: 'You have exceeded a resource limit.' },
  ConflictException: { status: 409, message: 'There was a conflict; reload and try again.' },
  ThrottlingException: { status: 429, message: 'Rate exceeded; try again later.' },
  AccessDeniedException: { status: 403, message: 'You may not perform this action.' },

  // The runtime's vocabulary (the endpoint page's test invocation).
  ModelError: { status: 424, message: 'The model returned an error.' },
  ModelNotReadyException: { status: 429, message: 'The model is still loading; retry shortly.' },

  // S3's vocabulary (the object store), with the S3 API's statuses.
  NoSuchBucket: { status: 404, message: 'The bucket does not exist.' },
  NoSuchKey: { status: 404, message: 'The object does not exist.' },
  NoSuchUpload: { status: 404, message: 'The upload does not exist.' },
  NoSuchVersion: { status: 404, message: 'The object version does not exist.' },
  MethodNotAllowed: { status: 405, message: 'The method is not allowed on this resource.' },
  BucketAlreadyOwnedByYou: { status: 409, message: 'The bucket already exists.' },
  BucketAlreadyExists: { status: 409, message: 'The bucket already exists.' },
  BucketNotEmpty: { status: 409, message: 'The bucket is not empty.' },
  PreconditionFailed: { status: 412, message: 'A precondition of the request does not hold.' },
  EntityTooLarge: {
    status: S3_ERRORS.EntityTooLarge.status,
    message: 'The object is larger than allowed.',
  },
  EntityTooSmall: { status: 400, message: 'A part is smaller than allowed.' },
  InvalidBucketName: { status: 400, message: 'The bucket name is not valid.' },
  KeyTooLongError: { status: 400, message: 'The key is longer than 1024 bytes.' },
  InvalidArgument: { status: 400, message: 'An argument is not valid.' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 is not valid.' },
  BadDigest: { status: 400, message: 'The body does not match its digest.' },
  InvalidPart: { status: 400, message: 'A part is missing or does not match.' },
  InvalidPartOrder: { status: 400, message: 'The parts are not in ascending order.' },
  MalformedXML: { status: 400, message: 'The XML is not well-formed.' },
  InvalidRequest: { status: 400, message: 'The request is not valid.' },
  // The object store's (an SSE-C object read without its key) and the console's own: a bucket
  // policy's explicit Deny, which refuses console admins as it refuses the root key.
  AccessDenied: {
    status: 403,
    message: 'Access Denied: a bucket policy denies this, or the object needs its encryption key.',
  },
  InternalError: { status: 500, message: 'A stored object is damaged.' },
  InsufficientStorage: {
    status: 507,
    message: 'The server has no space left to store the object.',
  },
} as const satisfies ErrorCatalog;

// Every code a context may send this way has a row: a missing one fails to compile here.
const _covered: Readonly<
  Record<
    ErrorCode | ObjectErrorCode | InvokeErrorCode | TaskError['code'] | IdentityError['code'],
    ErrorSpec
  >
> = CONSOLE_ERRORS;

export type ConsoleErrorCode = keyof typeof CONSOLE_ERRORS;

/** An error the console routes answer in the `/_apiary/api` shape `{"error": {"code", "message"}}`. */
export class ConsoleError extends CatalogError<ConsoleErrorCode> {
  override readonly name: string = 'ConsoleError';
  /** Extra members of the `error` object (e.g. a stale save's `currentVersion`). */
  readonly details: Readonly<Record<string, unknown>>;
  /** Sent as `Retry-After` (seconds). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ConsoleErrorCode,
    message: string = CONSOLE_ERRORS[code].message,
    options: CatalogErrorOptions & {
      readonly details?: Readonly<Record<string, unknown>>;
      readonly retryAfterSeconds?: number;
    } = {},
  ) {
    super(code, message, options);
    this.details = Object.freeze({ ...options.details });
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * What a route threw, in the console's vocabulary: console errors as they are; the contexts'
 * errors (AppError, TaskError, IdentityError, ObjectStoreError, InvokeError) keep their code and
 * message. Undefined for anything unexpected, internal failures included.
 */
export function toConsoleError(err: unknown): ConsoleError | undefined {
  if (err instanceof ConsoleError) return err;
  const known = (
    code: unknown,
    message: string,
    extra: ConstructorParameters<typeof ConsoleError>[2] = {},
  ) =>
    code !== 'InternalFailure' && inCatalog(CONSOLE_ERRORS, code)
      ? new ConsoleError(code, message, { cause: err, ...extra })
      : undefined;
  if (isAppError(err) || err instanceof ObjectStoreError || err instanceof InvokeError) {
    return known(err.code, err.message);
  }
  if (err instanceof TaskError) {
    const details =
      err.code === 'Conflict' && err.currentVersion !== undefined
        ? { currentVersion: err.currentVersion }
        : {};
    return known(err.code, err.message, { details });
  }
  if (err instanceof IdentityError)
    return known(err.code, err.message, { retryAfterSeconds: err.retryAfterSeconds });
  return undefined;
}

/** The status, headers and body of a console error: the one place it takes its wire shape. */
export function renderConsoleError(e: ConsoleError): {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
} {
  const wire = wireError(CONSOLE_ERRORS, e.code, e.message);
  return {
    status: wire.status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...(e.retryAfterSeconds ? { 'retry-after': String(e.retryAfterSeconds) } : {}),
    },
    body: JSON.stringify({ error: { code: wire.code, message: wire.message, ...e.details } }),
  };
}

/**
 * The console's boundary: answers what a route threw in the `/_apiary/api` shape; anything
 * unexpected is an internal error, logged with the request id and shown without internals.
 */
export function sendConsoleError(reply: FastifyReply, err: unknown): FastifyReply {
  let e = toConsoleError(err);
  if (!e && isDatabaseUnavailable(err))
    e = new ConsoleError('ServiceUnavailable', DATABASE_UNAVAILABLE_MESSAGE);
  if (!e) {
    reply.log.error({ err, requestId: reply.request.id }, 'console route failed');
    e = new ConsoleError('InternalFailure', internalErrorMessage(reply.request.id));
  }
  const r = renderConsoleError(e);
  return reply.code(r.status).headers(r.headers).send(r.body);
}

/** Answers a console error by code (the catalog's status; its default message unless given). */
export const sendApiError = (
  reply: FastifyReply,
  code: ConsoleErrorCode,
  message?: string,
): FastifyReply => sendConsoleError(reply, new ConsoleError(code, message));
