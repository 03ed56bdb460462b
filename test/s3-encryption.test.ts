import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

// Server-side encryption at rest (issue #16): SSE-S3, SSE-C and bucket default encryption through
// boto3 and the aws CLI, on a real server. SSE-KMS with a named key answers NotImplemented; the
// `aws:kms` default the SageMaker SDK sends is stored with SSE-S3 and answered as AES256.
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

/** Runs a boto3 script (`s3` is a client on the server) and parses the JSON it prints. */
async function boto3(script: string, env = server.env): Promise<Record<string, any>> {
  const prelude = `
import boto3, botocore, json, hashlib, base64
from botocore.config import Config
s3 = boto3.client('s3', config=Config(retries={'max_attempts': 1}))
def err(f, *a, **k):
    try:
        f(*a, **k)
        return 'ok'
    except botocore.exceptions.ClientError as e:
        return [e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error']['Code']]
`;
  const { stdout } = await run('python3', ['-c', prelude + script], {
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Record<string, any>;
}

/**
 * Every blob file under the server's data dir, and the SQLite database and its WAL: small objects'
 * bytes are rows there (inline-blobs.ts).
 */
function blobFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(path.join(dir, 'blobs'));
  for (const f of ['apiary.db', 'apiary.db-wal'])
    if (fs.existsSync(path.join(dir, f))) out.push(path.join(dir, f));
  return out;
}

describe('S3 server-side encryption at rest', () => {
  it('aws CLI: --sse AES256 and --sse-c round trips; the blob on disk holds no plaintext; missing and wrong SSE-C keys', async () => {
    const marker = 'plaintext-marker-' + 'z'.repeat(40);
    const file = path.join(work, 'a.txt');
    fs.writeFileSync(file, marker);
    const keyFile = path.join(work, 'key');
    fs.writeFileSync(keyFile, Buffer.alloc(32, 7));
    await boto3("s3.create_bucket(Bucket='sse'); print('{}')");
    await aws('s3', 'cp', file, 's3://sse/a.txt', '--sse', 'AES256');
    expect(await aws('s3', 'cp', 's3://sse/a.txt', '-')).toBe(marker);
    await aws(
      's3',
      'cp',
      file,
      's3://sse/c.txt',
      '--sse-c',
      'AES256',
      '--sse-c-key',
      `fileb://${keyFile}`,
    );
    const out = path.join(work, 'c.out');
    const got = JSON.parse(
      await aws(
        's3api',
        'get-object',
        '--bucket',
        'sse',
        '--key',
        'c.txt',
        '--sse-customer-algorithm',
        'AES256',
        '--sse-customer-key',
        `fileb://${keyFile}`,
        out,
      ),
    );
    expect(fs.readFileSync(out, 'utf8')).toBe(marker);
    expect(got.SSECustomerAlgorithm).toBe('AES256');
    expect(got.SSECustomerKeyMD5).toBe(
      createHash('md5').update(Buffer.alloc(32, 7)).digest('base64'),
    );
    // The rest through boto3, in one process (each aws CLI call costs seconds on a loaded box).
    const res = await boto3(`
h = s3.head_object(Bucket='sse', Key='a.txt')
res = {'sse': h.get('ServerSideEncryption'), 'len': h['ContentLength'], 'etag': h['ETag']}
res['head_nokey'] = err(s3.head_object, Bucket='sse', Key='c.txt')
try:
    s3.get_object(Bucket='sse', Key='c.txt')
except botocore.exceptions.ClientError as e:
    res['get_nokey'] = [e.response['Error']['Code'], e.response['Error']['Message']]
res['wrong'] = err(s3.get_object, Bucket='sse', Key='c.txt', SSECustomerAlgorithm='AES256', SSECustomerKey=bytes([9]) * 32)
print(json.dumps(res))
`);
    expect(res).toMatchObject({
      sse: 'AES256',
      len: marker.length,
      etag: `"${createHash('md5').update(marker).digest('hex')}"`,
      head_nokey: [400, '400'],
      get_nokey: [
        'InvalidRequest',
        'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
      ],
      wrong: [403, 'AccessDenied'],
    });
    // Both objects are sealed on disk: no blob file holds the plaintext.
    for (const f of blobFiles(server.dataDir))
      expect(fs.readFileSync(f).includes(Buffer.from(marker))).toBe(false);
  });

  it('boto3: ranged GETs at chunk edges, Content-Length and ETag of the plaintext, a flipped byte → error', async () => {
    const out = await boto3(`
import os, random
random.seed(1)
body = bytes(random.getrandbits(8) for _ in range(200_000))
s3.create_bucket(Bucket='rng')
put = s3.put_object(Bucket='rng', Key='o', Body=body, ServerSideEncryption='AES256')
res = {'put_sse': put.get('ServerSideEncryption'), 'etag_ok': put['ETag'] == '"%s"' % hashlib.md5(body).hexdigest()}
ranges = [(0, 0), (65535, 65536), (65536, 131071), (65530, 131080), (131072, 199999), (199999, 199999), (0, 199999)]
res['ranges'] = []
for a, b in ranges:
    r = s3.get_object(Bucket='rng', Key='o', Range='bytes=%d-%d' % (a, b))
    res['ranges'].append([r['Body'].read() == body[a:b + 1], r['ContentLength'], r.get('ServerSideEncryption')])
r = s3.get_object(Bucket='rng', Key='o')
res['whole'] = r['Body'].read() == body
res['len'] = r['ContentLength']
res['listed'] = s3.list_objects_v2(Bucket='rng')['Contents'][0]['Size']
e = s3.put_object(Bucket='rng', Key='empty', Body=b'', ServerSideEncryption='AES256')
res['empty'] = s3.get_object(Bucket='rng', Key='empty')['Body'].read() == b''
print(json.dumps(res))
`);
    expect(out.put_sse).toBe('AES256');
    expect(out.etag_ok).toBe(true);
    for (const [ok, , sse] of out.ranges) {
      expect(ok).toBe(true);
      expect(sse).toBe('AES256');
    }
    expect(out.ranges.map((r: unknown[]) => r[1])).toEqual([1, 2, 65536, 65551, 68928, 1, 200000]);
    expect(out).toMatchObject({ whole: true, len: 200000, listed: 200000, empty: true });

    // Flip one byte of the 200,000-byte object's blob (200,000 + 4 tags × 16 bytes on disk).
    const blob = blobFiles(server.dataDir).find((f) => fs.statSync(f).size === 200_064)!;
    expect(blob).toBeDefined();
    const fd = fs.openSync(blob, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, 70_000);
    b[0] = b[0]! ^ 1;
    fs.writeSync(fd, b, 0, 1, 70_000);
    fs.closeSync(fd);
    const after = await boto3(`
res = {}
res['whole'] = err(lambda: s3.get_object(Bucket='rng', Key='o')['Body'].read())
res['range'] = err(lambda: s3.get_object(Bucket='rng', Key='o', Range='bytes=65536-65600')['Body'].read())
r = s3.get_object(Bucket='rng', Key='o', Range='bytes=0-100')['Body'].read()
res['untouched_chunk'] = len(r)
print(json.dumps(res))
`);
    // A damaged chunk is never served: 500 before any byte (small reads are opened whole first).
    expect(after.whole).toEqual([500, 'InternalError']);
    expect(after.range).toEqual([500, 'InternalError']);
    expect(after.untouched_chunk).toBe(101);
  });

  it('boto3: multipart SSE-S3 and SSE-C (parts sealed; partNumber reads), copies between modes', async () => {
    const out = await boto3(`
key = b'k' * 32
wrong = b'w' * 32
c = dict(SSECustomerAlgorithm='AES256', SSECustomerKey=key)
p1 = bytes(range(256)) * (5 * 4096)
p2 = b'tail-bytes' * 1000
s3.create_bucket(Bucket='mpu')
res = {}
for name, extra in (('s3', dict(ServerSideEncryption='AES256')), ('c', c)):
    up = s3.create_multipart_upload(Bucket='mpu', Key=name, **extra)
    res[name + '_create'] = up.get('ServerSideEncryption') or up.get('SSECustomerAlgorithm')
    pe = c if name == 'c' else {}
    if name == 'c':
        res['part_nokey'] = err(s3.upload_part, Bucket='mpu', Key=name, UploadId=up['UploadId'], PartNumber=1, Body=p1)
        res['part_wrong'] = err(s3.upload_part, Bucket='mpu', Key=name, UploadId=up['UploadId'], PartNumber=1, Body=p1, SSECustomerAlgorithm='AES256', SSECustomerKey=wrong)
    r1 = s3.upload_part(Bucket='mpu', Key=name, UploadId=up['UploadId'], PartNumber=1, Body=p1, **pe)
    r2 = s3.upload_part(Bucket='mpu', Key=name, UploadId=up['UploadId'], PartNumber=2, Body=p2, **pe)
    res[name + '_part_etag'] = r1['ETag'] == '"%s"' % hashlib.md5(p1).hexdigest()
    done = s3.complete_multipart_upload(Bucket='mpu', Key=name, UploadId=up['UploadId'], MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': r1['ETag']}, {'PartNumber': 2, 'ETag': r2['ETag']}]})
    res[name + '_etag'] = done['ETag'].endswith('-2"')
    res[name + '_done_sse'] = done.get('ServerSideEncryption') or 'none'
    g = s3.get_object(Bucket='mpu', Key=name, **pe)
    res[name + '_whole'] = g['Body'].read() == p1 + p2
    n = len(p1)
    g = s3.get_object(Bucket='mpu', Key=name, Range='bytes=%d-%d' % (n - 5, n + 4), **pe)
    res[name + '_across'] = g['Body'].read() == (p1 + p2)[n - 5:n + 5]
    g = s3.get_object(Bucket='mpu', Key=name, PartNumber=2, **pe)
    res[name + '_part2'] = g['Body'].read() == p2
res['c_nokey'] = err(s3.get_object, Bucket='mpu', Key='c', PartNumber=2)
res['attrs_nokey'] = err(s3.get_object_attributes, Bucket='mpu', Key='c', ObjectAttributes=['ETag'])
# botocore does not encode the SSE-C key of GetObjectAttributes: send it as the wire has it.
wire = dict(SSECustomerAlgorithm='AES256', SSECustomerKey=base64.b64encode(key).decode(), SSECustomerKeyMD5=base64.b64encode(hashlib.md5(key).digest()).decode())
res['attrs'] = s3.get_object_attributes(Bucket='mpu', Key='c', ObjectAttributes=['ObjectSize'], **wire)['ObjectSize']
# Copies: plain -> SSE-S3, SSE-S3 -> plain, SSE-C -> SSE-S3, SSE-S3 -> SSE-C, SSE-C -> SSE-C (new key)
s3.put_object(Bucket='mpu', Key='plain', Body=b'copy me')
cp = lambda src, dst, **k: s3.copy_object(Bucket='mpu', Key=dst, CopySource={'Bucket': 'mpu', 'Key': src}, **k)
r = cp('plain', 'p2s', ServerSideEncryption='AES256'); res['p2s'] = r.get('ServerSideEncryption')
r = cp('p2s', 's2p', MetadataDirective='REPLACE'); res['s2p'] = r.get('ServerSideEncryption') or 'none'
res['s2p_body'] = s3.get_object(Bucket='mpu', Key='s2p')['Body'].read().decode()
res['c2s_nokey'] = err(cp, 'c', 'c2s', ServerSideEncryption='AES256')
r = cp('c', 'c2s', ServerSideEncryption='AES256', CopySourceSSECustomerAlgorithm='AES256', CopySourceSSECustomerKey=key)
res['c2s'] = r.get('ServerSideEncryption')
res['c2s_body'] = s3.get_object(Bucket='mpu', Key='c2s')['Body'].read() == p1 + p2
r = cp('p2s', 's2c', **c); res['s2c'] = r.get('SSECustomerAlgorithm')
r = cp('s2c', 'c2c', SSECustomerAlgorithm='AES256', SSECustomerKey=wrong, CopySourceSSECustomerAlgorithm='AES256', CopySourceSSECustomerKey=key)
res['c2c_newkey'] = s3.get_object(Bucket='mpu', Key='c2c', SSECustomerAlgorithm='AES256', SSECustomerKey=wrong)['Body'].read().decode()
res['c2c_oldkey'] = err(s3.get_object, Bucket='mpu', Key='c2c', **c)
print(json.dumps(res))
`);
    expect(out).toMatchObject({
      s3_create: 'AES256',
      c_create: 'AES256',
      part_nokey: [400, 'InvalidRequest'],
      part_wrong: [400, 'InvalidRequest'],
      s3_part_etag: true,
      c_part_etag: true,
      s3_etag: true,
      c_etag: true,
      s3_done_sse: 'AES256',
      s3_whole: true,
      c_whole: true,
      s3_across: true,
      c_across: true,
      s3_part2: true,
      c_part2: true,
      c_nokey: [400, 'InvalidRequest'],
      attrs_nokey: [400, 'InvalidRequest'],
      attrs: 5 * 1024 * 1024 + 10_000,
      p2s: 'AES256',
      s2p: 'none',
      s2p_body: 'copy me',
      c2s_nokey: [400, 'InvalidRequest'],
      c2s: 'AES256',
      c2s_body: true,
      s2c: 'AES256',
      c2c_newkey: 'copy me',
      c2c_oldkey: [403, 'AccessDenied'],
    });
  });

  it('bucket default encryption: Put/Get/Delete ?encryption; writes without headers are sealed and say so', async () => {
    const out = await boto3(`
s3.create_bucket(Bucket='dflt')
res = {}
res['get_none'] = err(s3.get_bucket_encryption, Bucket='dflt')
res['kms'] = err(s3.put_bucket_encryption, Bucket='dflt', ServerSideEncryptionConfiguration={'Rules': [{'ApplyServerSideEncryptionByDefault': {'SSEAlgorithm': 'aws:kms'}}]})
s3.put_bucket_encryption(Bucket='dflt', ServerSideEncryptionConfiguration={'Rules': [{'ApplyServerSideEncryptionByDefault': {'SSEAlgorithm': 'AES256'}}]})
res['get'] = s3.get_bucket_encryption(Bucket='dflt')['ServerSideEncryptionConfiguration']['Rules'][0]['ApplyServerSideEncryptionByDefault']['SSEAlgorithm']
res['put'] = s3.put_object(Bucket='dflt', Key='k', Body=b'default-sealed-marker').get('ServerSideEncryption')
res['head'] = s3.head_object(Bucket='dflt', Key='k').get('ServerSideEncryption')
s3.delete_bucket_encryption(Bucket='dflt')
res['after_delete'] = err(s3.get_bucket_encryption, Bucket='dflt')
res['plain'] = s3.put_object(Bucket='dflt', Key='p', Body=b'x').get('ServerSideEncryption') or 'none'
res['old_still'] = s3.get_object(Bucket='dflt', Key='k')['Body'].read().decode()
# The SageMaker SDK's default (aws:kms without a key) is stored with SSE-S3 and answered AES256.
res['kms_default'] = s3.put_object(Bucket='dflt', Key='sm', Body=b'x', ServerSideEncryption='aws:kms').get('ServerSideEncryption')
res['kms_named'] = err(s3.put_object, Bucket='dflt', Key='n', Body=b'x', ServerSideEncryption='aws:kms', SSEKMSKeyId='alias/mine')
print(json.dumps(res))
`);
    expect(out).toMatchObject({
      get_none: [404, 'ServerSideEncryptionConfigurationNotFoundError'],
      kms: [501, 'NotImplemented'],
      get: 'AES256',
      put: 'AES256',
      head: 'AES256',
      after_delete: [404, 'ServerSideEncryptionConfigurationNotFoundError'],
      plain: 'none',
      old_still: 'default-sealed-marker',
      kms_default: 'AES256',
      kms_named: [501, 'NotImplemented'],
    });
    for (const f of blobFiles(server.dataDir))
      expect(fs.readFileSync(f).includes(Buffer.from('default-sealed-marker'))).toBe(false);
  });

  it('boto3: KMS with a key, bucket keys and DSSE answer NotImplemented; malformed SSE-C InvalidArgument; nothing is stored', async () => {
    const out = await boto3(`
s3.create_bucket(Bucket='sse-boto')
out = {}
cases = {
  'kms': dict(ServerSideEncryption='aws:kms', SSEKMSKeyId='alias/mine'),
  'dsse': dict(ServerSideEncryption='aws:kms:dsse'),
  'bucketkey': dict(ServerSideEncryption='AES256', BucketKeyEnabled=True),
  'keyid_s3': dict(ServerSideEncryption='AES256', SSEKMSKeyId='k1'),
  'bad': dict(ServerSideEncryption='AES256', SSECustomerAlgorithm='AES256', SSECustomerKey='x' * 32),
  'short': dict(SSECustomerAlgorithm='AES256', SSECustomerKey='x' * 16),
}
for name, extra in cases.items():
    try:
        s3.put_object(Bucket='sse-boto', Key=name, Body=b'x', **extra)
        out[name] = 'stored'
    except botocore.exceptions.ClientError as e:
        out[name] = e.response['Error']['Code'] + ': ' + e.response['Error']['Message']
out['mp'] = err(s3.create_multipart_upload, Bucket='sse-boto', Key='mp', ServerSideEncryption='aws:kms', SSEKMSKeyId='k2')
out['keys'] = [o['Key'] for o in s3.list_objects_v2(Bucket='sse-boto').get('Contents', [])]
print(json.dumps(out))
`);
    expect(out.kms).toMatch(/^NotImplemented: SSE-KMS is not implemented/);
    expect(out.dsse).toMatch(/^NotImplemented: SSE-KMS/);
    expect(out.bucketkey).toMatch(/^NotImplemented: SSE-KMS/);
    expect(out.bad).toMatch(/^InvalidArgument: /);
    expect(out.short).toMatch(/^InvalidArgument: /);
    expect(out.keyid_s3).toMatch(
      /^InvalidArgument: .*requires x-amz-server-side-encryption: aws:kms/,
    );
    expect(out.mp).toEqual([501, 'NotImplemented']);
    expect(out.keys).toEqual([]);
  });

  it('a presigned GET carrying the SSE-C headers works; APIARY_S3_SSE_STRICT refuses aws:kms, still honours AES256', async () => {
    const out = await boto3(`
import urllib.request
key = b'p' * 32
s3.create_bucket(Bucket='pre')
s3.put_object(Bucket='pre', Key='o', Body=b'presigned-body', SSECustomerAlgorithm='AES256', SSECustomerKey=key)
url = s3.generate_presigned_url('get_object', Params={'Bucket': 'pre', 'Key': 'o', 'SSECustomerAlgorithm': 'AES256', 'SSECustomerKey': key})
req = urllib.request.Request(url, headers={
  'x-amz-server-side-encryption-customer-algorithm': 'AES256',
  'x-amz-server-side-encryption-customer-key': base64.b64encode(key).decode(),
  'x-amz-server-side-encryption-customer-key-md5': base64.b64encode(hashlib.md5(key).digest()).decode(),
})
print(json.dumps({'body': urllib.request.urlopen(req).read().decode()}))
`);
    expect(out.body).toBe('presigned-body');
    const strict = await startTestServer({ s3SseStrict: true });
    try {
      const res = await boto3(
        `
s3.create_bucket(Bucket='strict')
print(json.dumps({
  'aes': s3.put_object(Bucket='strict', Key='a', Body=b'x', ServerSideEncryption='AES256').get('ServerSideEncryption'),
  'kms': err(s3.put_object, Bucket='strict', Key='b', Body=b'x', ServerSideEncryption='aws:kms'),
}))
`,
        strict.env,
      );
      expect(res).toEqual({ aes: 'AES256', kms: [501, 'NotImplemented'] });
    } finally {
      await strict.close();
    }
  });
});
