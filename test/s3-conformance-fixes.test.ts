import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBoto3 } from './helpers/boto3.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * Issue #16's "wrong answers", each checked with boto3 (and the aws CLI where it can send the
 * request) against a real server: the answers are AWS's.
 */

const run = promisify(execFile);
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

/** Runs a boto3 script (with `s3`, `err` and `out` defined) and returns what it put in `out`. */
const boto3 = (script: string) => runBoto3(server, script);

const aws = async (...args: string[]): Promise<string> => {
  const { stdout } = await run('aws', ['--endpoint-url', server.url, ...args], {
    env: server.env,
  });
  return stdout;
};

describe('S3 answers as AWS does', () => {
  it('stores a non-ASCII x-amz-meta-* value and returns it RFC 2047-encoded', async () => {
    const out = await boto3(`
s3.create_bucket(Bucket='meta-utf8')
def utf8_meta(**kw):
    kw['params']['headers']['x-amz-meta-meta1'] = 'Hello World\\xe9'
s3.meta.events.register('before-call.s3.PutObject', utf8_meta)
s3.put_object(Bucket='meta-utf8', Key='k', Body=b'x')
out['meta'] = s3.head_object(Bucket='meta-utf8', Key='k')['Metadata']['meta1']
`);
    // 'Hello World\u00e9' as UTF-8, base64: what S3 sends for a non-ASCII metadata value.
    expect(out.meta).toBe('=?UTF-8?B?SGVsbG8gV29ybGTDqQ==?=');
  });

  it('pages ListBuckets and honours MaxKeys=0, an empty token and FetchOwner', async () => {
    const out = await boto3(`
for b in ['lb-a1', 'lb-a2', 'lb-b3']:
    s3.create_bucket(Bucket=b)
p1 = s3.list_buckets(MaxBuckets=2, Prefix='lb-')
p2 = s3.list_buckets(MaxBuckets=2, Prefix='lb-', ContinuationToken=p1['ContinuationToken'])
out['page1'] = [b['Name'] for b in p1['Buckets']]
out['page2'] = [b['Name'] for b in p2['Buckets']]
out['end'] = p2.get('ContinuationToken')
out['region'] = p1['Buckets'][0]['BucketRegion']
s3.put_object(Bucket='lb-a1', Key='a', Body=b'1')
z = s3.list_objects_v2(Bucket='lb-a1', MaxKeys=0)
out['zero'] = [z['IsTruncated'], z['KeyCount'], 'Contents' in z]
o = s3.list_objects_v2(Bucket='lb-a1', ContinuationToken='', FetchOwner=True)
out['owner'] = sorted(o['Contents'][0]['Owner'].keys())
out['no_owner'] = 'Owner' in s3.list_objects_v2(Bucket='lb-a1')['Contents'][0]
`);
    expect(out).toEqual({
      page1: ['lb-a1', 'lb-a2'],
      page2: ['lb-b3'],
      end: null,
      region: 'us-east-1',
      zero: [false, 0, false],
      owner: ['DisplayName', 'ID'],
      no_owner: false,
    });
    const cli = JSON.parse(await aws('s3api', 'list-buckets', '--prefix', 'lb-b')) as {
      Buckets: { Name: string }[];
    };
    expect(cli.Buckets.map((b) => b.Name)).toEqual(['lb-b3']);
  });

  it('reads a multipart object by part number and repeats a Complete idempotently', async () => {
    const out = await boto3(`
s3.create_bucket(Bucket='parts')
data = [b'a' * (5 * 1024 * 1024), b'tail']
u = s3.create_multipart_upload(Bucket='parts', Key='m')['UploadId']
parts = [{'PartNumber': i + 1, 'ETag': s3.upload_part(Bucket='parts', Key='m', UploadId=u,
          PartNumber=i + 1, Body=d)['ETag']} for i, d in enumerate(data)]
first = s3.complete_multipart_upload(Bucket='parts', Key='m', UploadId=u, MultipartUpload={'Parts': parts})
again = s3.complete_multipart_upload(Bucket='parts', Key='m', UploadId=u, MultipartUpload={'Parts': parts})
out['same_etag'] = first['ETag'] == again['ETag']
out['other_parts'] = err(s3.complete_multipart_upload, Bucket='parts', Key='m', UploadId=u,
                         MultipartUpload={'Parts': parts[:1]})
g = s3.get_object(Bucket='parts', Key='m', PartNumber=2)
out['part2'] = [g['ResponseMetadata']['HTTPStatusCode'], g['ContentRange'], g['PartsCount'],
                g['Body'].read() == data[1]]
out['head1'] = s3.head_object(Bucket='parts', Key='m', PartNumber=1)['ContentLength']
out['past'] = err(s3.get_object, Bucket='parts', Key='m', PartNumber=3)
s3.put_object(Bucket='parts', Key='s', Body=b'hello')
out['single'] = s3.get_object(Bucket='parts', Key='s', PartNumber=1)['Body'].read().decode()
u2 = s3.create_multipart_upload(Bucket='parts', Key='c')['UploadId']
out['copy_past_end'] = err(s3.upload_part_copy, Bucket='parts', Key='c', UploadId=u2, PartNumber=1,
                           CopySource='parts/s', CopySourceRange='bytes=0-21')
`);
    expect(out).toEqual({
      same_etag: true,
      other_parts: [404, 'NoSuchUpload'],
      part2: [206, 'bytes 5242880-5242883/5242884', 2, true],
      head1: 5 * 1024 * 1024,
      past: [416, 'InvalidPartNumber'],
      single: 'hello',
      copy_past_end: [416, 'InvalidRange'],
    });
  });

  it('refuses what it does not implement instead of ignoring it', async () => {
    const out = await boto3(`
s3.create_bucket(Bucket='refuse')
out['sse'] = err(s3.put_object, Bucket='refuse', Key='k', Body=b'x', ServerSideEncryption='aws:kms', SSEKMSKeyId='alias/mine')
out['class'] = err(s3.put_object, Bucket='refuse', Key='k', Body=b'x', StorageClass='GLACIER')
out['bad_class'] = err(s3.put_object, Bucket='refuse', Key='k', Body=b'x', StorageClass='CHEAP')
out['lock'] = err(s3.put_object, Bucket='refuse', Key='k', Body=b'x', ObjectLockLegalHoldStatus='ON')
out['website'] = err(s3.get_bucket_website, Bucket='refuse')
s3.put_object(Bucket='refuse', Key='k', Body=b'x', StorageClass='STANDARD', ACL='private')
out['stored'] = s3.get_object(Bucket='refuse', Key='k')['Body'].read().decode()
`);
    expect(out).toEqual({
      sse: [501, 'NotImplemented'],
      class: [501, 'NotImplemented'],
      bad_class: [400, 'InvalidStorageClass'],
      lock: [501, 'NotImplemented'],
      website: [501, 'NotImplemented'],
      stored: 'x',
    });
  });

  it('keeps multipart checksums and answers GetObjectAttributes', async () => {
    const out = await boto3(`
import zlib, base64
s3.create_bucket(Bucket='sums')
data = [b'x' * (5 * 1024 * 1024), b'last part']
def upload(key, **kw):
    r = s3.create_multipart_upload(Bucket='sums', Key=key, ChecksumAlgorithm='CRC32', **kw)
    u = r['UploadId']
    parts = []
    for i, d in enumerate(data):
        p = s3.upload_part(Bucket='sums', Key=key, UploadId=u, PartNumber=i + 1, Body=d,
                           ChecksumAlgorithm='CRC32')
        parts.append({'PartNumber': i + 1, 'ETag': p['ETag'], 'ChecksumCRC32': p['ChecksumCRC32']})
    c = s3.complete_multipart_upload(Bucket='sums', Key=key, UploadId=u, MultipartUpload={'Parts': parts})
    return r['ChecksumType'], c['ChecksumCRC32'], c['ChecksumType']
crc = lambda b: base64.b64encode(zlib.crc32(b).to_bytes(4, 'big')).decode()
out['composite'] = upload('c')
out['composite_ok'] = out['composite'][1] == base64.b64encode(zlib.crc32(b''.join(
    base64.b64decode(crc(d)) for d in data)).to_bytes(4, 'big')).decode() + '-2'
out['full'] = upload('f', ChecksumType='FULL_OBJECT')
out['full_ok'] = out['full'][1] == crc(b''.join(data))
h = s3.head_object(Bucket='sums', Key='f', ChecksumMode='ENABLED')
out['head'] = [h['ChecksumCRC32'] == out['full'][1], h['ChecksumType']]
out['sha1_full'] = err(s3.create_multipart_upload, Bucket='sums', Key='x', ChecksumAlgorithm='SHA1',
                       ChecksumType='FULL_OBJECT')
a = s3.get_object_attributes(Bucket='sums', Key='c', MaxParts=1,
                             ObjectAttributes=['ETag', 'Checksum', 'ObjectParts', 'ObjectSize'])
g = s3.get_object(Bucket='sums', Key='c', PartNumber=2)
out['part_sum'] = [g['ChecksumCRC32'] == crc(data[1]), g['ChecksumType']]
u = s3.create_multipart_upload(Bucket='sums', Key='bad', ChecksumAlgorithm='CRC32',
                               ChecksumType='FULL_OBJECT')['UploadId']
p = s3.upload_part(Bucket='sums', Key='bad', UploadId=u, PartNumber=1, Body=b'z', ChecksumAlgorithm='CRC32')
out['bad_total'] = err(s3.complete_multipart_upload, Bucket='sums', Key='bad', UploadId=u,
                       ChecksumCRC32='AAAAAA==', MultipartUpload={'Parts': [
                           {'PartNumber': 1, 'ETag': p['ETag'], 'ChecksumCRC32': p['ChecksumCRC32']}]})
out['attrs'] = [a['ETag'].startswith('"'), a['Checksum']['ChecksumType'], a['ObjectSize'],
                a['ObjectParts']['TotalPartsCount'], a['ObjectParts']['IsTruncated'],
                [p['Size'] for p in a['ObjectParts']['Parts']]]
`);
    expect(out).toMatchObject({
      composite_ok: true,
      full_ok: true,
      head: [true, 'FULL_OBJECT'],
      sha1_full: [400, 'InvalidRequest'],
      part_sum: [true, 'COMPOSITE'],
      bad_total: [400, 'BadDigest'],
      attrs: [false, 'COMPOSITE', 5 * 1024 * 1024 + 9, 2, true, [5 * 1024 * 1024]],
    });
    expect((out.composite as string[])[0]).toBe('COMPOSITE');
    expect((out.full as string[])[2]).toBe('FULL_OBJECT');
  });

  it('honours conditional writes and deletes as AWS does', async () => {
    const out = await boto3(`
s3.create_bucket(Bucket='cond')
etag = s3.put_object(Bucket='cond', Key='k', Body=b'1', IfNoneMatch='*')['ETag']
out['exists'] = err(s3.put_object, Bucket='cond', Key='k', Body=b'2', IfNoneMatch='*')
out['none_match_etag'] = err(s3.put_object, Bucket='cond', Key='k', Body=b'2', IfNoneMatch=etag)
out['if_match_bad'] = err(s3.put_object, Bucket='cond', Key='k', Body=b'2', IfMatch='"bad"')
out['delete_bad'] = err(s3.delete_object, Bucket='cond', Key='k', IfMatch='"bad"')
out['delete_size'] = err(s3.delete_object, Bucket='cond', Key='k', IfMatchSize=99)
s3.delete_object(Bucket='cond', Key='k', IfMatch=etag)
out['gone'] = err(s3.head_object, Bucket='cond', Key='k')
out['delete_missing'] = err(s3.delete_object, Bucket='cond', Key='k', IfMatch='*')
`);
    expect(out).toEqual({
      exists: [412, 'PreconditionFailed'],
      none_match_etag: [501, 'NotImplemented'],
      if_match_bad: [412, 'PreconditionFailed'],
      delete_bad: [412, 'PreconditionFailed'],
      delete_size: [412, 'PreconditionFailed'],
      gone: [404, '404'],
      delete_missing: [404, 'NoSuchKey'],
    });
    const stderr = await aws(
      's3api',
      'delete-object',
      '--bucket',
      'cond',
      '--key',
      'k',
      '--if-match',
      '"x"',
    )
      .then(() => 'no error')
      .catch((e: { stderr: string }) => e.stderr);
    expect(stderr).toContain('NoSuchKey');
  });
});
