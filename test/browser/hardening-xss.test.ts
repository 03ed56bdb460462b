import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  S3Client,
  CreateBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { sdkConfig, startTestServer, type TestServer } from '../helpers/server.js';
import { launchBrowser } from './console-helpers.js';

// Item 2 of the hardening audit: an HTML object uploaded through S3 and opened by a signed-in admin
// must not run as a page of the console's origin.
let server: TestServer;
let browser: Browser;
let s3: S3Client;

const EVIL = `<!doctype html><title>inert</title>
<script>
document.title = 'ran';
fetch('/_apiary/api/me').then((r) => r.text()).then((t) => { document.title = 'stole ' + t; });
</script>`;

beforeAll(async () => {
  server = await startTestServer();
  s3 = new S3Client(sdkConfig(server));
  browser = await launchBrowser();
  await s3.send(new CreateBucketCommand({ Bucket: 'uploads' }));
  await s3.send(
    new PutObjectCommand({
      Bucket: 'uploads',
      Key: 'report.html',
      Body: EVIL,
      ContentType: 'text/html',
    }),
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: 'uploads',
      Key: 'report.txt',
      Body: EVIL,
      ContentType: 'text/plain',
    }),
  );
});

afterAll(async () => {
  await browser?.close();
  s3?.destroy();
  await server?.close();
});

describe('user content on the console origin', () => {
  it('serves an uploaded HTML object inert to a signed-in admin (sandboxed, no script runs, no cookie)', async () => {
    const context = await browser.newContext({ baseURL: server.url });
    const login = await context.request.post('/_apiary/api/login', {
      data: {
        username: server.credentials.accessKeyId,
        password: server.credentials.secretAccessKey,
      },
    });
    expect(login.status()).toBe(200);
    const cookies = await context.cookies();
    // Both console cookies are out of reach of scripts.
    expect(
      cookies
        .map((c) => [c.name, c.httpOnly])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    ).toEqual([
      ['apiary_csrf', true],
      ['apiary_session', true],
    ]);
    const page = await context.newPage();
    const urls = [
      await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'uploads', Key: 'report.html' }), {
        expiresIn: 300,
      }),
      // The text/plain copy, forced to HTML by the response-content-type override.
      await getSignedUrl(
        s3,
        new GetObjectCommand({
          Bucket: 'uploads',
          Key: 'report.txt',
          ResponseContentType: 'text/html',
        }),
        { expiresIn: 300 },
      ),
    ];
    for (const url of urls) {
      const res = await page.goto(url, { waitUntil: 'load' });
      expect(res!.status()).toBe(200);
      expect(res!.headers()['content-security-policy']).toBe("default-src 'none'; sandbox");
      expect(res!.headers()['x-content-type-options']).toBe('nosniff');
      // The inline script would have run during parsing, before 'load'.
      expect(await page.title()).toBe('inert');
      expect(await page.evaluate(() => window.origin)).toBe('null');
    }
    await context.close();
  });
});
