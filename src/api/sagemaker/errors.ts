import type { ErrorCode } from '../../shared/errors.js';
import { AWS_AUTH_ERRORS } from '../auth.js';
import {
  CatalogError,
  type CatalogErrorOptions,
  type ErrorCatalog,
  type ErrorSpec,
} from '../error-catalog.js';

/**
 * Errors every AWS JSON 1.1 service answers (AWS's common errors, the protocol's own and SigV4's).
 * The service models give none of these a status; a JSON 1.1 client error is 400 unless AWS's
 * common-errors table says otherwise.
 */
export const AWS_JSON_ERRORS = {
  ...AWS_AUTH_ERRORS,
  ValidationException: {
    status: 400,
    message: 'The input fails to satisfy the constraints specified by the service.',
  },
  SerializationException: {
    status: 400,
    message: "The request body could not be read as the operation's JSON input.",
  },
  /** A body over the protocol's limit: AWS says SerializationException with 413. */
  PayloadTooLarge: {
    status: 413,
    message: 'The request body is too large.',
    wireCode: 'SerializationException',
  },
  UnknownOperationException: {
    status: 400,
    message: 'The X-Amz-Target header names no operation of this service.',
  },
  /** A signed request for the service on a path or method that is not `POST /`. */
  UnknownRoute: {
    status: 404,
    message: 'No operation matches the request path.',
    wireCode: 'UnknownOperationException',
  },
  AccessDeniedException: {
    status: 400,
    message: 'You do not have sufficient access to perform this action.',
  },
  ThrottlingException: { status: 400, message: 'Rate exceeded; retry with backoff.' },
  InternalFailure: {
    status: 500,
    message: 'The request processing has failed because of an unknown error.',
  },
  ServiceUnavailable: { status: 503, message: 'The service is unavailable; retry the request.' },
} as const satisfies ErrorCatalog;

/**
 * SageMaker's control-plane catalog: the common rows plus the exceptions botocore's
 * `sagemaker/2017-07-24/service-2.json` models (none has an `httpStatusCode`, so all are 400;
 * AWS's API reference lists them as 400 too). Not-found for endpoints, models and training jobs is
 * `ValidationException` on purpose: boto3's waiters rely on it.
 */
export const SAGEMAKER_ERRORS = {
  ...AWS_JSON_ERRORS,
  ResourceNotFound: { status: 400, message: 'Resource being accessed is not found.' },
  ResourceInUse: { status: 400, message: 'Resource being accessed is in use.' },
  ResourceLimitExceeded: { status: 400, message: 'You have exceeded a SageMaker resource limit.' },
  ConflictException: {
    status: 400,
    message: 'There was a conflict when you attempted to modify a SageMaker entity.',
  },
} as const satisfies ErrorCatalog;

// Every code a context may throw (AppError) has a row: a missing one fails to compile here.
const _contextCodesCovered: Readonly<Record<ErrorCode, ErrorSpec>> = SAGEMAKER_ERRORS;

export type AwsJsonErrorCode = keyof typeof AWS_JSON_ERRORS;
export type SageMakerErrorCode = keyof typeof SAGEMAKER_ERRORS;

/** An error of an AWS JSON 1.1 service, named by a row of that service's catalog. */
export class AwsJsonError<Code extends string = SageMakerErrorCode> extends CatalogError<Code> {
  override readonly name: string = 'AwsJsonError';
}

/** A SageMaker error with the catalog's default message unless one is given. */
export const sageMakerError = (
  code: SageMakerErrorCode,
  message: string = SAGEMAKER_ERRORS[code].message,
  options?: CatalogErrorOptions,
): AwsJsonError<SageMakerErrorCode> => new AwsJsonError(code, message, options);
