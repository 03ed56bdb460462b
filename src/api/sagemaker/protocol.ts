import { randomUUID } from 'node:crypto';
import { isAppError } from '../../shared/errors.js';
import { inCatalog, internalErrorMessage, wireError, type WireError } from '../error-catalog.js';
import { AWS_JSON_ERRORS, AwsJsonError, type SAGEMAKER_ERRORS } from './errors.js';
import type { ServiceModel } from '../service-model.js';
import { formatProblems, jsonDepthExceeds, validateInput } from './validate.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable } from '../../store/index.js';

/** What an operation handler sees besides its validated input. */
export interface OperationContext {
  readonly requestId: string;
  readonly accessKeyId: string;
}

// Inputs are validated against the service model before a handler runs; handlers type them with
// the shapes they need.
export type OperationHandler = (input: any, ctx: OperationContext) => Promise<unknown>;
export type OperationTable = Readonly<Record<string, OperationHandler>>;

export interface JsonResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export const CONTENT_TYPE = 'application/x-amz-json-1.1';
export const MAX_JSON_BODY_BYTES = 5 * 1024 * 1024;

/**
 * The one place an AWS JSON 1.1 error takes its wire shape: `{"__type", "message", "Message"}`
 * (botocore reads `message`, modeled exceptions declare `Message`) plus `x-amzn-ErrorType`, and a
 * `Date` header (SDKs correct clock skew from it).
 */
export function jsonErrorResponse(error: WireError, requestId: string): JsonResponse {
  return {
    status: error.status,
    headers: {
      'content-type': CONTENT_TYPE,
      'x-amzn-requestid': requestId,
      'x-amzn-errortype': error.code,
      date: new Date().toUTCString(),
    },
    body: JSON.stringify({ __type: error.code, message: error.message, Message: error.message }),
  };
}

/** A JSON 1.1 service's catalog: the protocol's own rows, then the service's. */
export type AwsJsonCatalog = typeof AWS_JSON_ERRORS;

/**
 * The AWS JSON 1.1 protocol for one service: `POST /` with `X-Amz-Target: <Prefix>.<Operation>`.
 * Validates against the service model, runs the handler, and answers in the protocol's shapes.
 */
export class JsonProtocol<Catalog extends AwsJsonCatalog = typeof SAGEMAKER_ERRORS> {
  /**
   * @param catalog the service's error catalog: handlers' {@link AwsJsonError}s and the contexts'
   *   AppErrors are answered with its rows; a code it lacks is an internal error.
   * @param onInternalError logs an unexpected failure with the request id (the client sees none of it).
   */
  constructor(
    private readonly model: ServiceModel,
    private readonly targetPrefix: string,
    private readonly operations: OperationTable,
    private readonly catalog: Catalog,
    private readonly onInternalError: (err: unknown, requestId: string) => void,
  ) {}

  operationNames(): string[] {
    return Object.keys(this.operations);
  }

  async handle(
    target: string | undefined,
    body: Buffer,
    accessKeyId: string,
    requestId: string = randomUUID(),
  ): Promise<JsonResponse> {
    try {
      const output = await this.dispatch(target, body, { requestId, accessKeyId });
      return {
        status: 200,
        headers: { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': requestId },
        body: JSON.stringify(output ?? {}),
      };
    } catch (err) {
      return this.errorResponse(err, requestId);
    }
  }

  /**
   * The boundary: a catalogued error keeps its code and message; anything else (a code the
   * catalog lacks, an internal AppError, a bug) is logged with the request id and answered as
   * InternalFailure without internals.
   */
  errorResponse(err: unknown, requestId: string): JsonResponse {
    const known = err instanceof AwsJsonError || isAppError(err) ? err : undefined;
    if (known && known.code !== 'InternalFailure' && inCatalog(this.catalog, known.code)) {
      return jsonErrorResponse(wireError(this.catalog, known.code, known.message), requestId);
    }
    if (isDatabaseUnavailable(err)) {
      return jsonErrorResponse(
        wireError(AWS_JSON_ERRORS, 'ServiceUnavailable', DATABASE_UNAVAILABLE_MESSAGE),
        requestId,
      );
    }
    this.onInternalError(err, requestId);
    return jsonErrorResponse(
      wireError(AWS_JSON_ERRORS, 'InternalFailure', internalErrorMessage(requestId)),
      requestId,
    );
  }

  private async dispatch(
    target: string | undefined,
    body: Buffer,
    ctx: { requestId: string; accessKeyId: string },
  ): Promise<unknown> {
    if (!target) {
      throw new AwsJsonError(
        'UnknownOperationException',
        `Missing X-Amz-Target header; expected '${this.targetPrefix}.<Operation>'`,
      );
    }
    const dot = target.indexOf('.');
    const prefix = target.slice(0, dot);
    const name = target.slice(dot + 1);
    const operation = this.model.operations[name];
    if (dot < 0 || prefix !== this.targetPrefix || !operation) {
      throw new AwsJsonError('UnknownOperationException', `Unknown operation '${target}'`);
    }
    const handler = this.operations[name];
    if (!handler) {
      throw new AwsJsonError(
        'UnknownOperationException',
        `Apiary does not implement the operation ${name} yet. Implemented operations: ${this.operationNames().sort().join(', ')}`,
      );
    }
    const text = body.length === 0 ? '{}' : body.toString('utf8');
    if (jsonDepthExceeds(text)) {
      throw new AwsJsonError('SerializationException', 'The request JSON is nested too deeply');
    }
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch (e) {
      throw new AwsJsonError(
        'SerializationException',
        `The request body is not valid JSON: ${(e as Error).message}`,
      );
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new AwsJsonError('SerializationException', 'The request body must be a JSON object');
    }
    if (operation.input) {
      const problems = validateInput(this.model, operation.input.shape, input);
      const typeProblem = problems.find((p) => p.kind === 'type');
      if (typeProblem) throw new AwsJsonError('SerializationException', typeProblem.message);
      if (problems.length > 0)
        throw new AwsJsonError('ValidationException', formatProblems(problems));
    }
    return handler(input, ctx);
  }
}
