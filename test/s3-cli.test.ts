import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
let server: TestServer;
let work: string;

beforeAll(async () => {
  server = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-s3-cli-'));
});
afterAll(async () => {
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const aws = async (...args: string[]) => {
  const { stdout } = await run('aws', args, { env: server.env, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
};

async function awsFails(...args: string[]): Promise<string> {
  try {
    await run('aws', args, { env: server.env });
  } catch (e) {
    return String((e as { stderr: string }).stderr);
  }
  throw new Error('expected the aws command to fail');
}

const python = async (script: string) => {
  const { stdout } = await run('python3', ['-c', script], {
    env: server.env,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
};

/** Deterministic bytes that look like a JPEG: SOI/APP0 header, noise, EOI. */
function fakeJpeg(i: number): Buffer {
  const size = 1500 + ((i * 7919) % 9000);
  const body = Buffer.alloc(size);
  let x = i * 2654435761;
  for (let j = 0; j < size; j++) {
    x = (x * 1103515245 + 12345) >>> 0;
    body[j] = x >>> 24;
  }
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]).copy(body, 0);
  body[size - 2] = 0xff;
  body[size - 1] = 0xd9;
  return body;
}

function treeDigest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else
        out.set(
          path.relative(dir, p),
          createHash('sha256').update(fs.readFileSync(p)).digest('hex'),
        );
    }
  };
  walk(dir);
  return out;
}

describe('the aws CLI', () => {
  it('syncs a folder of 500 JPEGs up and back byte-identical', async () => {
    const up = path.join(work, 'images');
    for (let i = 0; i < 500; i++) {
      const sub = path.join(up, i % 2 ? 'bees' : 'background');
      fs.mkdirSync(sub, { recursive: true });
      fs.writeFileSync(path.join(sub, `img ${String(i).padStart(4, '0')}.jpg`), fakeJpeg(i));
    }
    await aws('s3', 'mb', 's3://tutorial');
    await aws('s3', 'sync', up, 's3://tutorial/input/', '--only-show-errors');
    const listing = await aws('s3', 'ls', 's3://tutorial/input/', '--recursive');
    expect(listing.trim().split('\n')).toHaveLength(500);
    expect(await aws('s3', 'ls', 's3://tutorial/input/')).toMatch(/PRE background\/\s+PRE bees\//);
    // A second sync finds nothing to do.
    expect((await aws('s3', 'sync', up, 's3://tutorial/input/')).trim()).toBe('');
    const down = path.join(work, 'back');
    await aws('s3', 'sync', 's3://tutorial/input/', down, '--only-show-errors');
    const a = treeDigest(up);
    const b = treeDigest(down);
    expect(b.size).toBe(500);
    expect(b).toEqual(a);
  });

  it('copies a multipart-sized file with s3 cp and inspects it with s3api', async () => {
    const big = path.join(work, 'model.tar.gz');
    const bytes = Buffer.alloc(20 * 1024 * 1024 + 3);
    for (let i = 0; i + 4 <= bytes.length; i += 4096) bytes.writeUInt32LE(i, i);
    fs.writeFileSync(big, bytes);
    await aws('s3', 'cp', big, 's3://tutorial/output/model.tar.gz');
    const head = JSON.parse(
      await aws('s3api', 'head-object', '--bucket', 'tutorial', '--key', 'output/model.tar.gz'),
    );
    expect(head.ContentLength).toBe(bytes.length);
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-\d+"$/);
    const back = path.join(work, 'model-back.tar.gz');
    await aws('s3', 'cp', 's3://tutorial/output/model.tar.gz', back);
    expect(fs.readFileSync(back).equals(bytes)).toBe(true);
    await aws('s3', 'cp', 's3://tutorial/output/model.tar.gz', 's3://tutorial/copies/model.tar.gz');
    const listed = JSON.parse(
      await aws('s3api', 'list-objects-v2', '--bucket', 'tutorial', '--prefix', 'copies/'),
    );
    expect(listed.Contents.map((o: { Key: string; Size: number }) => [o.Key, o.Size])).toEqual([
      ['copies/model.tar.gz', bytes.length],
    ]);
  });

  it('reports S3 errors the CLI understands', async () => {
    expect(
      await awsFails('s3api', 'head-object', '--bucket', 'tutorial', '--key', 'missing'),
    ).toContain('404');
    expect(await awsFails('s3', 'rb', 's3://tutorial')).toContain('BucketNotEmpty');
    await aws('s3', 'rm', 's3://tutorial/', '--recursive', '--only-show-errors');
    await aws('s3', 'rb', 's3://tutorial');
    expect(await aws('s3', 'ls')).not.toContain('tutorial');
  });
});

describe('boto3', () => {
  it('puts, gets, lists, copies, deletes and presigns with checksums as botocore sends them', async () => {
    const out = await python(`
import boto3, botocore, hashlib, io, json, urllib.request, urllib.error, urllib3
from botocore.config import Config
s3 = boto3.client('s3', config=Config(signature_version='s3v4'))
s3.create_bucket(Bucket='boto')
r = s3.put_object(Bucket='boto', Key='a/one.txt', Body=b'one', Metadata={'k': 'v'})
crc = r.get('ChecksumCRC32')
# A streamed body of unknown length goes through aws-chunked.
s3.upload_fileobj(io.BytesIO(b'x' * (6 * 1024 * 1024 + 1)), 'boto', 'a/big.bin')
s3.put_object(Bucket='boto', Key='a/sha.txt', Body=b'sha', ChecksumAlgorithm='SHA256')
got = s3.get_object(Bucket='boto', Key='a/one.txt')
big = s3.get_object(Bucket='boto', Key='a/big.bin')['Body'].read()
s3.copy_object(Bucket='boto', Key='b/copy.txt', CopySource={'Bucket': 'boto', 'Key': 'a/one.txt'})
keys = [o['Key'] for p in s3.get_paginator('list_objects_v2').paginate(Bucket='boto', PaginationConfig={'PageSize': 2}) for o in p.get('Contents', [])]
url = s3.generate_presigned_url('get_object', Params={'Bucket': 'boto', 'Key': 'b/copy.txt'}, ExpiresIn=60)
presigned = urllib.request.urlopen(url).read().decode()
# boto3's default presigner for us-east-1 writes Signature Version 2 URLs (AWSAccessKeyId, Signature, Expires).
v2s3 = boto3.client('s3')
def v2call(method, op, key, data=None, expires=60):
    url = v2s3.generate_presigned_url(op, Params={'Bucket': 'boto', 'Key': key}, ExpiresIn=expires)
    assert 'AWSAccessKeyId=' in url and 'Signature=' in url and 'Expires=' in url, url
    # urllib3, not urllib.request: urllib adds a Content-Type to a PUT, which the URL did not sign.
    r = urllib3.request(method, url, body=data, retries=False)
    return [r.status, r.data.decode()] + ([r.headers.get('Content-Length')] if r.status < 300 else [])
v2 = {
  'put': v2call('PUT', 'put_object', 'v2/put.txt', b'put by v2')[0],
  'get': v2call('GET', 'get_object', 'v2/put.txt')[:2],
  'head': v2call('HEAD', 'head_object', 'v2/put.txt'),
  # The method is signed: a GET URL does not PUT; nor does an expired URL answer.
  'wrongMethod': v2call('PUT', 'get_object', 'v2/put.txt', b'x'),
  'expired': v2call('GET', 'get_object', 'v2/put.txt', expires=-5),
}
# The key is signed too.
moved = v2s3.generate_presigned_url('get_object', Params={'Bucket': 'boto', 'Key': 'v2/put.txt'}, ExpiresIn=60).replace('put.txt', 'other.txt')
try:
    urllib.request.urlopen(moved)
except urllib.error.HTTPError as e:
    v2['otherKey'] = [e.code, e.read().decode()]
# Header-signed V2 stays refused, saying how to switch.
try:
    boto3.client('s3', config=Config(signature_version='s3')).get_object(Bucket='boto', Key='v2/put.txt')
    v2['header'] = None
except botocore.exceptions.ClientError as e:
    v2['header'] = [e.response['Error']['Code'], e.response['Error']['Message']]
s3.delete_object(Bucket='boto', Key='v2/put.txt')
try:
    s3.get_object(Bucket='boto', Key='nope')
    err = None
except botocore.exceptions.ClientError as e:
    err = [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
d = s3.delete_objects(Bucket='boto', Delete={'Objects': [{'Key': k} for k in keys]})
print(json.dumps({
  'crc': crc, 'body': got['Body'].read().decode(), 'meta': got['Metadata'],
  'big': [len(big), hashlib.md5(big).hexdigest() == hashlib.md5(b'x' * (6 * 1024 * 1024 + 1)).hexdigest()],
  'keys': keys, 'presigned': presigned, 'err': err, 'v2': v2, 'deleted': len(d.get('Deleted', [])),
}))
`);
    const r = JSON.parse(out);
    expect(r.crc).toBeTruthy();
    expect(r.body).toBe('one');
    expect(r.meta).toEqual({ k: 'v' });
    expect(r.big).toEqual([6 * 1024 * 1024 + 1, true]);
    expect(r.keys).toEqual(['a/big.bin', 'a/one.txt', 'a/sha.txt', 'b/copy.txt']);
    expect(r.presigned).toBe('one');
    expect(r.v2.put).toBe(200);
    expect(r.v2.get).toEqual([200, 'put by v2']);
    expect(r.v2.head).toEqual([200, '', '9']);
    expect(r.v2.wrongMethod[0]).toBe(403);
    expect(r.v2.wrongMethod[1]).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(r.v2.expired[0]).toBe(403);
    expect(r.v2.expired[1]).toContain('<Message>Request has expired</Message>');
    expect(r.v2.otherKey[0]).toBe(403);
    expect(r.v2.otherKey[1]).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(r.v2.header[0]).toBe('AccessDenied');
    expect(r.v2.header[1]).toContain("signature_version='s3v4'");
    expect(r.err).toEqual(['NoSuchKey', 404]);
    expect(r.deleted).toBe(4);
  });

  it('refuses a wrong Content-MD5 from boto3 with BadDigest and keeps the previous version', async () => {
    const out = await python(`
import boto3, botocore, base64, hashlib, json
from botocore.config import Config
# botocore retries BadDigest (as it does against AWS); one attempt keeps the test quick.
s3 = boto3.client('s3', config=Config(retries={'max_attempts': 1}))
s3.put_object(Bucket='boto', Key='keep.txt', Body=b'old')
try:
    s3.put_object(Bucket='boto', Key='keep.txt', Body=b'new', ContentMD5=base64.b64encode(hashlib.md5(b'other').digest()).decode())
    code = None
except botocore.exceptions.ClientError as e:
    code = e.response['Error']['Code']
print(json.dumps({'code': code, 'body': s3.get_object(Bucket='boto', Key='keep.txt')['Body'].read().decode()}))
`);
    expect(JSON.parse(out)).toEqual({ code: 'BadDigest', body: 'old' });
  });
});
