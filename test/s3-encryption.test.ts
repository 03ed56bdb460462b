import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

// Server-side encryption headers (issue #16). Until the store encrypts at rest, SSE-C and SSE-KMS
// with a named key answer NotImplemented; the defaults SDKs send by habit (AES256, aws:kms without
// a key) are accepted unless APIARY_S3_SSE_STRICT; malformed headers answer InvalidArgument.
const run = promisify(execFile);
let server: TestServer;
let work: string;

beforeAll(async () => {
  server = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-s3-sse-'));
});
afterAll(async () => {
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const aws = async (...args: string[]) => (await run('aws', args, { env: server.env })).stdout;

async function awsFails(...args: string[]): Promise<string> {
  try {
    await run('aws', args, { env: server.env });
  } catch (e) {
    return String((e as { stderr: string }).stderr);
  }
  throw new Error('expected the aws command to fail');
}

describe('S3 server-side encryption headers', () => {
  it('aws CLI: --sse AES256 and a default aws:kms upload; a named KMS key and --sse-c are refused naming what', async () => {
    const file = path.join(work, 'a.txt');
    fs.writeFileSync(file, 'secret bytes');
    await aws('s3', 'mb', 's3://sse');
    await aws('s3', 'cp', file, 's3://sse/a.txt', '--sse', 'AES256');
    await aws('s3', 'cp', file, 's3://sse/d.txt', '--sse', 'aws:kms');
    expect(await aws('s3', 'cp', 's3://sse/a.txt', '-')).toBe('secret bytes');
    const kms = await awsFails(
      's3',
      'cp',
      file,
      's3://sse/k.txt',
      '--sse',
      'aws:kms',
      '--sse-kms-key-id',
      'alias/mine',
    );
    expect(kms).toContain('NotImplemented');
    expect(kms).toContain('SSE-KMS');
    const key = 'k'.repeat(32);
    const ssec = await awsFails(
      's3',
      'cp',
      file,
      's3://sse/c.txt',
      '--sse-c',
      'AES256',
      '--sse-c-key',
      key,
    );
    expect(ssec).toContain('NotImplemented');
    expect(ssec).toContain('SSE-C');
  });

  it('boto3: KMS, bucket keys, DSSE and SSE-C answer NotImplemented; nothing is stored', async () => {
    const { stdout } = await run(
      'python3',
      [
        '-c',
        `
import boto3, botocore, json
from botocore.config import Config
s3 = boto3.client('s3', config=Config(retries={'max_attempts': 1}))
s3.create_bucket(Bucket='sse-boto')
out = {}
cases = {
  'kms': dict(ServerSideEncryption='aws:kms', SSEKMSKeyId='alias/mine'),
  'dsse': dict(ServerSideEncryption='aws:kms:dsse'),
  'bucketkey': dict(ServerSideEncryption='AES256', BucketKeyEnabled=True),
  'ssec': dict(SSECustomerAlgorithm='AES256', SSECustomerKey='x' * 32),
  'keyid_s3': dict(ServerSideEncryption='AES256', SSEKMSKeyId='k1'),
  'bad': dict(ServerSideEncryption='AES256', SSECustomerAlgorithm='AES256', SSECustomerKey='x' * 32),
}
for name, extra in cases.items():
    try:
        s3.put_object(Bucket='sse-boto', Key=name, Body=b'x', **extra)
        out[name] = 'stored'
    except botocore.exceptions.ClientError as e:
        out[name] = e.response['Error']['Code'] + ': ' + e.response['Error']['Message']
try:
    s3.create_multipart_upload(Bucket='sse-boto', Key='mp', ServerSideEncryption='aws:kms', SSEKMSKeyId='k2')
    out['mp'] = 'created'
except botocore.exceptions.ClientError as e:
    out['mp'] = e.response['Error']['Code']
out['keys'] = [o['Key'] for o in s3.list_objects_v2(Bucket='sse-boto').get('Contents', [])]
print(json.dumps(out))
`,
      ],
      { env: server.env },
    );
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out.kms).toMatch(/^NotImplemented: SSE-KMS is not implemented/);
    expect(out.dsse).toMatch(/^NotImplemented: SSE-KMS/);
    expect(out.bucketkey).toMatch(/^NotImplemented: SSE-KMS/);
    expect(out.ssec).toMatch(/^NotImplemented: SSE-C/);
    expect(out.bad).toMatch(/^InvalidArgument: /);
    expect(out.keyid_s3).toMatch(
      /^InvalidArgument: .*requires x-amz-server-side-encryption: aws:kms/,
    );
    expect(out.mp).toBe('NotImplemented');
    expect(out.keys).toEqual([]);
  });

  it('APIARY_S3_SSE_STRICT refuses the default requests too, naming the setting', async () => {
    const strict = await startTestServer({ s3SseStrict: true });
    try {
      const file = path.join(work, 's.txt');
      fs.writeFileSync(file, 'x');
      const run2 = (...args: string[]) => run('aws', args, { env: strict.env });
      await run2('s3', 'mb', 's3://strict');
      const err = await run2('s3', 'cp', file, 's3://strict/a', '--sse', 'AES256').then(
        () => '',
        (e: { stderr: string }) => e.stderr,
      );
      expect(err).toContain('NotImplemented');
      expect(err).toContain('APIARY_S3_SSE_STRICT');
      await run2('s3', 'cp', file, 's3://strict/a');
    } finally {
      await strict.close();
    }
  });
});
