import { randomUUID } from 'node:crypto';
import { AppError, isAppError } from '../../shared/errors.js';
import type { ServiceModel } from '../service-model.js';
import { formatProblems, jsonDepthExceeds, validateInput } from './validate.js';

/** What an operation handler sees besides its validated input. */
export interface OperationContext {
  readonly requestId: string;
  readonly accessKeyId: string;
}

// Inputs are validated against the service model before a handler runs; handlers type them with
// the shapes they need.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OperationHandler = (input: any, ctx: OperationContext) => Promise<unknown>;
export type OperationTable = Readonly<Record<string, OperationHandler>>;

export interface JsonResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A wire error of an AWS JSON 1.1 service. */
export class JsonProtocolError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export const CONTENT_TYPE = 'application/x-amz-json-1.1';
export const MAX_JSON_BODY_BYTES = 5 * 1024 * 1024;

export function jsonError(
  code: string,
  message: string,
  status: number,
  requestId: string,
): JsonResponse {
  return {
    status,
    headers: {
      'content-type': CONTENT_TYPE,
      'x-amzn-requestid': requestId,
      'x-amzn-errortype': code,
      date: new Date().toUTCString(),
    },
    body: JSON.stringify({ __type: code, message, Message: message }),
  };
}

/**
 * The AWS JSON 1.1 protocol for one service: `POST /` with `X-Amz-Target: <Prefix>.<Operation>`.
 * Validates against the service model, runs the handler, and answers in the protocol's shapes.
 */
export class JsonProtocol {
  constructor(
    private readonly model: ServiceModel,
    private readonly targetPrefix: string,
    private readonly operations: OperationTable,
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
      if (err instanceof JsonProtocolError) return jsonError(err.code, err.message, err.status, requestId);
      if (isAppError(err)) {
        if (err.code === 'InternalFailure') this.onInternalError(err, requestId);
        return jsonError(err.code, err.message, err.httpStatus, requestId);
      }
      this.onInternalError(err, requestId);
      return jsonError(
        'InternalFailure',
        `The request processing has failed because of an unknown error (request id ${requestId}).`,
        500,
        requestId,
      );
    }
  }

  private async dispatch(
    target: string | undefined,
    body: Buffer,
    ctx: { requestId: string; accessKeyId: string },
  ): Promise<unknown> {
    if (!target) {
      throw new JsonProtocolError(
        'UnknownOperationException',
        `Missing X-Amz-Target header; expected '${this.targetPrefix}.<Operation>'`,
      );
    }
    const dot = target.indexOf('.');
    const prefix = target.slice(0, dot);
    const name = target.slice(dot + 1);
    const operation = this.model.operations[name];
    if (dot < 0 || prefix !== this.targetPrefix || !operation) {
      throw new JsonProtocolError(
        'UnknownOperationException',
        `Unknown operation '${target}'`,
      );
    }
    const handler = this.operations[name];
    if (!handler) {
      throw new JsonProtocolError(
        'UnknownOperationException',
        `Apiary does not implement the operation ${name} yet. Implemented operations: ${this.operationNames().sort().join(', ')}`,
      );
    }
    const text = body.length === 0 ? '{}' : body.toString('utf8');
    if (jsonDepthExceeds(text)) {
      throw new JsonProtocolError('SerializationException', 'The request JSON is nested too deeply');
    }
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch (e) {
      throw new JsonProtocolError(
        'SerializationException',
        `The request body is not valid JSON: ${(e as Error).message}`,
      );
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new JsonProtocolError('SerializationException', 'The request body must be a JSON object');
    }
    if (operation.input) {
      const problems = validateInput(this.model, operation.input.shape, input);
      const typeProblem = problems.find((p) => p.kind === 'type');
      if (typeProblem) throw new JsonProtocolError('SerializationException', typeProblem.message);
      if (problems.length > 0) throw new AppError('ValidationException', formatProblems(problems));
    }
    return handler(input, ctx);
  }
}
