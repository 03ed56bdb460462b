// Placeholder until the S3 API lands: answers NotImplemented in S3's XML shape.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { VerifiedSigV4, SigV4Error } from '../sigv4/index.js';
import type { ObjectStore } from '../../objects/object-store.js';

export interface S3Api {
  handle(req: FastifyRequest, reply: FastifyReply, auth: VerifiedSigV4): Promise<void>;
  authError(req: FastifyRequest, reply: FastifyReply, err: SigV4Error): void;
}

export function createS3Api(_deps: { store: ObjectStore; region: string }): S3Api {
  const xml = (reply: FastifyReply, status: number, code: string, message: string): void => {
    void reply
      .code(status)
      .header('content-type', 'application/xml')
      .send(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
      );
  };
  return {
    async handle(_req, reply) {
      xml(reply, 501, 'NotImplemented', 'The S3 API is not implemented yet');
    },
    authError(_req, reply, err) {
      xml(reply, 403, 'AccessDenied', err.message);
    },
  };
}
