import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { S3Error, sendS3Error } from './errors.js';

/**
 * Fastify's `frameworkErrors`: the answers it gives before any route runs. A URL it cannot decode
 * (not valid percent-encoded UTF-8) is S3's 400 `InvalidURI` in S3's XML — AWS's answer — rather
 * than Fastify's JSON, except under the console's `/_apiary/` prefix. Other framework errors keep
 * Fastify's own JSON answer.
 */
export function onFrameworkError(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const url = request.raw.url ?? '/';
  if (err.code === 'FST_ERR_BAD_URL' && !url.startsWith('/_apiary/')) {
    const q = url.indexOf('?');
    sendS3Error(
      {
        req: request.raw,
        res: reply.raw,
        requestId: request.id,
        method: request.raw.method ?? 'GET',
        resource: q >= 0 ? url.slice(0, q) : url,
      },
      new S3Error('InvalidURI'),
      // The request's body (if any) is never read: the connection cannot be reused.
      true,
    );
    return;
  }
  const status = err.statusCode ?? 400;
  void reply
    .code(status)
    .send({ error: 'Bad Request', code: err.code, message: err.message, statusCode: status });
}
