import { AWS_AUTH_ERRORS } from '../auth.js';
import { CatalogError, type ErrorCatalog } from '../error-catalog.js';

/**
 * SageMaker Runtime's catalog (rest-json): the statuses botocore's
 * `sagemaker-runtime/2017-05-13/service-2.json` gives each exception, SigV4's rows, and the
 * transport's own answers. Body: `{"message", "Message"}` (+ ModelError's members), code in
 * `x-amzn-ErrorType`.
 */
export const RUNTIME_ERRORS = {
  ...AWS_AUTH_ERRORS,
  ValidationError: { status: 400, message: 'Inspect your request and try again.' },
  /** A body over 6 MiB: refused before it is read, so the connection closes. */
  PayloadTooLarge: {
    status: 413,
    message: 'InvokeEndpoint accepts at most 6 MiB.',
    wireCode: 'ValidationError',
  },
  /** A client that does not send the whole body in time. */
  BodyTimeout: {
    status: 408,
    message: 'The request body was not received in time; send the whole body promptly.',
    wireCode: 'ValidationError',
  },
  ModelError: { status: 424, message: 'The model returned an error.' },
  ModelNotReadyException: { status: 429, message: 'The model is still loading; retry shortly.' },
  InternalFailure: { status: 500, message: 'An internal failure occurred.' },
  ServiceUnavailable: { status: 503, message: 'The service is unavailable; retry the request.' },
  InternalDependencyException: {
    status: 530,
    message: 'The request failed in an internal dependency.',
  },
  /** A signed runtime request that is not `POST /endpoints/{name}/invocations`. */
  UnknownOperationException: {
    status: 404,
    message: 'InvokeEndpoint is POST /endpoints/{EndpointName}/invocations.',
  },
} as const satisfies ErrorCatalog;

export type RuntimeErrorCode = keyof typeof RUNTIME_ERRORS;

/** An error the runtime edge raises itself (hosting raises InvokeError, in the same vocabulary). */
export class RuntimeApiError extends CatalogError<RuntimeErrorCode> {
  override readonly name: string = 'RuntimeApiError';
}
