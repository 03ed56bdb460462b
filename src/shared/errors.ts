/**
 * Errors raised by the domain contexts. The code is SageMaker's own vocabulary (the product's
 * language); each wire protocol's catalog in `api/` gives it an HTTP status and a wire shape —
 * a status is a property of a protocol, not of the failure. Whether a failure is retryable is data
 * on the error, not a subclass.
 */
export const ErrorCodes = {
  Validation: 'ValidationException',
  NotFound: 'ResourceNotFound',
  InUse: 'ResourceInUse',
  LimitExceeded: 'ResourceLimitExceeded',
  Conflict: 'ConflictException',
  Throttling: 'ThrottlingException',
  AccessDenied: 'AccessDeniedException',
  Internal: 'InternalFailure',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** A failure of a domain context, in SageMaker's vocabulary; `api/` renders it per protocol. */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      cause?: unknown;
      retryable?: boolean;
      context?: Record<string, unknown>;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.context = Object.freeze({ ...options.context });
  }
}

export const validationError = (message: string): AppError =>
  new AppError(ErrorCodes.Validation, message);

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
