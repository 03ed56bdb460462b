/**
 * Errors raised by the domain contexts. The code is SageMaker's own vocabulary (the product's
 * language); each wire protocol maps it to its shape at the edge (`api/`). Whether a failure is
 * retryable is data on the error, not a subclass.
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

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly httpStatus: number;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      cause?: unknown;
      retryable?: boolean;
      httpStatus?: number;
      context?: Record<string, unknown>;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.httpStatus = options.httpStatus ?? (code === ErrorCodes.Internal ? 500 : 400);
    this.context = Object.freeze({ ...options.context });
  }
}

export const validationError = (message: string): AppError =>
  new AppError(ErrorCodes.Validation, message);

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
