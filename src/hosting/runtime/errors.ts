/**
 * SageMaker Runtime's error vocabulary (rest-json): each code with its HTTP status. The runtime
 * edge (`api/runtime`) renders these; hosting code throws them.
 */
export const InvokeErrorCodes = {
  ValidationError: 400,
  ModelError: 424,
  ModelNotReadyException: 429,
  InternalFailure: 500,
  ServiceUnavailable: 503,
} as const;

/** Why an invocation failed, in the runtime protocol's vocabulary (mapped by the runtime error catalog). */
export type InvokeErrorCode = keyof typeof InvokeErrorCodes;

/** Thrown by the serving runtime when an invocation fails; its code picks the wire error. */
export class InvokeError extends Error {
  override readonly name = 'InvokeError';
  readonly status: number;
  /** The instance that handled the request, when one did (metrics). */
  instanceId: string | undefined;
  constructor(
    readonly code: InvokeErrorCode,
    message: string,
    readonly extra: {
      readonly status?: number;
      readonly originalStatusCode?: number;
      readonly originalMessage?: string;
      readonly logStreamArn?: string;
      /** Seconds; sent as Retry-After on 429/503. */
      readonly retryAfterSeconds?: number;
      readonly cause?: unknown;
    } = {},
  ) {
    super(message, { cause: extra.cause });
    this.status = extra.status ?? InvokeErrorCodes[code];
  }
}

/** A problem with the artifact or the model: the endpoint becomes Failed with this reason. */
export class DeployError extends Error {
  override readonly name = 'DeployError';
}
