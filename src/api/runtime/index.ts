import type { FastifyReply, FastifyRequest } from 'fastify';
import { performance } from 'node:perf_hooks';
import type { Hosting } from '../../hosting/index.js';
import { InvokeError } from '../../hosting/index.js';
import { jsonAuthError, SigV4Error } from '../auth.js';
import { inCatalog, internalErrorMessage, wireError } from '../error-catalog.js';
import { EMPTY_SHA256, sha256Hex } from '../sigv4/index.js';
import { RUNTIME_ERRORS, RuntimeApiError, type RuntimeErrorCode } from './errors.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable } from '../../store/index.js';

/** SageMaker Runtime's payload limit for InvokeEndpoint: 6 MiB. */
export const MAX_INVOKE_BODY_BYTES = 6 * 1024 * 1024;
/**
 * Bytes of invocation bodies held at once (being received or served), across all endpoints.
 * Bodies are read before a variant's queue can admit or shed them (the signature covers the body),
 * so this bounds memory when many clients upload at once; beyond it: 503 + Retry-After at once.
 */
export const MAX_INFLIGHT_BODY_BYTES = 256 * 1024 * 1024;

const INVOCATIONS_PATH = /^\/endpoints\/([^/?#]*)\/invocations(?:\?.*)?$/;
const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const VISIBLE_ASCII = /^[\x20-\x7e]*$/;

/** Whether a signed `sagemaker` request is for the runtime (`/endpoints/{name}/invocations`). */
export const isRuntimePath = (url: string | undefined): boolean => INVOCATIONS_PATH.test(url ?? '');

/** Reads the body with a size cap and a deadline (a client trickling bytes is cut off). */
function readInvokeBody(req: FastifyRequest, limit: number, timeoutMs: number): Promise<Buffer> {
  const raw = req.raw;
  const declared = Number(raw.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(
      new RuntimeApiError(
        'PayloadTooLarge',
        `Received payload of ${declared} bytes; InvokeEndpoint accepts at most ${limit} bytes (6 MiB).`,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new RuntimeApiError(
          'BodyTimeout',
          `The request body was not received within ${Math.round(timeoutMs / 1000)} s; send the whole body promptly.`,
        ),
      );
    }, timeoutMs);
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        cleanup();
        reject(
          new RuntimeApiError(
            'PayloadTooLarge',
            `The payload exceeds ${limit} bytes; InvokeEndpoint accepts at most 6 MiB.`,
          ),
        );
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      clearTimeout(timer);
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onError);
    };
    raw.on('data', onData);
    raw.on('end', onEnd);
    raw.on('error', onError);
  });
}

export interface RuntimeApiOptions {
  readonly hosting: Hosting;
  readonly region: string;
  readonly accountId: string;
  /** Milliseconds a client gets to send the whole body. */
  readonly bodyTimeoutMs: number;
  readonly onInternalError: (err: unknown, requestId: string) => void;
}

/**
 * SageMaker Runtime over rest-json: `POST /endpoints/{EndpointName}/invocations`, signed with
 * service `sagemaker`. Errors carry `x-amzn-ErrorType` and a JSON body; ModelError adds
 * OriginalStatusCode, OriginalMessage and LogStreamArn.
 */
export function createRuntimeApi(opts: RuntimeApiOptions) {
  let inflightBytes = 0;
  /** The one place a runtime error takes its wire shape; the status comes from the catalog. */
  const error = (
    reply: FastifyReply,
    requestId: string,
    code: RuntimeErrorCode,
    message?: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ): void => {
    const e = wireError(RUNTIME_ERRORS, code, message);
    void reply
      .code(e.status)
      .headers({
        'content-type': 'application/json',
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': e.code,
        date: new Date().toUTCString(),
        ...headers,
      })
      .send(
        Buffer.from(JSON.stringify({ ...extra, message: e.message, Message: e.message }), 'utf8'),
      );
  };
  /** Anything unexpected: logged with the request id, answered without internals. */
  const internal = (
    reply: FastifyReply,
    requestId: string,
    err: unknown,
    headers: Record<string, string> = {},
  ): void => {
    if (reply.sent || reply.raw.headersSent) {
      opts.onInternalError(err, requestId);
      return void reply.raw.destroy();
    }
    if (isDatabaseUnavailable(err)) {
      return error(
        reply,
        requestId,
        'ServiceUnavailable',
        DATABASE_UNAVAILABLE_MESSAGE,
        {},
        { ...headers, 'retry-after': '2' },
      );
    }
    opts.onInternalError(err, requestId);
    error(reply, requestId, 'InternalFailure', internalErrorMessage(requestId), {}, headers);
  };

  return {
    /** 503 ServiceUnavailable with Retry-After (e.g. the replica serving the endpoint is down). */
    unavailable(reply: FastifyReply, requestId: string, message: string): void {
      error(reply, requestId, 'ServiceUnavailable', message, {}, { 'retry-after': '2' });
    },
    /**
     * @param verify checks the SigV4 signature against the payload hash; throws SigV4Error.
     */
    async handle(
      req: FastifyRequest,
      reply: FastifyReply,
      verify: (payloadHash: string) => void,
    ): Promise<void> {
      const receivedAt = performance.now();
      const requestId = req.id;
      const match = INVOCATIONS_PATH.exec(req.raw.url ?? '');
      if (!match || req.method !== 'POST') {
        return error(
          reply,
          requestId,
          'UnknownOperationException',
          `No SageMaker Runtime operation matches ${req.method} ${req.raw.url?.split('?')[0]}; InvokeEndpoint is POST /endpoints/{EndpointName}/invocations.`,
        );
      }
      const declared = Number(req.headers['content-length'] ?? NaN);
      const reserve =
        Number.isFinite(declared) && declared >= 0
          ? Math.min(declared, MAX_INVOKE_BODY_BYTES)
          : MAX_INVOKE_BODY_BYTES;
      if (inflightBytes + reserve > MAX_INFLIGHT_BODY_BYTES) {
        reply.header('connection', 'close');
        return error(
          reply,
          requestId,
          'ServiceUnavailable',
          'Apiary is receiving too many invocation bodies at once; retry after a short wait.',
          {},
          { 'retry-after': '1' },
        );
      }
      inflightBytes += reserve;
      try {
        await handleAdmitted(req, reply, verify, match, receivedAt);
      } catch (err) {
        internal(reply, requestId, err);
      } finally {
        inflightBytes -= reserve;
      }
    },
  };

  async function handleAdmitted(
    req: FastifyRequest,
    reply: FastifyReply,
    verify: (payloadHash: string) => void,
    match: RegExpExecArray,
    receivedAt: number,
  ): Promise<void> {
    const requestId = req.id;
    let body: Buffer;
    try {
      body = await readInvokeBody(req, MAX_INVOKE_BODY_BYTES, opts.bodyTimeoutMs);
    } catch (e) {
      if (e instanceof RuntimeApiError) {
        reply.header('connection', 'close');
        error(reply, requestId, e.code, e.message);
        if (e.code === 'BodyTimeout') req.raw.socket.destroySoon?.();
        return;
      }
      throw e;
    }
    try {
      const declared = req.headers['x-amz-content-sha256'];
      const actual = body.length === 0 ? EMPTY_SHA256 : sha256Hex(body);
      if (typeof declared === 'string' && declared !== 'UNSIGNED-PAYLOAD' && declared !== actual) {
        throw new SigV4Error(
          'BadSignature',
          'The provided x-amz-content-sha256 header does not match what was computed.',
        );
      }
      verify(declared === 'UNSIGNED-PAYLOAD' ? declared : actual);
    } catch (err) {
      if (!(err instanceof SigV4Error)) throw err;
      const e = jsonAuthError(err);
      return error(reply, requestId, e.code, e.message);
    }
    let name: string;
    try {
      name = decodeURIComponent(match[1]!);
    } catch {
      name = match[1]!;
    }
    const h = req.headers;
    const header = (n: string): string | undefined => {
      const v = h[n];
      return Array.isArray(v) ? v.join(',') : v;
    };
    const target = header('x-amzn-sagemaker-target-variant');
    const custom = header('x-amzn-sagemaker-custom-attributes');
    const inferenceId = header('x-amzn-sagemaker-inference-id');
    const targetModel = header('x-amzn-sagemaker-target-model');
    const problems: string[] = [];
    if (!NAME.test(name))
      problems.push(
        `Value '${name.slice(0, 100)}' at 'endpointName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*`,
      );
    if (target !== undefined && !/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(target))
      problems.push(
        `Value '${target.slice(0, 100)}' at 'targetVariant' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*`,
      );
    if (custom !== undefined && (custom.length > 1024 || !VISIBLE_ASCII.test(custom)))
      problems.push(
        "Value at 'customAttributes' failed to satisfy constraint: Member must have length less than or equal to 1024 and hold visible ASCII characters only",
      );
    if (inferenceId !== undefined && (inferenceId.length < 1 || inferenceId.length > 64))
      problems.push(
        "Value at 'inferenceId' failed to satisfy constraint: Member must have length between 1 and 64",
      );
    if (problems.length > 0) {
      return error(
        reply,
        requestId,
        'ValidationError',
        `${problems.length} validation error${problems.length > 1 ? 's' : ''} detected: ${problems.join('; ')}`,
      );
    }
    let variant: string | undefined;
    try {
      const result = await opts.hosting.invoke(name, target, {
        body,
        contentType: header('content-type'),
        accept: header('accept'),
        customAttributes: custom,
        inferenceId,
        targetModel,
        requestId,
        receivedAt,
      });
      variant = result.variant;
      const headers: Record<string, string> = {
        'content-type': result.response.contentType,
        'x-amzn-requestid': requestId,
        'x-amzn-invoked-production-variant': result.variant,
      };
      if (result.response.customAttributes !== undefined)
        headers['x-amzn-sagemaker-custom-attributes'] = result.response.customAttributes;
      const out = result.response.body;
      void reply
        .code(200)
        .headers(headers)
        .send(typeof out === 'string' ? Buffer.from(out, 'utf8') : out);
    } catch (e) {
      variant ??= (e as { variant?: string }).variant;
      const headers: Record<string, string> = {};
      if (variant) headers['x-amzn-invoked-production-variant'] = variant;
      // hosting's InvokeError speaks the runtime's vocabulary; its status is the catalog's.
      if (
        !(e instanceof InvokeError) ||
        e.code === 'InternalFailure' ||
        !inCatalog(RUNTIME_ERRORS, e.code)
      ) {
        return internal(reply, requestId, e instanceof InvokeError ? (e.cause ?? e) : e, headers);
      }
      if (e.extra.retryAfterSeconds !== undefined)
        headers['retry-after'] = String(e.extra.retryAfterSeconds);
      const extra: Record<string, unknown> = {};
      if (e.code === 'ModelError') {
        extra.OriginalStatusCode = e.extra.originalStatusCode ?? 500;
        extra.OriginalMessage = e.extra.originalMessage ?? e.message;
        extra.LogStreamArn = `arn:aws:logs:${opts.region}:${opts.accountId}:log-group:/aws/sagemaker/Endpoints/${name}:log-stream:${variant ?? 'AllTraffic'}`;
      }
      return error(reply, requestId, e.code, e.message, extra, headers);
    }
  }
}
