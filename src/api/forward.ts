import http from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Forwarding between replicas. Some calls can only be answered by the replica that owns a
 * resource: an endpoint's invocations and updates (its fleet lives there), and stopping a running
 * training job (its process lives there). Logs need no forwarding: with replicas they are kept in
 * the database. Any other replica passes such a
 * request on unchanged — same method, path, headers and body — so the owner verifies the caller's
 * own SigV4 signature (every replica shares the root credentials) and answers as if called
 * directly. A forwarded request carries `x-apiary-forwarded-by` and is never forwarded again.
 */
export const FORWARDED_HEADER = 'x-apiary-forwarded-by';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

export interface ForwardOptions {
  /** This replica's id, sent in the forwarded-by header. */
  readonly replicaId: string;
  /** How long a forwarded request may take before the caller gets a 503. */
  readonly timeoutMs: number;
}

/** Whether this request came from a peer already (then it is served here, whatever the lease says). */
export function isForwarded(req: FastifyRequest): boolean {
  return req.headers[FORWARDED_HEADER] !== undefined;
}

/**
 * Sends `req` to the peer at `peerUrl` and streams the answer back. `body` is the bytes already
 * read from the request, or the request stream itself when nothing was read yet.
 * @returns false when the peer could not be reached (nothing was sent to the client yet).
 */
export async function forwardRequest(
  req: FastifyRequest,
  reply: FastifyReply,
  peerUrl: string,
  body: Buffer | Readable,
  options: ForwardOptions,
): Promise<boolean> {
  const target = new URL(req.raw.url ?? '/', peerUrl);
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    headers[k] = v;
  }
  headers[FORWARDED_HEADER] = options.replicaId;
  if (Buffer.isBuffer(body)) {
    headers['content-length'] = String(body.length);
    delete headers['transfer-encoding'];
  }
  return new Promise<boolean>((resolve, reject) => {
    let answered = false;
    const out = http.request(
      {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: target.pathname + target.search,
        // The original Host stays: it is part of what the client signed.
        headers,
        timeout: options.timeoutMs,
      },
      (res) => {
        answered = true;
        const back: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined && !HOP_BY_HOP.has(k)) back[k] = v;
        }
        reply.hijack();
        reply.raw.writeHead(res.statusCode ?? 502, back);
        pipeline(res, reply.raw).then(
          () => resolve(true),
          () => resolve(true),
        );
      },
    );
    out.on('timeout', () => out.destroy(new Error('forwarded request timed out')));
    out.on('error', (err) => {
      if (!answered) resolve(false);
      else reject(err);
    });
    if (Buffer.isBuffer(body)) out.end(body);
    else body.pipe(out);
  });
}
