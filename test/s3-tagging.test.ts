import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const python = async (script: string): Promise<Record<string, unknown>> => {
  const { stdout } = await run('python3', ['-c', script], { env: server.env });
  return JSON.parse(stdout) as Record<string, unknown>;
};

describe('tagging with boto3 and the aws CLI', () => {
  it('tags objects and versions, counts them on GET/HEAD, enforces S3 limits, tags buckets', async () => {
    const out = await python(`
import boto3, botocore, json
s3 = boto3.client('s3')
s3.create_bucket(Bucket='tags')
def code(f, **kw):
    try:
        f(**kw)
        return 'ok'
    except botocore.exceptions.ClientError as e:
        return e.response['Error']['Code']
r = {}
s3.put_object(Bucket='tags', Key='k', Body=b'x', Tagging='team=ml&stage=raw')
r['head'] = s3.head_object(Bucket='tags', Key='k')['ResponseMetadata']['HTTPHeaders'].get('x-amz-tagging-count')
r['get'] = s3.get_object_tagging(Bucket='tags', Key='k')['TagSet']
s3.put_object_tagging(Bucket='tags', Key='k', Tagging={'TagSet': [{'Key': 'a', 'Value': '1'}]})
r['put'] = s3.get_object_tagging(Bucket='tags', Key='k')['TagSet']
s3.delete_object_tagging(Bucket='tags', Key='k')
r['deleted'] = s3.get_object_tagging(Bucket='tags', Key='k')['TagSet']
r['eleven'] = code(s3.put_object_tagging, Bucket='tags', Key='k', Tagging={'TagSet': [{'Key': str(i), 'Value': 'v'} for i in range(11)]})
r['longKey'] = code(s3.put_object_tagging, Bucket='tags', Key='k', Tagging={'TagSet': [{'Key': 'k' * 129, 'Value': 'v'}]})
r['longValue'] = code(s3.put_object_tagging, Bucket='tags', Key='k', Tagging={'TagSet': [{'Key': 'k', 'Value': 'v' * 257}]})
r['maxOk'] = code(s3.put_object_tagging, Bucket='tags', Key='k', Tagging={'TagSet': [{'Key': 'k' * 128, 'Value': 'v' * 256}]})
r['missing'] = code(s3.get_object_tagging, Bucket='tags', Key='nope')
# Per version.
s3.put_bucket_versioning(Bucket='tags', VersioningConfiguration={'Status': 'Enabled'})
v1 = s3.put_object(Bucket='tags', Key='v', Body=b'1', Tagging='gen=1')['VersionId']
v2 = s3.put_object(Bucket='tags', Key='v', Body=b'2', Tagging='gen=2')['VersionId']
s3.put_object_tagging(Bucket='tags', Key='v', VersionId=v1, Tagging={'TagSet': [{'Key': 'gen', 'Value': 'old'}]})
r['v1'] = s3.get_object_tagging(Bucket='tags', Key='v', VersionId=v1)['TagSet']
r['latest'] = s3.get_object_tagging(Bucket='tags', Key='v')['TagSet']
# Copy keeps the source's tags, or replaces them.
s3.copy_object(Bucket='tags', Key='c1', CopySource={'Bucket': 'tags', 'Key': 'v'})
s3.copy_object(Bucket='tags', Key='c2', CopySource={'Bucket': 'tags', 'Key': 'v'}, TaggingDirective='REPLACE', Tagging='new=yes')
r['copies'] = [s3.get_object_tagging(Bucket='tags', Key=k)['TagSet'] for k in ('c1', 'c2')]
# Multipart.
u = s3.create_multipart_upload(Bucket='tags', Key='mp', Tagging='mp=1')['UploadId']
p = s3.upload_part(Bucket='tags', Key='mp', UploadId=u, PartNumber=1, Body=b'part')
s3.complete_multipart_upload(Bucket='tags', Key='mp', UploadId=u, MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': p['ETag']}]})
r['mp'] = s3.get_object_tagging(Bucket='tags', Key='mp')['TagSet']
# Bucket tags.
r['noBucketTags'] = code(s3.get_bucket_tagging, Bucket='tags')
s3.put_bucket_tagging(Bucket='tags', Tagging={'TagSet': [{'Key': 'owner', 'Value': 'data'}]})
r['bucketTags'] = s3.get_bucket_tagging(Bucket='tags')['TagSet']
s3.delete_bucket_tagging(Bucket='tags')
r['bucketTagsGone'] = code(s3.get_bucket_tagging, Bucket='tags')
print(json.dumps(r))
`);
    expect(out).toEqual({
      head: '2',
      // Sorted by key, as S3 answers.
      get: [
        { Key: 'stage', Value: 'raw' },
        { Key: 'team', Value: 'ml' },
      ],
      put: [{ Key: 'a', Value: '1' }],
      deleted: [],
      eleven: 'InvalidTag',
      longKey: 'InvalidTag',
      longValue: 'InvalidTag',
      maxOk: 'ok',
      missing: 'NoSuchKey',
      v1: [{ Key: 'gen', Value: 'old' }],
      latest: [{ Key: 'gen', Value: '2' }],
      copies: [[{ Key: 'gen', Value: '2' }], [{ Key: 'new', Value: 'yes' }]],
      mp: [{ Key: 'mp', Value: '1' }],
      noBucketTags: 'NoSuchTagSet',
      bucketTags: [{ Key: 'owner', Value: 'data' }],
      bucketTagsGone: 'NoSuchTagSet',
    });
    const { stdout } = await run(
      'aws',
      ['s3api', 'get-object-tagging', '--bucket', 'tags', '--key', 'mp'],
      { env: server.env },
    );
    expect(JSON.parse(stdout)).toMatchObject({ TagSet: [{ Key: 'mp', Value: '1' }] });
  });
});
