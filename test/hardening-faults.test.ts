import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Item 10 of the hardening audit: hostile JSON and what internal errors may say.
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

/** A correctly signed SageMaker JSON call with a raw body (what an SDK would never send). */
async function rawCall(
  target: string,
  body: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const url = new URL(server.url);
  const signer = new SignatureV4({
    service: 'sagemaker',
    region: server.region,
    credentials: server.credentials,
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    headers: {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `SageMaker.${target}`,
    },
    body,
  });
  const res = await fetch(server.url, {
    method: 'POST',
    headers: signed.headers as Record<string, string>,
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('hostile JSON', () => {
  it('answers 1e400, NUL characters and duplicate keys as validation errors, never a 500', async () => {
    const huge = await rawCall('ListModels', '{"MaxResults": 1e400}');
    expect(huge.status).toBe(400);
    expect(String(huge.json.__type)).toMatch(/ValidationException|SerializationException/);
    const nul = await rawCall('DescribeModel', '{"ModelName": "bee\\u0000s"}');
    expect(nul.status).toBe(400);
    expect(String(nul.json.__type)).toMatch(/ValidationException/);
    const dup = await rawCall('DescribeModel', '{"ModelName": "a", "ModelName": "b"}');
    expect(dup.status).toBe(400);
    expect(JSON.stringify(dup.json)).not.toMatch(/\/work|\/tmp|node_modules|at \w+ \(/);
    for (const r of [huge, nul, dup])
      expect(JSON.stringify(r.json)).not.toMatch(/\/work|\/tmp|node_modules|at \w+ \(/);
  });
});
