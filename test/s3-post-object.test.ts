import { execFile } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
let server: TestServer;
let s3: S3Client;

beforeAll(async () => {
  server = await startTestServer();
  s3 = new S3Client(sdkConfig(server));
  await s3.send(new CreateBucketCommand({ Bucket: 'forms' }));
});
afterAll(async () => {
  s3?.destroy();
  await server?.close();
});

/**
 * boto3's generate_presigned_post (V4): the URL and the fields a browser form carries. boto3 does
 * not add a condition for each extra field (S3 would refuse them): pass them in `conditions`.
 */
async function boto3Post(
  key: string,
  fields: Record<string, string> = {},
  conditions: unknown[] = [],
  expiresIn = 600,
): Promise<{ url: string; fields: Record<string, string> }> {
  const script = `
import boto3, json, sys
a = json.loads(sys.argv[1])
s3 = boto3.client('s3', config=boto3.session.Config(signature_version='s3v4', s3={'addressing_style': 'path'}))
print(json.dumps(s3.generate_presigned_post('forms', a['key'], Fields=a['fields'], Conditions=a['conditions'], ExpiresIn=a['expires'])))
`;
  const { stdout } = await run(
    'python3',
    ['-c', script, JSON.stringify({ key, fields, conditions, expires: expiresIn })],
    { env: server.env },
  );
  return JSON.parse(stdout) as { url: string; fields: Record<string, string> };
}

/** A V2 form (AWSAccessKeyId, signature = base64 HMAC-SHA1 of the policy), computed here. */
function v2Form(policy: object, fields: Record<string, string>): Record<string, string> {
  const b64 = Buffer.from(JSON.stringify(policy)).toString('base64');
  const signature = createHmac('sha1', server.credentials.secretAccessKey)
    .update(b64)
    .digest('base64');
  return { ...fields, AWSAccessKeyId: server.credentials.accessKeyId, policy: b64, signature };
}

/** Posts a form (file last) with fetch's FormData, as a browser would. */
function post(
  fields: Record<string, string>,
  file: Buffer | string,
  filename = 'upload.bin',
  url = `${server.url}/forms`,
): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([typeof file === 'string' ? file : new Uint8Array(file)]), filename);
  return fetch(url, { method: 'POST', body: form, redirect: 'manual' });
}

/** One policy condition per field (a simple condition names exactly one). */
const eachField = (fields: Record<string, string>): unknown[] =>
  Object.entries(fields).map(([k, v]) => ({ [k]: v }));

const body = async (key: string): Promise<string> =>
  (await s3.send(new GetObjectCommand({ Bucket: 'forms', Key: key }))).Body!.transformToString();

const expectError = async (r: Response, status: number, code: string, message?: string) => {
  const text = await r.text();
  expect(`${r.status} ${/<Code>(.*?)<\/Code>/.exec(text)?.[1]}`).toBe(`${status} ${code}`);
  if (message !== undefined) expect(text).toContain(message);
};

describe('POST uploads signed with V4 (boto3 generate_presigned_post)', () => {
  it('stores the file with its type and metadata, answering 204 with the ETag', async () => {
    const p = await boto3Post(
      'docs/${filename}',
      { 'Content-Type': 'text/plain', 'x-amz-meta-owner': 'ada' },
      [
        ['starts-with', '$key', 'docs/'],
        { 'Content-Type': 'text/plain' },
        { 'x-amz-meta-owner': 'ada' },
        ['content-length-range', 1, 1024],
      ],
    );
    expect(p.fields['x-amz-algorithm']).toBe('AWS4-HMAC-SHA256');
    const r = await post(p.fields, 'hello form', 'note.txt', p.url);
    expect(r.status).toBe(204);
    expect(r.headers.get('etag')).toBe(`"${createHash('md5').update('hello form').digest('hex')}"`);
    expect(r.headers.get('location')).toBe(`${server.url}/forms/docs/note.txt`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'forms', Key: 'docs/note.txt' }));
    expect(head.ContentType).toBe('text/plain');
    expect(head.Metadata).toEqual({ owner: 'ada' });
    expect(await body('docs/note.txt')).toBe('hello form');
  });

  it('streams a file of several MiB whose bytes straddle the reads', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 13)) & 0xff;
    const p = await boto3Post('big.bin');
    const r = await post(p.fields, big, 'big.bin', p.url);
    expect(r.status).toBe(204);
    const got = Buffer.from(
      await (
        await s3.send(new GetObjectCommand({ Bucket: 'forms', Key: 'big.bin' }))
      ).Body!.transformToByteArray(),
    );
    expect(got.equals(big)).toBe(true);
  });

  it('answers success_action_status 201 with a PostResponse and follows success_action_redirect', async () => {
    const p = await boto3Post('created.txt', { success_action_status: '201' }, [
      { success_action_status: '201' },
    ]);
    const r = await post(p.fields, 'x', 'created.txt', p.url);
    expect(r.status).toBe(201);
    const xml = await r.text();
    expect(xml).toContain('<PostResponse><Location>');
    expect(xml).toContain('<Bucket>forms</Bucket><Key>created.txt</Key><ETag>');
    const done = { success_action_redirect: 'https://app.example.com/done' };
    const q = await boto3Post('redirected.txt', done, [done]);
    const red = await post(q.fields, 'y', 'y.txt', q.url);
    expect(red.status).toBe(303);
    const to = new URL(red.headers.get('location')!);
    expect(`${to.origin}${to.pathname}`).toBe('https://app.example.com/done');
    expect(to.searchParams.get('key')).toBe('redirected.txt');
    expect(to.searchParams.get('bucket')).toBe('forms');
  });

  it('refuses a failed condition, an extra field, a wrong signature, an expired policy — nothing stored', async () => {
    const p = await boto3Post('ok.txt', {}, [['starts-with', '$key', 'ok']]);
    await expectError(
      await post({ ...p.fields, key: 'other.txt' }, 'x', 'a', p.url),
      403,
      'AccessDenied',
      'Invalid according to Policy: Policy Condition failed: [&quot;starts-with&quot;,&quot;$key&quot;,&quot;ok&quot;]',
    );
    await expectError(
      await post({ ...p.fields, 'x-amz-meta-extra': '1' }, 'x', 'a', p.url),
      403,
      'AccessDenied',
      'Invalid according to Policy: Extra input fields: x-amz-meta-extra',
    );
    await expectError(
      await post({ ...p.fields, 'x-amz-signature': '0'.repeat(64) }, 'x', 'a', p.url),
      403,
      'SignatureDoesNotMatch',
    );
    const old = await boto3Post('ok.txt', {}, [], -60);
    await expectError(
      await post(old.fields, 'x', 'a', old.url),
      403,
      'AccessDenied',
      'Invalid according to Policy: Policy expired.',
    );
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: 'forms', Key: 'other.txt' })),
    ).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('enforces content-length-range while streaming (EntityTooLarge / EntityTooSmall)', async () => {
    const p = await boto3Post('sized.bin', {}, [['content-length-range', 2, 10]]);
    await expectError(await post(p.fields, 'x'.repeat(11), 'a', p.url), 400, 'EntityTooLarge');
    await expectError(await post(p.fields, 'x', 'a', p.url), 400, 'EntityTooSmall');
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: 'forms', Key: 'sized.bin' })),
    ).rejects.toMatchObject({ name: 'NotFound' });
    expect((await post(p.fields, 'xx', 'a', p.url)).status).toBe(204);
  });

  it('verifies x-amz-checksum-* fields and refuses an acl Apiary does not have', async () => {
    const crc = (s: string) => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(zlibCrc32(Buffer.from(s)));
      return out.toString('base64');
    };
    const sum = { 'x-amz-checksum-crc32': crc('right') };
    const p = await boto3Post('sum.txt', sum, [sum]);
    expect((await post(p.fields, 'right', 'a', p.url)).status).toBe(204);
    await expectError(await post(p.fields, 'wrong', 'a', p.url), 400, 'BadDigest');
    const acl = await boto3Post('acl.txt', { acl: 'public-read' }, [{ acl: 'public-read' }]);
    await expectError(await post(acl.fields, 'x', 'a', acl.url), 501, 'NotImplemented');
  });

  it('bounds the fields before the file (MaxPostPreDataLengthExceeded) and needs the file', async () => {
    const p = await boto3Post('pre.txt');
    await expectError(
      await post({ ...p.fields, 'x-ignore-pad': 'p'.repeat(30 * 1024) }, 'x', 'a', p.url),
      400,
      'MaxPostPreDataLengthExceeded',
    );
    const form = new FormData();
    for (const [k, v] of Object.entries(p.fields)) form.append(k, v);
    await expectError(
      await fetch(p.url, { method: 'POST', body: form }),
      400,
      'IncorrectNumberOfFilesInPostRequest',
    );
  });
});

describe('POST form fields for tags, encryption and checksums (never ignored)', () => {
  it('stores the tagging field (a <Tagging> document) as the object tags', async () => {
    const tagging =
      '<Tagging><TagSet><Tag><Key>set</Key><Value>train</Value></Tag><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>';
    const p = await boto3Post('tagged.txt', { tagging }, [{ tagging }]);
    expect((await post(p.fields, 'x', 'a', p.url)).status).toBe(204);
    const t = await s3.send(new GetObjectTaggingCommand({ Bucket: 'forms', Key: 'tagged.txt' }));
    expect(t.TagSet).toEqual([
      { Key: 'a', Value: '1' },
      { Key: 'set', Value: 'train' },
    ]);
    const bad = await boto3Post('bad-tags.txt', { tagging: '<Tagging>' }, [
      ['starts-with', '$tagging', ''],
    ]);
    await expectError(await post(bad.fields, 'x', 'a', bad.url), 400, 'MalformedXML');
  });

  it('encrypts with the SSE-S3 and SSE-C fields, refuses SSE-KMS with a key', async () => {
    const s3Fields = { 'x-amz-server-side-encryption': 'AES256' };
    const p = await boto3Post('sse-s3.txt', s3Fields, [s3Fields]);
    const r = await post(p.fields, 'sealed', 'a', p.url);
    expect(r.status).toBe(204);
    expect(r.headers.get('x-amz-server-side-encryption')).toBe('AES256');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'forms', Key: 'sse-s3.txt' }));
    expect(head.ServerSideEncryption).toBe('AES256');

    const key = 'k'.repeat(32);
    const cFields = {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': Buffer.from(key).toString('base64'),
      'x-amz-server-side-encryption-customer-key-MD5': createHash('md5')
        .update(key)
        .digest('base64'),
    };
    const c = await boto3Post('sse-c.txt', cFields, eachField(cFields));
    const rc = await post(c.fields, 'customer sealed', 'a', c.url);
    expect(`${rc.status} ${rc.status === 204 ? '' : await rc.text()}`).toBe('204 ');
    expect(rc.headers.get('x-amz-server-side-encryption-customer-key-md5')).toBe(
      cFields['x-amz-server-side-encryption-customer-key-MD5'],
    );
    await expect(
      s3.send(new GetObjectCommand({ Bucket: 'forms', Key: 'sse-c.txt' })),
    ).rejects.toMatchObject({ name: 'InvalidRequest' });
    const got = await s3.send(
      new GetObjectCommand({
        Bucket: 'forms',
        Key: 'sse-c.txt',
        SSECustomerAlgorithm: 'AES256',
        SSECustomerKey: key,
      }),
    );
    expect(await got.Body!.transformToString()).toBe('customer sealed');

    const kms = {
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'my-key',
    };
    const k = await boto3Post('kms.txt', kms, eachField(kms));
    await expectError(await post(k.fields, 'x', 'a', k.url), 501, 'NotImplemented', 'SSE-KMS');
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: 'forms', Key: 'kms.txt' })),
    ).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('checks a checksum field that the policy does not name', async () => {
    const sha = (s: string) => createHash('sha256').update(s).digest('base64');
    const p = await boto3Post('unnamed-sum.txt');
    const right = { ...p.fields, 'x-amz-checksum-sha256': sha('body') };
    const r = await post(right, 'body', 'a', p.url);
    expect(r.status).toBe(204);
    expect(r.headers.get('x-amz-checksum-sha256')).toBe(sha('body'));
    await expectError(await post(right, 'other', 'a', p.url), 400, 'BadDigest');
    await expectError(
      await post({ ...p.fields, 'x-amz-checksum-sha256': 'sailorjerry' }, 'body', 'a', p.url),
      400,
      'InvalidRequest',
    );
  });
});

describe('POST uploads signed with V2', () => {
  it('accepts a V2 form and refuses a wrong V2 signature', async () => {
    const policy = {
      expiration: new Date(Date.now() + 600_000).toISOString(),
      conditions: [
        { bucket: 'forms' },
        ['starts-with', '$key', 'v2/'],
        ['eq', '$Content-Type', 'text/csv'],
      ],
    };
    const fields = v2Form(policy, { key: 'v2/${filename}', 'Content-Type': 'text/csv' });
    const r = await post(fields, 'a,b\n', 'table.csv');
    expect(r.status).toBe(204);
    expect(await body('v2/table.csv')).toBe('a,b\n');
    await expectError(
      await post({ ...fields, signature: 'AAAA' + fields.signature!.slice(4) }, 'x', 'y.csv'),
      403,
      'SignatureDoesNotMatch',
    );
    const wrongBucket = v2Form(
      { ...policy, conditions: [{ bucket: 'elsewhere' }] },
      { key: 'v2/z' },
    );
    await expectError(
      await post(wrongBucket, 'x'),
      403,
      'AccessDenied',
      'Policy Condition failed: {&quot;bucket&quot;:&quot;elsewhere&quot;}',
    );
  });
});

/** CRC-32 (IEEE), for the checksum field. */
function zlibCrc32(data: Buffer): number {
  let c = ~0;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}
