import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BucketCorsStore, ObjectStore } from '../../objects/index.js';
import type { AccessStore, Principal } from '../../objects/index.js';
import { UNSIGNED_PAYLOAD, type SigV4Error, type VerifiedSigV4 } from '../sigv4/index.js';
import type { PostSignatureVerifier, S3Context, S3Env, S3Lifecycle } from './context.js';
import { applyCors, preflight } from './cors.js';
import { isPostObject, postObject } from './post-object.js';
import { authToS3Error, sendS3Error, toS3Error } from './errors.js';
import { locate } from './request.js';
import { route } from './router.js';

/**
 * One HTTP exchange as the S3 API needs it: the raw request and response, the request id and the
 * client's address. From Fastify ({@link fromFastify}) or from the S3 fast path (`fast-path.ts`),
 * which serves signed S3 requests straight from node:http.
 */
export interface S3Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly id: string;
  readonly ip: string;
  /** Takes the response over from the framework before the API writes it (idempotent). */
  hijack(): void;
}

/** The exchange of a Fastify request: the S3 API writes the raw response (the reply hijacked). */
export const fromFastify = (request: FastifyRequest, reply: FastifyReply): S3Exchange => ({
  req: request.raw,
  res: reply.raw,
  id: request.id,
  ip: request.ip,
  hijack: () => {
    if (!reply.sent) reply.hijack();
  },
});

export interface S3Api {
  /**
   * Serves one SigV4-verified S3 request of `principal`; every failure is answered as an S3 XML
   * error.
   */
  handle(
    req: FastifyRequest,
    reply: FastifyReply,
    auth: VerifiedSigV4,
    principal: Principal,
  ): Promise<void>;
  /** {@link S3Api.handle} on any exchange (the fast path's). */
  serve(x: S3Exchange, auth: VerifiedSigV4, principal: Principal): Promise<void>;
  /** Serves an unsigned request: only a bucket policy or ACL granting everyone admits it. */
  handleAnonymous(req: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Answers a request whose signature failed, as S3 would. */
  authError(req: FastifyRequest, reply: FastifyReply, err: SigV4Error): void;
  /** {@link S3Api.authError} on any exchange. */
  refuse(x: S3Exchange, err: SigV4Error): void;
  /** Answers an unexpected failure outside an operation as S3's InternalError (and reports it). */
  fail(x: S3Exchange, err: unknown): void;
  /**
   * Serves the S3 requests that carry no request signature: CORS preflights (`OPTIONS`) and
   * browser POST uploads (signed in the form). @returns false for any other request.
   */
  serveUnsigned(req: FastifyRequest, reply: FastifyReply): Promise<boolean>;
}

export interface S3ApiDeps {
  readonly store: ObjectStore;
  /** Bucket policies and canned ACLs. */
  readonly access: AccessStore;
  readonly region: string;
  readonly accountId?: string;
  /** A request body that sends nothing for this long fails with RequestTimeout (default 60 s). */
  readonly bodyIdleTimeoutMs?: number;
  /** Host names under which `<bucket>.<suffix>` selects a bucket (virtual-host style). */
  readonly virtualHostSuffixes?: readonly string[];
  readonly onInternalError?: (err: unknown, requestId: string) => void;
  /** Buckets' CORS rules; without it `?cors` answers NotImplemented and preflights 403. */
  readonly cors?: BucketCorsStore;
  /** Buckets' lifecycle rules; without it `?lifecycle` answers NotImplemented. */
  readonly lifecycle?: S3Lifecycle;
  /** Checks browser POST uploads' signatures; without it they are refused. */
  readonly verifyPostSignature?: PostSignatureVerifier;
  /** The principal behind an access key (a POST form's signer); without it forms are anonymous. */
  readonly principalOf?: (accessKeyId: string) => Principal;
  /** Refuse even default SSE requests (APIARY_S3_SSE_STRICT). */
  readonly sseStrict?: boolean;
  /** Accept SSE-C keys over plain HTTP from non-loopback clients (APIARY_S3_SSE_C_ALLOW_HTTP). */
  readonly sseCAllowHttp?: boolean;
}

/** The path of a request URL, which an error names as its Resource when it could not be parsed. */
const rawResource = (url: string | undefined): string => (url ?? '/').split('?')[0]!;

/** True when a request carries a request signature (header or query): not a form upload. */
const signed = (ctx: S3Context): boolean =>
  ctx.req.headers.authorization !== undefined ||
  ctx.query.has('X-Amz-Signature') ||
  ctx.query.has('Signature');

/** S3's REST API over an {@link ObjectStore}: path style and `<bucket>.localhost` virtual hosts. */
export function createS3Api(deps: S3ApiDeps): S3Api {
  const ownerId = createHash('sha256')
    .update(`apiary:${deps.accountId ?? '000000000000'}`)
    .digest('hex');
  const env: S3Env = {
    store: deps.store,
    region: deps.region,
    owner: { ID: ownerId, DisplayName: 'apiary' },
    bodyIdleTimeoutMs: deps.bodyIdleTimeoutMs ?? 60_000,
    hostSuffixes: (deps.virtualHostSuffixes ?? ['localhost']).map((s) => '.' + s.toLowerCase()),
    access: deps.access,
    accountId: deps.accountId ?? '000000000000',
    ...(deps.cors ? { cors: deps.cors } : {}),
    ...(deps.lifecycle ? { lifecycle: deps.lifecycle } : {}),
    ...(deps.verifyPostSignature ? { verifyPostSignature: deps.verifyPostSignature } : {}),
    ...(deps.principalOf ? { principalOf: deps.principalOf } : {}),
    sseStrict: deps.sseStrict ?? false,
    sseCAllowHttp: deps.sseCAllowHttp ?? false,
  };
  /** The auth of requests with no request signature (anonymous ones, preflights, POST forms). */
  const unsigned = (presigned: boolean): VerifiedSigV4 => ({
    accessKeyId: '',
    date: '',
    amzDate: '',
    region: deps.region,
    service: 's3',
    signedHeaders: [],
    signature: '',
    presigned,
    contentSha256: UNSIGNED_PAYLOAD,
    signingKey: Buffer.alloc(0),
    scope: '',
  });

  /** Runs `op` (or the router) on one request's context; every failure is answered as S3's. */
  const serve = async (
    x: S3Exchange,
    auth: VerifiedSigV4,
    principal: Principal,
    pick: (ctx: S3Context) => ((ctx: S3Context) => Promise<void>) | undefined,
  ): Promise<boolean> => {
    const { req, res } = x;
    const method = (req.method ?? 'GET').toUpperCase();
    let ctx: S3Context | undefined;
    try {
      ctx = {
        env,
        req,
        res,
        auth,
        principal,
        sourceIp: x.ip,
        requestId: x.id,
        method,
        ...locate(req, env.hostSuffixes),
        bodyStarted: false,
      };
      const op = pick(ctx);
      if (!op) return false;
      x.hijack();
      if (method !== 'OPTIONS') await applyCors(env.cors, ctx.bucket, req, res, method);
      await op(ctx);
    } catch (err) {
      x.hijack();
      const e = toS3Error(err, x.id, deps.onInternalError);
      // A body abandoned part-way cannot be drained cheaply: answer and close the connection.
      const close = !req.complete && (ctx?.bodyStarted ?? false);
      sendS3Error(
        {
          req,
          res,
          requestId: x.id,
          method,
          resource: ctx?.resource ?? rawResource(req.url),
        },
        e,
        close,
      );
    }
    return true;
  };

  const refuse = (x: S3Exchange, err: SigV4Error): void => {
    x.hijack();
    const method = (x.req.method ?? 'GET').toUpperCase();
    sendS3Error(
      { req: x.req, res: x.res, requestId: x.id, method, resource: rawResource(x.req.url) },
      authToS3Error(err, x.req),
      false,
    );
  };

  return {
    async handle(request, reply, auth, principal) {
      await serve(fromFastify(request, reply), auth, principal, () => route);
    },
    async serve(x, auth, principal) {
      await serve(x, auth, principal, () => route);
    },
    async handleAnonymous(request, reply) {
      // An unsigned request carries no key and an unsigned body, as a presigned one does.
      await serve(fromFastify(request, reply), unsigned(true), { kind: 'anonymous' }, () => route);
    },
    async serveUnsigned(request, reply) {
      return serve(fromFastify(request, reply), unsigned(false), { kind: 'anonymous' }, (ctx) =>
        ctx.method === 'OPTIONS'
          ? preflight
          : isPostObject(ctx) && !signed(ctx)
            ? postObject
            : undefined,
      );
    },
    authError(request, reply, err) {
      refuse(fromFastify(request, reply), err);
    },
    refuse,
    fail(x, err) {
      x.hijack();
      const method = (x.req.method ?? 'GET').toUpperCase();
      sendS3Error(
        { req: x.req, res: x.res, requestId: x.id, method, resource: rawResource(x.req.url) },
        toS3Error(err, x.id, deps.onInternalError),
        !x.req.complete,
      );
    },
  };
}
