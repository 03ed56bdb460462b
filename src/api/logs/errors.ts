import { AWS_JSON_ERRORS, AwsJsonError } from '../sagemaker/errors.js';
import type { CatalogErrorOptions, ErrorCatalog } from '../error-catalog.js';

/**
 * The CloudWatch Logs subset's catalog: AWS JSON 1.1's common rows plus the exceptions botocore's
 * `logs/2014-03-28/service-2.json` models for the operations Apiary serves (no `httpStatusCode`
 * there, so 400; ServiceUnavailableException is a fault, 503).
 */
export const LOGS_ERRORS = {
  ...AWS_JSON_ERRORS,
  ResourceNotFoundException: { status: 400, message: 'The specified resource does not exist.' },
  InvalidParameterException: { status: 400, message: 'A parameter is specified incorrectly.' },
  InvalidOperationException: {
    status: 400,
    message: 'The operation is not valid on the specified resource.',
  },
  LimitExceededException: {
    status: 400,
    message: 'You have reached the maximum number of resources that can be created.',
  },
  ServiceUnavailableException: { status: 503, message: 'The service cannot complete the request.' },
} as const satisfies ErrorCatalog;

export type LogsErrorCode = keyof typeof LOGS_ERRORS;

/** A CloudWatch Logs error with the catalog's default message unless one is given. */
export const logsError = (
  code: LogsErrorCode,
  message: string = LOGS_ERRORS[code].message,
  options?: CatalogErrorOptions,
): AwsJsonError<LogsErrorCode> => new AwsJsonError(code, message, options);
