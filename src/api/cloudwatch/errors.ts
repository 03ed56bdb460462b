import { AWS_JSON_ERRORS, AwsJsonError } from '../sagemaker/errors.js';
import type { CatalogErrorOptions, ErrorCatalog } from '../error-catalog.js';

/**
 * CloudWatch's catalog (AWS JSON 1.0 with `awsQueryCompatible`): the common JSON rows plus the
 * exceptions botocore's `cloudwatch/2010-08-01/service-2.json` models for the operations Apiary
 * serves, with the model's `httpStatusCode`.
 */
export const CLOUDWATCH_ERRORS = {
  ...AWS_JSON_ERRORS,
  InvalidParameterValueException: {
    status: 400,
    message: 'The value of an input parameter is bad or out-of-range.',
  },
  MissingRequiredParameterException: {
    status: 400,
    message: 'An input parameter that is required is missing.',
  },
  InvalidParameterCombinationException: {
    status: 400,
    message: 'Parameters were used together that cannot be used together.',
  },
  ResourceNotFound: { status: 404, message: 'The named resource does not exist.' },
  InvalidNextToken: { status: 400, message: 'The next token specified is invalid.' },
  InvalidFormatFault: { status: 400, message: 'Data was not syntactically valid JSON.' },
  LimitExceededFault: {
    status: 400,
    message: 'The quota for alarms for this customer has already been reached.',
  },
} as const satisfies ErrorCatalog;

export type CloudWatchErrorCode = keyof typeof CLOUDWATCH_ERRORS;

/**
 * The awsQuery code of each modeled exception (the model's `error.code`): botocore reads it from
 * the `x-amzn-query-error` header, so boto3 users see `InvalidParameterValue` as with the query API.
 */
export const QUERY_ERROR_CODES: Readonly<Record<string, string>> = {
  InvalidParameterValueException: 'InvalidParameterValue',
  MissingRequiredParameterException: 'MissingParameter',
  InvalidParameterCombinationException: 'InvalidParameterCombination',
  ResourceNotFound: 'ResourceNotFound',
  InvalidNextToken: 'InvalidNextToken',
  InvalidFormatFault: 'InvalidFormat',
  LimitExceededFault: 'LimitExceeded',
};

/** A CloudWatch error with the catalog's default message unless one is given. */
export const cloudWatchError = (
  code: CloudWatchErrorCode,
  message: string = CLOUDWATCH_ERRORS[code].message,
  options?: CatalogErrorOptions,
): AwsJsonError<CloudWatchErrorCode> => new AwsJsonError(code, message, options);

/** Adds `x-amzn-query-error: <code>;Sender` to an error answer (AWS JSON with query compatibility). */
export function withQueryErrorHeader<
  R extends { status: number; headers: Record<string, string>; body: string },
>(r: R): R {
  if (r.status < 400) return r;
  const code = r.headers['x-amzn-errortype'];
  const query = code ? QUERY_ERROR_CODES[code] : undefined;
  if (!query) return r;
  return {
    ...r,
    headers: {
      ...r.headers,
      'x-amzn-query-error': `${query};${r.status >= 500 ? 'Receiver' : 'Sender'}`,
    },
  };
}
