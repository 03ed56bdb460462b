import type { FastifyReply } from 'fastify';
import { isAppError } from '../../shared/errors.js';
import { sendApiError } from '../../identity/index.js';
import { s3ErrorStatus } from '../s3/index.js';

const OBJECT_STATUS: Readonly<Record<string, number>> = {
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  BucketAlreadyOwnedByYou: 409,
  BucketAlreadyExists: 409,
  BucketNotEmpty: 409,
  PreconditionFailed: 412,
  EntityTooLarge: s3ErrorStatus('EntityTooLarge'),
};

/** An error the console routes answer in the `/_apiary/api` shape `{"error": {"code", "message"}}`. */
export class ConsoleError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/**
 * Maps what a route threw to the console's JSON error: console errors, SageMaker-vocabulary
 * AppErrors and the object store's S3-vocabulary errors keep their code and message; anything else
 * is an internal error, logged with the request id and shown without internals.
 */
export function sendConsoleError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof ConsoleError) return sendApiError(reply, err.status, err.code, err.message);
  if (isAppError(err)) return sendApiError(reply, err.httpStatus, err.code, err.message);
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  if (e && e.name === 'ObjectStoreError' && typeof e.code === 'string' && typeof e.message === 'string') {
    return sendApiError(reply, OBJECT_STATUS[e.code] ?? 400, e.code, e.message);
  }
  reply.log.error({ err, requestId: reply.request.id }, 'console route failed');
  return sendApiError(
    reply,
    500,
    'InternalFailure',
    `The request processing has failed because of an unknown error (request id ${reply.request.id}).`,
  );
}
