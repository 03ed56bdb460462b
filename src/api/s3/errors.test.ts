import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectStoreError } from '../../objects/index.js';
import { SigV4Error } from '../sigv4/index.js';
import {
  S3Error,
  S3_ERRORS,
  authToS3Error,
  s3ErrorStatus,
  sendS3Error,
  toS3Error,
  type S3ErrorCode,
} from './errors.js';

describe('the S3 error catalog', () => {
  it('gives every code an HTTP error status and a sentence of a default message', () => {
    for (const [code, spec] of Object.entries(S3_ERRORS)) {
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.status, code).toBeLessThan(600);
      expect(spec.message.length, code).toBeGreaterThan(5);
    }
  });

  it('answers the statuses AWS documents for the codes clients branch on', () => {
    const known: Record<string, number> = {
      AccessDenied: 403,
      BadDigest: 400,
      BucketNotEmpty: 409,
      EntityTooLarge: 400,
      EntityTooSmall: 400,
      InternalError: 500,
      InvalidRange: 416,
      MethodNotAllowed: 405,
      MissingContentLength: 411,
      NoSuchBucket: 404,
      NoSuchKey: 404,
      NoSuchUpload: 404,
      NotImplemented: 501,
      PreconditionFailed: 412,
      RequestTimeTooSkewed: 403,
      ServiceUnavailable: 503,
      SignatureDoesNotMatch: 403,
    };
    for (const [code, status] of Object.entries(known))
      expect([code, s3ErrorStatus(code as S3ErrorCode)]).toEqual([code, status]);
    expect(S3_ERRORS.NoSuchKey.message).toBe('The specified key does not exist.');
    expect(S3_ERRORS.NoSuchBucket.message).toBe('The specified bucket does not exist.');
  });

  it('takes the status from the catalog and the message from it when none is given', () => {
    const e = new S3Error('NoSuchUpload');
    expect([e.status, e.message]).toEqual([404, S3_ERRORS.NoSuchUpload.message]);
    expect(new S3Error('InvalidArgument', "max-keys 'x' is not an integer").message).toBe(
      "max-keys 'x' is not an integer",
    );
  });
});

describe('toS3Error', () => {
  it('keeps the object store code, message and context', () => {
    const e = toS3Error(
      new ObjectStoreError('BucketNotEmpty', 'The bucket you tried to delete is not empty.', {
        BucketName: 'b',
      }),
      'r1',
    );
    expect([e.code, e.status, e.message, e.detail]).toEqual([
      'BucketNotEmpty',
      409,
      'The bucket you tried to delete is not empty.',
      { BucketName: 'b' },
    ]);
  });

  it('turns anything unexpected into InternalError, reported with the request id and shown without internals', () => {
    const seen: [unknown, string][] = [];
    const e = toS3Error(new Error('disk on fire at /var/lib/x'), 'r2', (err, id) =>
      seen.push([err, id]),
    );
    expect([e.code, e.status, e.message]).toEqual([
      'InternalError',
      500,
      'We encountered an internal error. Please try again.',
    ]);
    expect(seen.map(([err, id]) => [(err as Error).message, id])).toEqual([
      ['disk on fire at /var/lib/x', 'r2'],
    ]);
  });
});

describe('authToS3Error', () => {
  const req = (url: string, authorization?: string) =>
    ({ url, headers: authorization ? { authorization } : {} }) as IncomingMessage;

  it('maps each SigV4 failure to the code S3 answers', () => {
    expect(authToS3Error(new SigV4Error('BadSignature', 'no match'), req('/b/k')).code).toBe(
      'SignatureDoesNotMatch',
    );
    expect(authToS3Error(new SigV4Error('UnknownKey', 'who'), req('/b/k')).status).toBe(403);
    expect(
      authToS3Error(
        new SigV4Error('Malformed', 'bad credential'),
        req('/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256'),
      ).code,
    ).toBe('AuthorizationQueryParametersError');
    expect(authToS3Error(new SigV4Error('Malformed', 'bad credential'), req('/b/k')).code).toBe(
      'AuthorizationHeaderMalformed',
    );
  });

  it('tells a client signing Signature Version 2 headers how to switch to SigV4', () => {
    const e = authToS3Error(new SigV4Error('Malformed', 'V2'), req('/b/k', 'AWS AKID:sig'));
    expect(e.code).toBe('AccessDenied');
    expect(e.message).toMatch(/accepted only in presigned URLs.*signature_version='s3v4'/);
  });
});

describe('sendS3Error', () => {
  let server: http.Server;
  let base: string;
  let next: { err: S3Error; resource: string } = {
    err: new S3Error('InternalError'),
    resource: '/',
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      sendS3Error(
        { req, res, requestId: 'REQ1', method: req.method ?? 'GET', resource: next.resource },
        next.err,
        false,
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('writes Code, Message, the detail, Resource and RequestId as S3 XML with the catalog status', async () => {
    next = {
      err: new S3Error('NoSuchKey', undefined, { Key: 'a&b.txt' }),
      resource: '/bees/a&b.txt',
    };
    const r = await fetch(`${base}/bees/a&b.txt`);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toBe('application/xml');
    expect(r.headers.get('x-amz-request-id')).toBe('REQ1');
    expect(await r.text()).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>' +
        '<Key>a&amp;b.txt</Key><Resource>/bees/a&amp;b.txt</Resource><RequestId>REQ1</RequestId><HostId>REQ1</HostId></Error>',
    );
  });

  it('sends the error headers and no body for HEAD', async () => {
    next = {
      err: new S3Error('InvalidRange', undefined, {}, { 'content-range': 'bytes */3' }),
      resource: '/bees/k',
    };
    const r = await fetch(`${base}/bees/k`, { method: 'HEAD' });
    expect([
      r.status,
      r.headers.get('content-range'),
      r.headers.get('content-length'),
      await r.text(),
    ]).toEqual([416, 'bytes */3', '0', '']);
  });
});
