import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { FastifyServerFactory } from 'fastify';
import type { Principal } from '../objects/index.js';
import { SigV4Error, type Authenticator } from './auth.js';
import { isRuntimePath } from './runtime/index.js';
import type { S3Api, S3Exchange } from './s3/index.js';
import { EMPTY_SHA256, type SignedRequest } from './sigv4/index.js';

/**
 * The S3 fast path: SigV4-signed S3 requests (header or presigned) go from node:http straight to
 * the S3 API, past Fastify's routing, request/reply objects and hook chain — which cost more per
 * request than the S3 operation's own work for small objects. It serves exactly what the
 * catch-all route's dispatch would hand to `s3.handle` (the same parse, verify, principal and
 * error answers); everything else (console, SageMaker and the other JSON services, runtime
 * invocations, CORS preflights, browser POST forms, unsigned and V2-presigned requests,
 * `/metrics`) goes to Fastify unchanged. The server-wide bounds are the same server's (connection
 * idle timeout, Node's header timeout); S3's per-body deadlines live in the S3 API. Fastify answers
 * while it closes (503, connection closed), and whenever a proxy is trusted (its `req.ip`).
 */
export interface S3FastPathDeps {
  readonly s3: S3Api;
  readonly authenticator: Authenticator;
  readonly principalOf: (accessKeyId: string) => Principal;
}

/** Methods S3 operations use; OPTIONS (CORS preflight) and the rest go to Fastify. */
const METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE']);

/** True when dispatch would hand this request to S3 if signed for it (see the module doc). */
function eligible(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  if (url.charCodeAt(0) !== 47 /* '/' */ || url.startsWith('/_apiary')) return false;
  if (!METHODS.has(req.method ?? '')) return false;
  if (url === '/metrics' || url.startsWith('/metrics?')) return false;
  const h = req.headers;
  if (h['x-amz-target'] !== undefined) return false;
  if (/^multipart\/form-data/i.test(h['content-type'] ?? '')) return false;
  return !isRuntimePath(url);
}

/**
 * Builds the request listener: serves a signed S3 request and returns true, or returns false and
 * leaves the request untouched for Fastify.
 */
export function s3FastPath(
  deps: S3FastPathDeps,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { s3, authenticator } = deps;
  return (req, res) => {
    if (!eligible(req)) return false;
    const signed: SignedRequest = {
      method: req.method ?? 'GET',
      rawUrl: req.url ?? '/',
      rawHeaders: req.rawHeaders,
    };
    const x: S3Exchange = {
      req,
      res,
      id: randomUUID(),
      ip: req.socket.remoteAddress ?? '',
      hijack: () => undefined,
    };
    let auth;
    try {
      auth = authenticator.parse(signed);
    } catch (err) {
      if (!(err instanceof SigV4Error)) throw err;
      s3.refuse(x, err);
      return true;
    }
    // Unsigned, V2-presigned and other services' requests: Fastify's dispatch decides.
    if (!auth || auth.service !== 's3') return false;
    let verified;
    try {
      verified = authenticator.verify(signed, auth, auth.contentSha256 ?? EMPTY_SHA256, x.ip);
    } catch (err) {
      if (err instanceof SigV4Error) s3.refuse(x, err);
      else s3.fail(x, err);
      return true;
    }
    s3.serve(x, verified, deps.principalOf(verified.accessKeyId)).catch((err: unknown) =>
      s3.fail(x, err),
    );
    return true;
  };
}

/**
 * Fastify's `serverFactory`: an HTTP/1 server (as Fastify would create it) whose request listener
 * offers each request to `fastPath()` first. `fastPath` is read per request: it is built after
 * Fastify (it needs the S3 API), and undefined while the app closes or when a proxy is trusted.
 */
export function serverWithFastPath(
  fastPath: () => ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined,
): FastifyServerFactory {
  return (handler, opts) => {
    const o = opts as {
      http?: http.ServerOptions;
      keepAliveTimeout?: number;
      requestTimeout?: number;
      connectionTimeout?: number;
      maxRequestsPerSocket?: number;
    };
    const server = http.createServer(o.http ?? {}, (req, res) => {
      const fast = fastPath();
      let served = false;
      if (fast) {
        try {
          served = fast(req, res);
        } catch {
          // A failure before the fast path took the request over: Fastify answers it.
          served = false;
        }
      }
      if (!served) handler(req, res);
    });
    // What Fastify sets on the HTTP/1 server it creates itself (lib/server.js).
    server.keepAliveTimeout = o.keepAliveTimeout ?? 72_000;
    server.requestTimeout = o.requestTimeout ?? 0;
    server.setTimeout(o.connectionTimeout ?? 0);
    if ((o.maxRequestsPerSocket ?? 0) > 0) server.maxRequestsPerSocket = o.maxRequestsPerSocket!;
    return server;
  };
}
