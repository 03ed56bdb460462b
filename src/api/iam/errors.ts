import type { ErrorCatalog, ErrorSpec } from '../error-catalog.js';
import type { IamErrorCode } from '../../iam/index.js';
import type { SigV4Error } from '../sigv4/index.js';

/**
 * Errors every AWS query-protocol service answers (IAM, STS, and the query services Apiary does not
 * implement): SigV4's, the protocol's own, as AWS's common-errors table words them. Rendered as
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
 */
export const QUERY_ERRORS = {
  MissingAuthenticationToken: { status: 403, message: 'Request is missing Authentication Token' },
  Throttling: { status: 400, message: 'Rate exceeded' },
  InvalidClientTokenId: {
    status: 403,
    message: 'The security token included in the request is invalid.',
  },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  },
  IncompleteSignature: {
    status: 400,
    message: 'The request signature does not conform to AWS standards.',
  },
  MissingAction: { status: 400, message: 'The request must contain the parameter Action.' },
  InvalidAction: {
    status: 400,
    message:
      'The action or operation requested is invalid. Verify that the action is typed correctly.',
  },
  MissingParameter: {
    status: 400,
    message: 'A required parameter for the specified action is not supplied.',
  },
  ValidationError: {
    status: 400,
    message: 'The input fails to satisfy the constraints specified by an AWS service.',
  },
  PayloadTooLarge: {
    status: 413,
    message: 'The request body is too large.',
    wireCode: 'ValidationError',
  },
  InternalFailure: {
    status: 500,
    message: 'The request processing has failed because of an unknown error.',
  },
} as const satisfies ErrorCatalog;

/** IAM's catalog: the common rows plus the exceptions `iam/2010-05-08/service-2.json` models. */
export const IAM_ERRORS = {
  ...QUERY_ERRORS,
  NoSuchEntity: {
    status: 404,
    message:
      'The request was rejected because it referenced a resource entity that does not exist.',
  },
  EntityAlreadyExists: {
    status: 409,
    message:
      'The request was rejected because it attempted to create a resource that already exists.',
  },
  DeleteConflict: {
    status: 409,
    message:
      'The request was rejected because it attempted to delete a resource that has attached subordinate entities.',
  },
  MalformedPolicyDocument: {
    status: 400,
    message: 'The request was rejected because the policy document was malformed.',
  },
  InvalidInput: {
    status: 400,
    message:
      'The request was rejected because an invalid or out-of-range value was supplied for an input parameter.',
  },
  LimitExceeded: {
    status: 409,
    message:
      'The request was rejected because it attempted to create resources beyond the current AWS account limits.',
  },
  AccessDenied: {
    status: 403,
    message: 'User is not authorized to perform this action.',
  },
  // Every code the IAM context throws has a row: a missing one fails to compile here.
} as const satisfies ErrorCatalog & Readonly<Record<IamErrorCode, ErrorSpec>>;

/** STS's catalog (GetCallerIdentity needs only the common rows). */
export const STS_ERRORS = { ...QUERY_ERRORS } as const satisfies ErrorCatalog;

export type QueryErrorCode = keyof typeof QUERY_ERRORS;
export type IamApiErrorCode = keyof typeof IAM_ERRORS;

/** The query protocol's code for each SigV4 failure. */
export function queryAuthError(err: SigV4Error): { code: QueryErrorCode; message: string } {
  switch (err.kind) {
    case 'Missing':
      return {
        code: 'MissingAuthenticationToken',
        message: QUERY_ERRORS.MissingAuthenticationToken.message,
      };
    case 'UnknownKey':
      return { code: 'InvalidClientTokenId', message: QUERY_ERRORS.InvalidClientTokenId.message };
    case 'BadSignature':
    case 'Skewed':
    case 'Expired':
      return { code: 'SignatureDoesNotMatch', message: err.message };
    case 'Malformed':
    case 'BadExpires':
      return { code: 'IncompleteSignature', message: err.message };
    case 'Throttled':
      return { code: 'Throttling', message: err.message };
  }
}
