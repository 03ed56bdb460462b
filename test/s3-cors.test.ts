import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketCorsCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
let server: TestServer;
let s3: S3Client;

const aws = async (...args: string[]) => (await run('aws', args, { env: server.env })).stdout;
async function awsFails(...args: string[]): Promise<string> {
  try {
    await run('aws', args, { env: server.env });
  } catch (e) {
    return String((e as { stderr: string }).stderr);
  }
  throw new Error('expected the aws command to fail');
}

const RULES = JSON.stringify({
  CORSRules: [
    {
      ID: 'uploads',
      AllowedOrigins: ['https://*.example.com'],
      AllowedMethods: ['PUT', 'POST'],
      AllowedHeaders: ['content-type', 'x-amz-meta-*'],
      ExposeHeaders: ['ETag'],
      MaxAgeSeconds: 600,
    },
    { AllowedOrigins: ['*'], AllowedMethods: ['GET'] },
  ],
});

const preflight = (path: string, headers: Record<string, string>) =>
  fetch(`${server.url}${path}`, { method: 'OPTIONS', headers });

beforeAll(async () => {
  server = await startTestServer();
  s3 = new S3Client(sdkConfig(server));
  await s3.send(new CreateBucketCommand({ Bucket: 'web' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'plain' }));
  await s3.send(new PutObjectCommand({ Bucket: 'web', Key: 'a.txt', Body: 'hello' }));
});
afterAll(async () => {
  s3?.destroy();
  await server?.close();
});

describe('bucket CORS configuration', () => {
  it('puts, gets and deletes a configuration with the aws CLI', async () => {
    await aws('s3api', 'put-bucket-cors', '--bucket', 'web', '--cors-configuration', RULES);
    const got = JSON.parse(await aws('s3api', 'get-bucket-cors', '--bucket', 'web'));
    expect(got.CORSRules).toEqual([
      {
        ID: 'uploads',
        AllowedOrigins: ['https://*.example.com'],
        AllowedMethods: ['PUT', 'POST'],
        AllowedHeaders: ['content-type', 'x-amz-meta-*'],
        ExposeHeaders: ['ETag'],
        MaxAgeSeconds: 600,
      },
      { AllowedOrigins: ['*'], AllowedMethods: ['GET'] },
    ]);
    await aws('s3api', 'put-bucket-cors', '--bucket', 'plain', '--cors-configuration', RULES);
    await aws('s3api', 'delete-bucket-cors', '--bucket', 'plain');
    expect(await awsFails('s3api', 'get-bucket-cors', '--bucket', 'plain')).toContain(
      'NoSuchCORSConfiguration',
    );
  });

  it('refuses what S3 refuses: unknown methods, two wildcards, no rules, over 100 rules', async () => {
    const bad = async (rules: unknown) => {
      try {
        await s3.send(
          new PutBucketCorsCommand({
            Bucket: 'plain',
            CORSConfiguration: { CORSRules: rules as never },
          }),
        );
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
      throw new Error('expected PutBucketCors to fail');
    };
    expect(await bad([{ AllowedOrigins: ['*'], AllowedMethods: ['PATCH'] }])).toBe(
      'InvalidRequest: Found unsupported HTTP method in CORS config. Unsupported method is PATCH',
    );
    expect(await bad([{ AllowedOrigins: ['https://*.*.com'], AllowedMethods: ['GET'] }])).toBe(
      'InvalidRequest: AllowedOrigin "https://*.*.com" can not have more than one wildcard.',
    );
    expect(await bad([])).toMatch(/^MalformedXML: /);
    const many = Array.from({ length: 101 }, () => ({
      AllowedOrigins: ['*'],
      AllowedMethods: ['GET'],
    }));
    expect(await bad(many)).toMatch(/^MalformedXML: .*100 rules/);
  });

  it('forgets the rules of a bucket deleted and created again', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'again' }));
    await aws('s3api', 'put-bucket-cors', '--bucket', 'again', '--cors-configuration', RULES);
    await s3.send(new DeleteBucketCommand({ Bucket: 'again' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'again' }));
    await expect(s3.send(new GetBucketCorsCommand({ Bucket: 'again' }))).rejects.toMatchObject({
      name: 'NoSuchCORSConfiguration',
    });
  });
});

describe('preflight OPTIONS', () => {
  beforeAll(async () => {
    await aws('s3api', 'put-bucket-cors', '--bucket', 'web', '--cors-configuration', RULES);
  });
  it('answers the first matching rule: origin wildcard, method, every requested header', async () => {
    const r = await preflight('/web/photos/cat.jpg', {
      Origin: 'https://app.example.com',
      'Access-Control-Request-Method': 'PUT',
      'Access-Control-Request-Headers': 'Content-Type, X-Amz-Meta-Owner',
    });
    expect(r.status).toBe(200);
    expect(Object.fromEntries(r.headers)).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'PUT, POST',
      'access-control-allow-headers': 'content-type, x-amz-meta-owner',
      'access-control-expose-headers': 'ETag',
      'access-control-max-age': '600',
      'access-control-allow-credentials': 'true',
      vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
    });
    const any = await preflight('/web/a.txt', {
      Origin: 'http://elsewhere.test',
      'Access-Control-Request-Method': 'GET',
    });
    expect(any.status).toBe(200);
    expect(any.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('refuses with 403 CORSResponse when no rule matches, when the bucket has no rules, and needs an Origin', async () => {
    const header = await preflight('/web/x', {
      Origin: 'https://app.example.com',
      'Access-Control-Request-Method': 'PUT',
      'Access-Control-Request-Headers': 'x-secret',
    });
    expect(header.status).toBe(403);
    const body = await header.text();
    expect(body).toContain('<Code>CORSResponse</Code>');
    expect(body).toContain('This CORS request is not allowed.');
    expect(header.headers.get('access-control-allow-origin')).toBeNull();
    const method = await preflight('/web/x', {
      Origin: 'https://evil.test',
      'Access-Control-Request-Method': 'PUT',
    });
    expect(method.status).toBe(403);
    const none = await preflight('/plain/x', {
      Origin: 'https://app.example.com',
      'Access-Control-Request-Method': 'GET',
    });
    expect(none.status).toBe(403);
    expect(await none.text()).toContain('CORS is not enabled for this bucket.');
    const noOrigin = await preflight('/web/x', { 'Access-Control-Request-Method': 'GET' });
    expect(noOrigin.status).toBe(400);
  });

  it('never opens the console or the SageMaker API to other origins', async () => {
    const consoleApi = await preflight('/_apiary/api/me', {
      Origin: 'https://app.example.com',
      'Access-Control-Request-Method': 'GET',
    });
    expect(consoleApi.headers.get('access-control-allow-origin')).toBeNull();
    const sagemaker = await preflight('/', {
      Origin: 'https://app.example.com',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'x-amz-target',
    });
    expect(sagemaker.status).toBe(403);
    expect(sagemaker.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('actual requests with an Origin', () => {
  it('carry the matching rule’s headers, and none without a match', async () => {
    await aws('s3api', 'put-bucket-cors', '--bucket', 'web', '--cors-configuration', RULES);
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'web', Key: 'a.txt' }));
    const r = await fetch(url, { headers: { Origin: 'http://page.test' } });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('hello');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    const plainUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'web', Key: 'nope' }));
    const missing = await fetch(plainUrl, { headers: { Origin: 'http://page.test' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
    const put = await fetch(
      await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'plain', Key: 'b.txt', Body: 'x' })),
      { method: 'PUT', body: 'x', headers: { Origin: 'https://app.example.com' } },
    );
    expect(`${put.status} ${put.status === 200 ? '' : await put.text()}`).toBe('200 ');
    expect(put.headers.get('access-control-allow-origin')).toBeNull();
  });
});
