import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ObjectStore } from '../../objects/index.js';
import type { AccessStore, Principal } from '../../objects/access/index.js';
import type { SigV4Error, VerifiedSigV4 } from '../sigv4/index.js';
import type { S3Context, S3Env } from './context.js';
import { authToS3Error, sendS3Error, toS3Error } from './errors.js';
import { locate } from './request.js';
import { route } from './router.js';

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
  /** Serves an unsigned request: only a bucket policy or ACL granting everyone admits it. */
  handleAnonymous(req: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Answers a request whose signature failed, as S3 would. */
  authError(req: FastifyRequest, reply: FastifyReply, err: SigV4Error): void;
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
}

/** The path of a request URL, which an error names as its Resource when it could not be parsed. */
const rawResource = (url: string | undefined): string => (url ?? '/').split('?')[0]!;

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
  };

  const api: S3Api = {
    handleAnonymous(request, reply) {
      // An unsigned request carries no key and an unsigned body, as a presigned one does.
      const unsigned: VerifiedSigV4 = {
        accessKeyId: '',
        date: '',
        amzDate: '',
        region: deps.region,
        service: 's3',
        signedHeaders: [],
        signature: '',
        presigned: true,
        contentSha256: 'UNSIGNED-PAYLOAD',
        signingKey: Buffer.alloc(0),
        scope: '',
      };
      return api.handle(request, reply, unsigned, { kind: 'anonymous' });
    },
    async handle(request, reply, auth, principal) {
      reply.hijack();
      const req = request.raw;
      const res = reply.raw;
      const method = (req.method ?? 'GET').toUpperCase();
      let ctx: S3Context | undefined;
      try {
        ctx = {
          env,
          req,
          res,
          auth,
          principal,
          sourceIp: request.ip,
          requestId: request.id,
          method,
          ...locate(req, env.hostSuffixes),
          bodyStarted: false,
        };
        await route(ctx);
      } catch (err) {
        const e = toS3Error(err, request.id, deps.onInternalError);
        // A body abandoned part-way cannot be drained cheaply: answer and close the connection.
        const close = !req.complete && (ctx?.bodyStarted ?? false);
        sendS3Error(
          {
            req,
            res,
            requestId: request.id,
            method,
            resource: ctx?.resource ?? rawResource(req.url),
          },
          e,
          close,
        );
      }
    },
    authError(request, reply, err) {
      reply.hijack();
      const req = request.raw;
      const method = (req.method ?? 'GET').toUpperCase();
      sendS3Error(
        { req, res: reply.raw, requestId: request.id, method, resource: rawResource(req.url) },
        authToS3Error(err, req),
        false,
      );
    },
  };
  return api;
}
