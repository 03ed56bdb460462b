import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { sdkConfig, startTestServer, type TestServer } from '../helpers/server.js';
import { launchBrowser } from './console-helpers.js';

// A web page on another origin uploads to a bucket with a presigned PUT: chromium lets it read
// the answer only when the bucket's CORS rules allow that origin.
let server: TestServer;
let browser: Browser;
let s3: S3Client;
let page: http.Server;
let pageOrigin: string;

beforeAll(async () => {
  server = await startTestServer();
  s3 = new S3Client(sdkConfig(server));
  browser = await launchBrowser();
  page = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>uploader</title>');
  });
  await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
  pageOrigin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
  await s3.send(new CreateBucketCommand({ Bucket: 'open' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'closed' }));
  await s3.send(
    new PutBucketCorsCommand({
      Bucket: 'open',
      CORSConfiguration: {
        CORSRules: [
          {
            AllowedOrigins: [pageOrigin],
            AllowedMethods: ['PUT'],
            AllowedHeaders: ['content-type'],
            ExposeHeaders: ['ETag'],
          },
        ],
      },
    }),
  );
});

afterAll(async () => {
  await browser?.close();
  s3?.destroy();
  await new Promise((r) => page?.close(r));
  await server?.close();
});

/** Runs fetch(PUT url) in a page of the other origin; what the page could read, or the error. */
async function putFromPage(url: string): Promise<string> {
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.goto(pageOrigin);
  const result = await tab.evaluate(async (u) => {
    try {
      const r = await fetch(u, {
        method: 'PUT',
        body: 'from the browser',
        headers: { 'content-type': 'text/plain' },
      });
      return `${r.status} ${r.headers.get('etag')}`;
    } catch (e) {
      return `blocked: ${(e as Error).name}`;
    }
  }, url);
  await context.close();
  return result;
}

const presignPut = (bucket: string) =>
  getSignedUrl(
    s3,
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'page.txt',
      ContentType: 'text/plain',
      Body: 'from the browser',
    }),
    { unhoistableHeaders: new Set(['content-type']) },
  );

describe('a page on another origin', () => {
  it('uploads with a presigned PUT and reads the answer when CORS allows it', async () => {
    const result = await putFromPage(await presignPut('open'));
    expect(result).toMatch(/^200 "[0-9a-f]{32}"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'open', Key: 'page.txt' }));
    expect(await got.Body!.transformToString()).toBe('from the browser');
  });

  it('is blocked by the browser on a bucket without CORS rules', async () => {
    expect(await putFromPage(await presignPut('closed'))).toBe('blocked: TypeError');
  });
});
