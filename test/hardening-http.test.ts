import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { SageMakerClient, ListModelsCommand } from '@aws-sdk/client-sagemaker';
import { S3Client, ListBucketsCommand } from '@aws-sdk/client-s3';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';

// Items 3, 6 and 7 of the hardening audit: slow bodies, the login/SigV4 limiter, exposure.
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ smallBodyTimeoutMs: 500 });
});

afterAll(async () => {
  await server?.close();
});

const amzDate = (): string =>
  new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/** Opens a raw connection, sends `head`, and resolves with everything read until the server closes it. */
function rawExchange(
  head: string,
  trickle?: { every: number; max: number },
): Promise<{ text: string; sentBodyBytes: number }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    let text = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    sock.on('connect', () => {
      sock.write(head);
      if (trickle) {
        timer = setInterval(() => {
          if (sent >= trickle.max || sock.destroyed) return;
          sock.write('x');
          sent++;
        }, trickle.every);
      }
    });
    sock.on('data', (d) => (text += d.toString()));
    sock.on('error', () => {});
    sock.on('close', () => {
      clearInterval(timer);
      resolve({ text, sentBodyBytes: sent });
    });
    setTimeout(() => reject(new Error('the server never closed the connection')), 60_000).unref();
  });
}

function jsonHead(accessKeyId: string, contentLength: number): string {
  const date = amzDate();
  return [
    'POST / HTTP/1.1',
    `Host: ${new URL(server.url).host}`,
    'Content-Type: application/x-amz-json-1.1',
    'X-Amz-Target: SageMaker.ListModels',
    `X-Amz-Date: ${date}`,
    `Authorization: AWS4-HMAC-SHA256 Credential=${accessKeyId}/${date.slice(0, 8)}/${server.region}/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
    `Content-Length: ${contentLength}`,
    '',
    '',
  ].join('\r\n');
}

describe('slow and unauthenticated bodies', () => {
  it('answers an unknown access key before reading its 5 MB body, and closes the connection', async () => {
    const r = await rawExchange(jsonHead('AKIAUNKNOWNUNKNOWN00', 5 * 1024 * 1024));
    expect(r.text).toMatch(/^HTTP\/1\.1 403/);
    expect(r.text).toContain('UnrecognizedClientException');
    expect(r.text.toLowerCase()).toContain('connection: close');
  });

  it('cuts off a trickled body that misses its deadline, holding nothing for it', async () => {
    // A known key with a bad signature: the signature can only be checked once the body is in,
    // so the body deadline is what stops the trickle. The sender would take 1000 s to finish.
    const r = await rawExchange(jsonHead(server.credentials.accessKeyId, 1000), {
      every: 100,
      max: 10_000,
    });
    expect(r.text).toBe('');
    expect(r.sentBodyBytes).toBeLessThan(1000);
    // The server is still answering.
    const health = await fetch(`${server.url}/_apiary/ready`);
    expect(health.status).toBe(200);
  });
});

describe('operator endpoints', () => {
  it('serves /metrics and detailed health only with the bearer token when APIARY_METRICS_TOKEN is set', async () => {
    const s = await startTestServer({ metricsToken: 'scrape-me' });
    try {
      const anon = await fetch(`${s.url}/metrics`);
      expect(anon.status).toBe(403);
      expect(await anon.text()).toContain('Authorization: Bearer');
      const wrong = await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(403);
      const ok = await fetch(`${s.url}/metrics`, {
        headers: { authorization: 'Bearer scrape-me' },
      });
      expect(ok.status).toBe(200);
      expect(await (await fetch(`${s.url}/_apiary/health`)).json()).toEqual({ status: 'ok' });
      const detailed = await (
        await fetch(`${s.url}/_apiary/health`, { headers: { authorization: 'Bearer scrape-me' } })
      ).json();
      expect(detailed).toMatchObject({ status: 'ok', accountId: expect.any(String) });
    } finally {
      await s.close();
    }
  });
});

describe('the sign-in and signature limiters behind a proxy', () => {
  let proxied: TestServer;
  beforeAll(async () => {
    // The proxy is 127.0.0.1: X-Forwarded-For names the client.
    proxied = await startTestServer({
      trustProxy: '127.0.0.1',
      loginMaxFailures: 2,
      sigv4MaxFailures: 3,
    });
  });
  afterAll(async () => {
    await proxied?.close();
  });

  const login = (from: string, username: string, password: string) =>
    fetch(`${proxied.url}/_apiary/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
      body: JSON.stringify({ username, password }),
    });

  it('locks out only the guessing client, not root from elsewhere; limits spraying per address', async () => {
    const root = proxied.credentials.accessKeyId;
    expect((await login('10.0.0.1', root, 'guess-one')).status).toBe(401);
    expect((await login('10.0.0.1', root, 'guess-two')).status).toBe(401);
    const locked = await login('10.0.0.1', root, proxied.credentials.secretAccessKey);
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toMatch(/^\d+$/);
    // The administrator behind the same proxy still signs in.
    expect((await login('10.0.0.2', root, proxied.credentials.secretAccessKey)).status).toBe(200);
    // Spraying many names from one address: 4 x 2 failures, then every name is refused.
    for (let i = 0; i < 8; i++)
      expect((await login('10.0.0.3', `nobody${i}`, 'wrong-password')).status).toBe(401);
    const sprayed = await (await login('10.0.0.3', 'somebody-else', 'wrong-password')).json();
    expect(sprayed).toMatchObject({ error: { code: 'TooManyRequests' } });
  });

  it('answers ThrottlingException / SlowDown to an address after too many failed signatures; others are unaffected', async () => {
    const bad = (from: string) =>
      fetch(`${proxied.url}/`, {
        method: 'POST',
        headers: {
          'x-forwarded-for': from,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'SageMaker.ListModels',
          'x-amz-date': amzDate(),
          authorization: `AWS4-HMAC-SHA256 Credential=${proxied.credentials.accessKeyId}/${amzDate().slice(0, 8)}/${proxied.region}/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
        },
        body: '{}',
      });
    for (let i = 0; i < 3; i++)
      expect((await (await bad('10.0.0.9')).json()).__type).toMatch(/InvalidSignatureException/);
    const throttled = await bad('10.0.0.9');
    expect(throttled.status).toBe(400);
    expect((await throttled.json()).__type).toMatch(/ThrottlingException/);
    // S3 from the same address: SlowDown.
    const s3Res = await fetch(`${proxied.url}/`, {
      headers: {
        'x-forwarded-for': '10.0.0.9',
        'x-amz-date': amzDate(),
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        authorization: `AWS4-HMAC-SHA256 Credential=${proxied.credentials.accessKeyId}/${amzDate().slice(0, 8)}/${proxied.region}/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
      },
    });
    expect(s3Res.status).toBe(503);
    expect(await s3Res.text()).toContain('<Code>SlowDown</Code>');
    // A correctly signed client at another address is served.
    const sm = new SageMakerClient(sdkConfig(proxied));
    const s3 = new S3Client(sdkConfig(proxied));
    try {
      expect((await sm.send(new ListModelsCommand({}))).Models).toEqual([]);
      expect((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);
    } finally {
      sm.destroy();
      s3.destroy();
    }
  });
});

describe('console Host and Origin checks', () => {
  it('refuses a rebound host name and a cross-site Origin on a loopback-bound server', async () => {
    const { port } = new URL(server.url);
    const asHost = (host: string, extra: Record<string, string> = {}, method = 'GET') =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: Number(port),
            path: '/_apiary/api/login',
            method,
            headers: { host, 'content-type': 'application/json', ...extra },
          },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end(method === 'POST' ? JSON.stringify({ username: 'x', password: 'y' }) : undefined);
      });
    const rebound = await asHost(`evil.example:${port}`, {}, 'POST');
    expect(rebound.status).toBe(403);
    expect(rebound.body).toContain("does not answer to the host name 'evil.example'");
    const crossSite = await asHost(`127.0.0.1:${port}`, { origin: 'http://evil.example' }, 'POST');
    expect(crossSite.status).toBe(403);
    expect(crossSite.body).toContain('may not change anything here');
    // Same origin: the request goes through (to a wrong password).
    expect(
      (await asHost(`localhost:${port}`, { origin: `http://localhost:${port}` }, 'POST')).status,
    ).toBe(401);
    // Load-balancer probes by address are not refused.
    expect(
      (await fetch(`${server.url}/_apiary/health`, { headers: { host: `10.1.2.3:${port}` } }))
        .status,
    ).toBe(200);
  });
});

describe('a console password separate from the secret key', () => {
  it('signs root in with APIARY_ROOT_CONSOLE_PASSWORD only, and the secret key keeps signing API calls', async () => {
    const s = await startTestServer({ rootConsolePassword: 'a console passphrase' });
    try {
      const login = (password: string) =>
        fetch(`${s.url}/_apiary/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: s.credentials.accessKeyId, password }),
        });
      expect((await login(s.credentials.secretAccessKey)).status).toBe(401);
      expect((await login('a console passphrase')).status).toBe(200);
      const sm = new SageMakerClient(sdkConfig(s));
      expect((await sm.send(new ListModelsCommand({}))).Models).toEqual([]);
      sm.destroy();
    } finally {
      await s.close();
    }
  });
});
