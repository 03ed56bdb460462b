import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../shared/clock.js';
import { Authenticator, StaticCredentialStore } from './auth.js';
import type { S3Api, S3Exchange } from './s3/index.js';
import { s3FastPath, serverWithFastPath } from './s3-fast-path.js';

const KEY = { accessKeyId: 'AKIAFASTPATH00000001', secretAccessKey: 'fast-path-secret' };

/**
 * An S3 API that answers with what reached it, so that each test sees which side (fast path or
 * Fastify) served a request; the S3 operations themselves are covered by the S3 suites, which all
 * run through the fast path.
 */
const recordingS3: S3Api = {
  handle: () => Promise.reject(new Error('not on the fast path')),
  handleAnonymous: () => Promise.reject(new Error('not on the fast path')),
  authError: () => undefined,
  serveUnsigned: () => Promise.resolve(false),
  serve(x: S3Exchange, auth, principal) {
    let bytes = 0;
    x.req.on('data', (c: Buffer) => (bytes += c.length));
    x.req.on('end', () =>
      x.res.end(
        `fast ${x.req.method} ${auth.accessKeyId} ${principal.kind} ${bytes} ${x.id.length}`,
      ),
    );
    return Promise.resolve();
  },
  refuse(x, err) {
    x.res.writeHead(403).end(`refused ${err.kind}`);
  },
  fail(x) {
    x.res.writeHead(500).end('failed');
  },
};

let app: FastifyInstance;
let base: string;
let open = true;

beforeAll(async () => {
  const fast = s3FastPath({
    s3: recordingS3,
    authenticator: new Authenticator(new StaticCredentialStore([KEY]), systemClock),
    principalOf: () => ({ kind: 'root' }),
  });
  app = Fastify({
    serverFactory: serverWithFastPath(() => (open ? fast : undefined)),
    connectionTimeout: 12_345,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));
  app.all('/*', async (req) => `fastify ${req.method}`);
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(() => app?.close());

async function signed(
  method: string,
  path: string,
  opts: { service?: string; secret?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string }> {
  const url = new URL(base);
  const service = opts.service ?? 's3';
  const signer = new SignatureV4({
    service,
    region: 'us-east-1',
    credentials: { ...KEY, secretAccessKey: opts.secret ?? KEY.secretAccessKey },
    sha256: Sha256,
    uriEscapePath: service !== 's3',
  });
  const req = await signer.sign({
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path,
    query: {},
    headers: {
      host: url.host,
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      ...opts.headers,
    },
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  const res = await fetch(base + path, {
    method,
    headers: req.headers,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  return { status: res.status, text: await res.text() };
}

describe('S3 fast path', () => {
  it('serves SigV4-signed S3 requests itself, bodies included', async () => {
    expect(await signed('GET', '/bucket/key')).toEqual({
      status: 200,
      text: `fast GET ${KEY.accessKeyId} root 0 36`,
    });
    expect(await signed('PUT', '/bucket/key', { body: 'x'.repeat(1000) })).toEqual({
      status: 200,
      text: `fast PUT ${KEY.accessKeyId} root 1000 36`,
    });
  });

  it('answers a bad S3 signature as the S3 API refuses it', async () => {
    expect(await signed('GET', '/bucket/key', { secret: 'wrong' })).toEqual({
      status: 403,
      text: 'refused BadSignature',
    });
  });

  it('leaves everything else to Fastify', async () => {
    // Unsigned, another service, the console, a preflight, a browser form, /metrics.
    expect(await (await fetch(`${base}/bucket/key`)).text()).toBe('fastify GET');
    expect(
      (
        await signed('POST', '/', {
          service: 'sagemaker',
          body: '{}',
          headers: { 'x-amz-target': 'SageMaker.ListTrainingJobs' },
        })
      ).text,
    ).toBe('fastify POST');
    expect((await signed('GET', '/_apiary/health')).text).toBe('fastify GET');
    expect((await signed('GET', '/metrics')).text).toBe('fastify GET');
    expect(
      (await signed('POST', '/bucket', { headers: { 'content-type': 'multipart/form-data; b=1' } }))
        .text,
    ).toBe('fastify POST');
    expect(await (await fetch(`${base}/bucket/key`, { method: 'OPTIONS' })).text()).toBe(
      'fastify OPTIONS',
    );
  });

  it('hands signed S3 requests to Fastify too once the fast path is withdrawn (closing)', async () => {
    open = false;
    try {
      expect((await signed('GET', '/bucket/key')).text).toBe('fastify GET');
    } finally {
      open = true;
    }
  });

  it('gives the server the timeouts Fastify would', () => {
    expect(app.server.timeout).toBe(12_345);
    expect(app.server.keepAliveTimeout).toBe(72_000);
  });
});
