import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { startTestServer, type TestServer } from './helpers/server.js';

// Items 3, 6 and 7 of the hardening audit: slow bodies, the login/SigV4 limiter, exposure.
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ smallBodyTimeoutMs: 500 });
});

afterAll(async () => {
  await server?.close();
});

const amzDate = (): string => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** Opens a raw connection, sends `head`, and resolves with everything read until the server closes it. */
function rawExchange(head: string, trickle?: { every: number; max: number }): Promise<{ text: string; sentBodyBytes: number }> {
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
    const r = await rawExchange(jsonHead(server.credentials.accessKeyId, 1000), { every: 100, max: 10_000 });
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
      const ok = await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer scrape-me' } });
      expect(ok.status).toBe(200);
      expect(await (await fetch(`${s.url}/_apiary/health`)).json()).toEqual({ status: 'ok' });
      const detailed = await (await fetch(`${s.url}/_apiary/health`, { headers: { authorization: 'Bearer scrape-me' } })).json();
      expect(detailed).toMatchObject({ status: 'ok', accountId: expect.any(String) });
    } finally {
      await s.close();
    }
  });
});
