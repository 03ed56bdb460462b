import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * S3 lifecycle with boto3 and the aws CLI on a real server whose lifecycle "day" is 2 s and whose
 * sweep runs every second. Effects are awaited by polling with a deadline, never by sleeping.
 */

const run = promisify(execFile);
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(
    {},
    { APIARY_S3_LIFECYCLE_DAY_SECONDS: '2', APIARY_S3_LIFECYCLE_INTERVAL_SECONDS: '1' },
  );
});
afterAll(async () => {
  await server?.close();
});

const python = async (script: string): Promise<Record<string, unknown>> => {
  const prelude = `
import boto3, botocore, json, time
s3 = boto3.client('s3')
def err(f, **kw):
    try:
        f(**kw)
        return None
    except botocore.exceptions.ClientError as e:
        return [e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error']['Code']]
def until(check, seconds=60):
    # Polls with a deadline: the sweep runs every second, a lifecycle day is 2 s.
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False
`;
  const { stdout } = await run('python3', ['-c', prelude + script], {
    env: server.env,
    timeout: 120_000,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
};
const aws = async (...args: string[]) =>
  (await run('aws', args, { env: server.env, maxBuffer: 16 * 1024 * 1024 })).stdout;

describe('lifecycle configuration with boto3', () => {
  it('stores, answers and deletes rules; validates as S3; sets the expiry headers', async () => {
    const out = await python(`
r = {}
s3.create_bucket(Bucket='lc-conf')
r['none'] = err(s3.get_bucket_lifecycle_configuration, Bucket='lc-conf')
rules = [
    {'ID': 'tmp', 'Filter': {'Prefix': 'tmp/'}, 'Status': 'Enabled', 'Expiration': {'Days': 1000}},
    {'ID': 'tagged', 'Filter': {'And': {'Prefix': 'a/', 'Tags': [{'Key': 'k', 'Value': 'v'}],
        'ObjectSizeGreaterThan': 1}}, 'Status': 'Disabled', 'Expiration': {'Date': '2030-01-01T00:00:00Z'}},
    {'ID': 'nc', 'Prefix': 'old/', 'Status': 'Enabled',
        'NoncurrentVersionExpiration': {'NoncurrentDays': 3, 'NewerNoncurrentVersions': 2},
        'AbortIncompleteMultipartUpload': {'DaysAfterInitiation': 1000}},
]
s3.put_bucket_lifecycle_configuration(Bucket='lc-conf', LifecycleConfiguration={'Rules': rules})
got = s3.get_bucket_lifecycle_configuration(Bucket='lc-conf')['Rules']
r['ids'] = [g['ID'] for g in got]
r['filter'] = got[1]['Filter']
r['date'] = got[1]['Expiration']['Date'].isoformat()
r['legacy'] = got[2].get('Prefix')
r['nc'] = got[2]['NoncurrentVersionExpiration']
put = s3.put_object(Bucket='lc-conf', Key='tmp/x', Body=b'x')
r['putHeader'] = put['ResponseMetadata']['HTTPHeaders'].get('x-amz-expiration')
r['headExpiration'] = s3.head_object(Bucket='lc-conf', Key='tmp/x').get('Expiration')
r['getExpiration'] = s3.get_object(Bucket='lc-conf', Key='tmp/x').get('Expiration')
s3.put_object(Bucket='lc-conf', Key='keep/x', Body=b'x')
r['noRule'] = s3.head_object(Bucket='lc-conf', Key='keep/x').get('Expiration')
up = s3.create_multipart_upload(Bucket='lc-conf', Key='old/big')
r['abort'] = [up.get('AbortRuleId'), 'AbortDate' in up]
s3.abort_multipart_upload(Bucket='lc-conf', Key='old/big', UploadId=up['UploadId'])
put_lc = lambda rule: err(s3.put_bucket_lifecycle_configuration, Bucket='lc-conf',
    LifecycleConfiguration={'Rules': [rule]})
base = {'ID': 'x', 'Filter': {'Prefix': ''}, 'Status': 'Enabled'}
r['transition'] = put_lc({**base, 'Transitions': [{'Days': 30, 'StorageClass': 'GLACIER'}]})
r['days0'] = put_lc({**base, 'Expiration': {'Days': 0}})
r['notMidnight'] = put_lc({**base, 'Expiration': {'Date': '2030-01-01T12:00:00Z'}})
r['longId'] = put_lc({**base, 'ID': 'i' * 256, 'Expiration': {'Days': 1}})
r['status'] = put_lc({**base, 'Status': 'On', 'Expiration': {'Days': 1}})
r['noAction'] = put_lc(base)
r['sameId'] = err(s3.put_bucket_lifecycle_configuration, Bucket='lc-conf', LifecycleConfiguration={
    'Rules': [{**base, 'Expiration': {'Days': 1}}, {**base, 'Expiration': {'Days': 2}}]})
r['stillThree'] = len(s3.get_bucket_lifecycle_configuration(Bucket='lc-conf')['Rules'])
s3.delete_bucket_lifecycle(Bucket='lc-conf')
r['deleted'] = err(s3.get_bucket_lifecycle_configuration, Bucket='lc-conf')
print(json.dumps(r))
`);
    expect(out.none).toEqual([404, 'NoSuchLifecycleConfiguration']);
    expect(out.ids).toEqual(['tmp', 'tagged', 'nc']);
    expect(out.filter).toEqual({
      And: { Prefix: 'a/', Tags: [{ Key: 'k', Value: 'v' }], ObjectSizeGreaterThan: 1 },
    });
    expect(out.date).toBe('2030-01-01T00:00:00+00:00');
    expect(out.legacy).toBe('old/');
    expect(out.nc).toEqual({ NoncurrentDays: 3, NewerNoncurrentVersions: 2 });
    expect(out.putHeader).toMatch(
      /^expiry-date="[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} [\d:]{8} GMT", rule-id="tmp"$/,
    );
    // Real days, though the sweep's day is 2 s here (the headers ignore a test day, as ceph rgw's
    // rgw_lc_debug_interval does): midnight UTC, 1000 days on.
    const expiry = Date.parse(/expiry-date="([^"]+)"/.exec(String(out.putHeader))![1]!);
    expect(expiry % 86_400_000).toBe(0);
    expect(expiry).toBeGreaterThan(Date.now() + 999 * 86_400_000);
    expect(out.headExpiration).toBe(out.putHeader);
    expect(out.getExpiration).toBe(out.putHeader);
    expect(out.noRule).toBeNull();
    expect(out.abort).toEqual(['nc', true]);
    expect(out.transition).toEqual([501, 'NotImplemented']);
    expect(out.days0).toEqual([400, 'InvalidArgument']);
    expect(out.notMidnight).toEqual([400, 'InvalidArgument']);
    expect(out.longId).toEqual([400, 'InvalidArgument']);
    expect(out.status).toEqual([400, 'MalformedXML']);
    expect(out.noAction).toEqual([400, 'InvalidRequest']);
    expect(out.sameId).toEqual([400, 'InvalidArgument']);
    expect(out.stillThree).toBe(3);
    expect(out.deleted).toEqual([404, 'NoSuchLifecycleConfiguration']);
  });
});

describe('the lifecycle sweep', () => {
  it('expires objects under the prefix, keeps the others, aborts stale uploads', async () => {
    const out = await python(`
r = {}
s3.create_bucket(Bucket='lc-plain')
for k in ['tmp/a', 'tmp/b', 'keep/a', 'big/small', 'big/large']:
    s3.put_object(Bucket='lc-plain', Key=k, Body=b'x' * (100 if k == 'big/large' else 1))
s3.put_object(Bucket='lc-plain', Key='tag/yes', Body=b'x', Tagging='expire=yes')
s3.put_object(Bucket='lc-plain', Key='tag/no', Body=b'x', Tagging='expire=no')
up = s3.create_multipart_upload(Bucket='lc-plain', Key='up/stale')['UploadId']
s3.put_bucket_lifecycle_configuration(Bucket='lc-plain', LifecycleConfiguration={'Rules': [
    {'ID': 'tmp', 'Filter': {'Prefix': 'tmp/'}, 'Status': 'Enabled', 'Expiration': {'Days': 1}},
    {'ID': 'size', 'Filter': {'And': {'Prefix': 'big/', 'ObjectSizeGreaterThan': 10}},
        'Status': 'Enabled', 'Expiration': {'Days': 1}},
    {'ID': 'tag', 'Filter': {'Tag': {'Key': 'expire', 'Value': 'yes'}}, 'Status': 'Enabled',
        'Expiration': {'Days': 1}},
    {'ID': 'off', 'Filter': {'Prefix': 'keep/'}, 'Status': 'Disabled', 'Expiration': {'Days': 1}},
    {'ID': 'up', 'Filter': {'Prefix': 'up/'}, 'Status': 'Enabled',
        'AbortIncompleteMultipartUpload': {'DaysAfterInitiation': 1}},
]})
keys = lambda: sorted(o['Key'] for o in s3.list_objects_v2(Bucket='lc-plain').get('Contents', []))
r['expired'] = until(lambda: keys() == ['big/small', 'keep/a', 'tag/no'])
r['keys'] = keys()
r['aborted'] = until(lambda: not s3.list_multipart_uploads(Bucket='lc-plain').get('Uploads'))
print(json.dumps(r))
`);
    expect(out.keys).toEqual(['big/small', 'keep/a', 'tag/no']);
    expect(out.expired).toBe(true);
    expect(out.aborted).toBe(true);
  });

  it('versioned bucket: delete markers, noncurrent versions, lone expired markers', async () => {
    const out = await python(`
r = {}
s3.create_bucket(Bucket='lc-ver')
s3.put_bucket_versioning(Bucket='lc-ver', VersioningConfiguration={'Status': 'Enabled'})
s3.put_object(Bucket='lc-ver', Key='cur/a', Body=b'1')
ids = [s3.put_object(Bucket='lc-ver', Key='nc/a', Body=str(i).encode())['VersionId'] for i in range(4)]
s3.put_object(Bucket='lc-ver', Key='dm/a', Body=b'1')
s3.delete_object(Bucket='lc-ver', Key='dm/a')
s3.put_bucket_lifecycle_configuration(Bucket='lc-ver', LifecycleConfiguration={'Rules': [
    {'ID': 'cur', 'Filter': {'Prefix': 'cur/'}, 'Status': 'Enabled', 'Expiration': {'Days': 1}},
    {'ID': 'nc', 'Filter': {'Prefix': 'nc/'}, 'Status': 'Enabled',
        'NoncurrentVersionExpiration': {'NoncurrentDays': 1, 'NewerNoncurrentVersions': 1}},
    {'ID': 'dm', 'Filter': {'Prefix': 'dm/'}, 'Status': 'Enabled',
        'NoncurrentVersionExpiration': {'NoncurrentDays': 1}},
    {'ID': 'dm-marker', 'Filter': {'Prefix': 'dm/'}, 'Status': 'Enabled',
        'Expiration': {'ExpiredObjectDeleteMarker': True}},
]})
def versions(prefix):
    v = s3.list_object_versions(Bucket='lc-ver', Prefix=prefix)
    return ([[x['VersionId'], x['IsLatest']] for x in v.get('Versions', [])],
            [[x['VersionId'], x['IsLatest']] for x in v.get('DeleteMarkers', [])])
r['marker'] = until(lambda: len(versions('cur/')[1]) == 1)
r['cur'] = [len(versions('cur/')[0]), versions('cur/')[1][0][1]]
r['nc'] = until(lambda: len(versions('nc/')[0]) == 2)
r['ncKept'] = [v[0] for v in versions('nc/')[0]] == [ids[3], ids[2]]
r['dm'] = until(lambda: versions('dm/') == ([], []))
print(json.dumps(r))
`);
    expect(out.marker).toBe(true);
    // The expired object stays as a noncurrent version under the new delete marker, as in S3.
    expect(out.cur).toEqual([1, true]);
    expect(out.nc).toBe(true);
    expect(out.ncKept).toBe(true);
    expect(out.dm).toBe(true);
  });
});

describe('lifecycle with the aws CLI', () => {
  it('put, get and delete a configuration from a file', async () => {
    await aws('s3api', 'create-bucket', '--bucket', 'lc-cli');
    const file = path.join(server.dataDir, 'lifecycle.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        Rules: [
          {
            ID: 'logs',
            Filter: { Prefix: 'logs/' },
            Status: 'Enabled',
            Expiration: { Days: 30 },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
          },
        ],
      }),
    );
    await aws(
      's3api',
      'put-bucket-lifecycle-configuration',
      '--bucket',
      'lc-cli',
      '--lifecycle-configuration',
      `file://${file}`,
    );
    const got = JSON.parse(
      await aws('s3api', 'get-bucket-lifecycle-configuration', '--bucket', 'lc-cli'),
    ) as { Rules: unknown[] };
    expect(got.Rules).toEqual([
      {
        ID: 'logs',
        Filter: { Prefix: 'logs/' },
        Status: 'Enabled',
        Expiration: { Days: 30 },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
      },
    ]);
    await aws('s3api', 'delete-bucket-lifecycle', '--bucket', 'lc-cli');
    await expect(
      aws('s3api', 'get-bucket-lifecycle-configuration', '--bucket', 'lc-cli'),
    ).rejects.toThrow(/NoSuchLifecycleConfiguration/);
  });
});
