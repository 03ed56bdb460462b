import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import type { TestServer } from './server.js';

/**
 * Sends a hand-built request signed with the AWS SDK's own SigV4 signer — for bad-input tests
 * that the high-level clients refuse to send (malformed JSON, wrong secrets, skewed clocks).
 */
export async function signedFetch(
  server: TestServer,
  opts: {
    service: string;
    method?: string;
    path?: string;
    target?: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    secret?: string;
    date?: Date;
    query?: Record<string, string>;
  },
): Promise<Response> {
  const url = new URL(server.url);
  const signer = new SignatureV4({
    service: opts.service,
    region: server.region,
    credentials: {
      accessKeyId: server.credentials.accessKeyId,
      secretAccessKey: opts.secret ?? server.credentials.secretAccessKey,
    },
    sha256: Sha256,
    uriEscapePath: opts.service !== 's3',
  });
  const headers: Record<string, string> = {
    host: url.host,
    ...(opts.target
      ? { 'x-amz-target': opts.target, 'content-type': 'application/x-amz-json-1.1' }
      : {}),
    ...opts.headers,
  };
  const signed = await signer.sign(
    {
      method: opts.method ?? 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: opts.path ?? '/',
      query: opts.query ?? {},
      headers,
      body: opts.body,
    },
    { signingDate: opts.date ?? new Date() },
  );
  const qs = new URLSearchParams(opts.query ?? {}).toString();
  return fetch(`${server.url}${opts.path ?? '/'}${qs ? '?' + qs : ''}`, {
    method: opts.method ?? 'POST',
    headers: signed.headers,
    body:
      typeof opts.body === 'string' || opts.body === undefined
        ? opts.body
        : new Uint8Array(opts.body),
  });
}
