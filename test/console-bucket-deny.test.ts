import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleClient } from './helpers/console-client.js';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';

// Console admins act for the account (the root key): a bucket policy's explicit Deny refuses
// the console's S3 views and manifest actions as it refuses the root key on the S3 API.

let server: TestServer;
let admin: ConsoleClient;
let s3: S3Client;

beforeAll(async () => {
  server = await startTestServer();
  admin = await ConsoleClient.signIn(server);
  s3 = new S3Client(sdkConfig(server));
});
afterAll(async () => {
  s3?.destroy();
  await server?.close();
});

type Statement = Record<string, unknown>;
const deny = (action: string, resource: string, extra: Statement = {}): Statement => ({
  Effect: 'Deny',
  Principal: '*',
  Action: action,
  Resource: resource,
  ...extra,
});

async function bucketWith(bucket: string, objects: Record<string, string>): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [key, body] of Object.entries(objects)) {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/plain' }),
    );
  }
}

const putPolicy = (bucket: string, ...statements: Statement[]) =>
  s3.send(
    new PutBucketPolicyCommand({
      Bucket: bucket,
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
    }),
  );

/** Whether the object exists, asked through the S3 API. */
async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if ((err as { name?: string }).name === 'NotFound') return false;
    throw err;
  }
}

const objectPath = (bucket: string, key: string) =>
  `/_apiary/api/s3/buckets/${bucket}/object?key=${encodeURIComponent(key)}`;

const denied = (bucket: string, action: string, resource: string) => ({
  error: {
    code: 'AccessDenied',
    message: `The bucket policy of '${bucket}' denies ${action} on ${resource}`,
  },
});

describe('console S3 views obey the bucket policy', () => {
  it('a Deny of s3:DeleteObject refuses the console delete; lifting the policy allows it again', async () => {
    await bucketWith('deny-delete', { 'a.txt': 'keep me', 'b.txt': 'b', 'c.txt': 'c' });
    // No policy yet: this replica caches "none" for the bucket.
    expect(
      (await admin.json(objectPath('deny-delete', 'c.txt'), { method: 'DELETE' })).status,
    ).toBe(200);
    await putPolicy('deny-delete', deny('s3:DeleteObject', 'arn:aws:s3:::deny-delete/*'));

    // The policy change is seen at once (the console shares the S3 API's per-replica cache).
    const r = await admin.json(objectPath('deny-delete', 'a.txt'), { method: 'DELETE' });
    expect(r.status).toBe(403);
    expect(r.body).toEqual(
      denied('deny-delete', 's3:DeleteObject', 'arn:aws:s3:::deny-delete/a.txt'),
    );
    const kept = await s3.send(new GetObjectCommand({ Bucket: 'deny-delete', Key: 'a.txt' }));
    expect(await kept.Body!.transformToString()).toBe('keep me');

    // Reading is not denied: the preview still works.
    const preview = await admin.fetch(objectPath('deny-delete', 'a.txt'));
    expect(preview.status).toBe(200);
    expect(await preview.text()).toBe('keep me');

    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'deny-delete' }));
    expect(
      (await admin.json(objectPath('deny-delete', 'a.txt'), { method: 'DELETE' })).status,
    ).toBe(200);
    expect(await exists('deny-delete', 'a.txt')).toBe(false);
  });

  it('a Deny of s3:GetObject refuses the preview, the download and reading a manifest', async () => {
    await bucketWith('deny-get', {
      'x.txt': 'secret',
      'm/data.manifest':
        '{"source-ref":"s3://deny-get/1.jpg"}\n{"source-ref":"s3://deny-get/2.jpg"}\n',
    });
    await putPolicy('deny-get', deny('s3:GetObject', 'arn:aws:s3:::deny-get/*'));
    for (const path of [
      objectPath('deny-get', 'x.txt'),
      `${objectPath('deny-get', 'x.txt')}&download=1`,
    ]) {
      const r = await admin.json(path);
      expect(r.status, path).toBe(403);
      expect(r.body).toEqual(denied('deny-get', 's3:GetObject', 'arn:aws:s3:::deny-get/x.txt'));
    }
    const manifest = 's3://deny-get/m/data.manifest';
    const entries = await admin.json(
      `/_apiary/api/manifests/entries?manifest=${encodeURIComponent(manifest)}`,
    );
    expect(entries.status).toBe(403);
    expect(entries.body).toEqual(
      denied('deny-get', 's3:GetObject', 'arn:aws:s3:::deny-get/m/data.manifest'),
    );
    const boxes = await admin.json(
      `/_apiary/api/manifests/annotations?manifest=${encodeURIComponent(manifest)}&source=${encodeURIComponent('s3://deny-get/1.jpg')}`,
    );
    expect(boxes.status).toBe(403);
    const split = await admin.json('/_apiary/api/manifests/split', {
      method: 'POST',
      body: JSON.stringify({ manifest }),
    });
    expect(split.status).toBe(403);
    // (HeadObject itself is a GetObject: lift the policy to look.)
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'deny-get' }));
    expect(await exists('deny-get', 'm/train.manifest')).toBe(false);
  });

  it('a Deny of s3:PutObject on a prefix refuses uploads there and nothing is written', async () => {
    await bucketWith('deny-put', {});
    await putPolicy('deny-put', deny('s3:PutObject', 'arn:aws:s3:::deny-put/locked/*'));
    const up = (key: string) =>
      admin.fetch(objectPath('deny-put', key), {
        method: 'PUT',
        body: 'new bytes',
        headers: { 'content-type': 'text/plain' },
      });
    const refused = await up('locked/new.txt');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual(
      denied('deny-put', 's3:PutObject', 'arn:aws:s3:::deny-put/locked/new.txt'),
    );
    expect(await exists('deny-put', 'locked/new.txt')).toBe(false);

    const allowed = await up('open/new.txt');
    expect(allowed.status).toBe(201);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'deny-put', Key: 'open/new.txt' }));
    expect(await got.Body!.transformToString()).toBe('new bytes');
  });

  it('a Deny of s3:ListBucket refuses the listing, judged with s3:prefix', async () => {
    await bucketWith('deny-list', { 'private/a.txt': 'a', 'public/b.txt': 'b' });
    await putPolicy(
      'deny-list',
      deny('s3:ListBucket', 'arn:aws:s3:::deny-list', {
        Condition: { StringLike: { 's3:prefix': 'private/*' } },
      }),
    );
    const list = (prefix: string) =>
      admin.json<{ objects: { key: string }[] }>(
        `/_apiary/api/s3/buckets/deny-list/objects?prefix=${encodeURIComponent(prefix)}`,
      );
    const refused = await list('private/');
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual(denied('deny-list', 's3:ListBucket', 'arn:aws:s3:::deny-list'));
    const open = await list('public/');
    expect(open.status).toBe(200);
    expect(open.body.objects.map((o) => o.key)).toEqual(['public/b.txt']);

    await putPolicy('deny-list', deny('s3:ListBucket', 'arn:aws:s3:::deny-list'));
    expect((await list('public/')).status).toBe(403);
  });

  it('a Deny conditioned on aws:SourceIp is judged with the console client address', async () => {
    await bucketWith('deny-ip', { 'a.txt': 'a' });
    await putPolicy(
      'deny-ip',
      deny('s3:DeleteObject', 'arn:aws:s3:::deny-ip/*', {
        Condition: { IpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '::1/128'] } },
      }),
    );
    expect((await admin.json(objectPath('deny-ip', 'a.txt'), { method: 'DELETE' })).status).toBe(
      403,
    );
    await putPolicy(
      'deny-ip',
      deny('s3:DeleteObject', 'arn:aws:s3:::deny-ip/*', {
        Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } },
      }),
    );
    expect((await admin.json(objectPath('deny-ip', 'a.txt'), { method: 'DELETE' })).status).toBe(
      200,
    );
  });

  it('a Deny of s3:DeleteBucket refuses the console delete of the bucket', async () => {
    await bucketWith('deny-rb', {});
    await putPolicy('deny-rb', deny('s3:DeleteBucket', 'arn:aws:s3:::deny-rb'));
    const r = await admin.json('/_apiary/api/s3/buckets/deny-rb', { method: 'DELETE' });
    expect(r.status).toBe(403);
    expect(r.body).toEqual(denied('deny-rb', 's3:DeleteBucket', 'arn:aws:s3:::deny-rb'));
    await s3.send(new HeadBucketCommand({ Bucket: 'deny-rb' }));
  });
});

describe('console manifest actions obey the bucket policy', () => {
  const manifestText =
    ['1', '2', '3', '4']
      .map((n) => JSON.stringify({ 'source-ref': `s3://deny-mf/${n}.jpg` }))
      .join('\n') + '\n';

  it('split: a Deny of one output key writes neither manifest; elsewhere it writes both', async () => {
    await bucketWith('deny-mf', {
      'in/data.manifest': manifestText,
      'img/1.jpg': 'x',
      'img/2.png': 'y',
    });
    await putPolicy(
      'deny-mf',
      deny('s3:PutObject', 'arn:aws:s3:::deny-mf/out/validation.manifest'),
    );
    const split = (outputPrefix: string) =>
      admin.json('/_apiary/api/manifests/split', {
        method: 'POST',
        body: JSON.stringify({ manifest: 's3://deny-mf/in/data.manifest', outputPrefix }),
      });
    const refused = await split('s3://deny-mf/out/');
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual(
      denied('deny-mf', 's3:PutObject', 'arn:aws:s3:::deny-mf/out/validation.manifest'),
    );
    expect(await exists('deny-mf', 'out/train.manifest')).toBe(false);
    expect(await exists('deny-mf', 'out/validation.manifest')).toBe(false);

    const ok = await split('s3://deny-mf/elsewhere/');
    expect(ok.status).toBe(201);
    expect(await exists('deny-mf', 'elsewhere/train.manifest')).toBe(true);
    expect(await exists('deny-mf', 'elsewhere/validation.manifest')).toBe(true);
  });

  it('from-prefix: a Deny of the listing or of the write refuses it and writes nothing', async () => {
    const fromPrefix = (output: string) =>
      admin.json('/_apiary/api/manifests/from-prefix', {
        method: 'POST',
        body: JSON.stringify({ prefix: 's3://deny-mf/img/', output }),
      });
    await putPolicy('deny-mf', deny('s3:PutObject', 'arn:aws:s3:::deny-mf/manifests/*'));
    const put = await fromPrefix('s3://deny-mf/manifests/img.manifest');
    expect(put.status).toBe(403);
    expect(put.body).toEqual(
      denied('deny-mf', 's3:PutObject', 'arn:aws:s3:::deny-mf/manifests/img.manifest'),
    );
    expect(await exists('deny-mf', 'manifests/img.manifest')).toBe(false);

    await putPolicy(
      'deny-mf',
      deny('s3:ListBucket', 'arn:aws:s3:::deny-mf', {
        Condition: { StringLike: { 's3:prefix': 'img/*' } },
      }),
    );
    const list = await fromPrefix('s3://deny-mf/manifests/img.manifest');
    expect(list.status).toBe(403);
    expect(list.body).toEqual(denied('deny-mf', 's3:ListBucket', 'arn:aws:s3:::deny-mf'));
    expect(await exists('deny-mf', 'manifests/img.manifest')).toBe(false);

    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'deny-mf' }));
    const ok = await fromPrefix('s3://deny-mf/manifests/img.manifest');
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ manifest: 's3://deny-mf/manifests/img.manifest', count: 2 });
  });
});
