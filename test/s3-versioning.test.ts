import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { startTestServer, sdkConfig, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
let server: TestServer;
let s3: S3Client;

beforeAll(async () => {
  server = await startTestServer();
  s3 = new S3Client(sdkConfig(server));
});
afterAll(async () => {
  s3?.destroy();
  await server?.close();
});

const python = async (script: string): Promise<Record<string, unknown>> => {
  const { stdout } = await run('python3', ['-c', script], { env: server.env });
  return JSON.parse(stdout) as Record<string, unknown>;
};
const aws = async (...args: string[]) =>
  (await run('aws', args, { env: server.env, maxBuffer: 16 * 1024 * 1024 })).stdout;

const text = async (bucket: string, key: string, versionId?: string) =>
  (
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }))
  ).Body!.transformToString();

describe('versioning with boto3', () => {
  it('keeps versions, makes delete markers, reads and deletes by version id', async () => {
    const out = await python(`
import boto3, botocore, json
s3 = boto3.client('s3')
s3.create_bucket(Bucket='vers')
s3.put_object(Bucket='vers', Key='k', Body=b'before')  # becomes the null version
r = {'empty': s3.get_bucket_versioning(Bucket='vers').get('Status')}
s3.put_bucket_versioning(Bucket='vers', VersioningConfiguration={'Status': 'Enabled'})
r['status'] = s3.get_bucket_versioning(Bucket='vers')['Status']
v1 = s3.put_object(Bucket='vers', Key='k', Body=b'one')['VersionId']
v2 = s3.put_object(Bucket='vers', Key='k', Body=b'two')['VersionId']
r['ids'] = [len(v1), v1 != v2]
r['latest'] = s3.get_object(Bucket='vers', Key='k')['Body'].read().decode()
r['v1'] = s3.get_object(Bucket='vers', Key='k', VersionId=v1)['Body'].read().decode()
# GetObjectAttributes answers the version it read: the latest, or the one asked for.
a = s3.get_object_attributes(Bucket='vers', Key='k', ObjectAttributes=['ObjectSize'])
b = s3.get_object_attributes(Bucket='vers', Key='k', VersionId=v1, ObjectAttributes=['ObjectSize'])
r['attrs'] = [a['VersionId'] == v2, b['VersionId'] == v1, b['ObjectSize']]
r['null'] = s3.get_object(Bucket='vers', Key='k', VersionId='null')['Body'].read().decode()
d = s3.delete_object(Bucket='vers', Key='k')
r['marker'] = [d['DeleteMarker'], len(d['VersionId'])]
try:
    s3.head_object(Bucket='vers', Key='k')
except botocore.exceptions.ClientError as e:
    r['head'] = [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPHeaders'].get('x-amz-delete-marker')]
try:
    s3.get_object(Bucket='vers', Key='k', VersionId=d['VersionId'])
except botocore.exceptions.ClientError as e:
    r['getMarker'] = e.response['ResponseMetadata']['HTTPStatusCode']
try:
    s3.get_object(Bucket='vers', Key='k', VersionId='nosuchversionid')
except botocore.exceptions.ClientError as e:
    r['noVersion'] = e.response['Error']['Code']
r['listed'] = [o['Key'] for o in s3.list_objects_v2(Bucket='vers').get('Contents', [])]
lv = s3.list_object_versions(Bucket='vers')
r['versions'] = [[v['VersionId'] == v2, v['IsLatest']] for v in lv['Versions']]
r['markers'] = [[m['VersionId'] == d['VersionId'], m['IsLatest']] for m in lv['DeleteMarkers']]
# Deleting the marker brings v2 back.
s3.delete_object(Bucket='vers', Key='k', VersionId=d['VersionId'])
r['back'] = s3.get_object(Bucket='vers', Key='k')['Body'].read().decode()
# Deleting the latest version makes v1 the latest.
s3.delete_object(Bucket='vers', Key='k', VersionId=v2)
r['afterDelete'] = s3.get_object(Bucket='vers', Key='k')['Body'].read().decode()
# Copy an old version.
c = s3.copy_object(Bucket='vers', Key='copy', CopySource={'Bucket': 'vers', 'Key': 'k', 'VersionId': 'null'})
r['copy'] = [c['CopySourceVersionId'], s3.get_object(Bucket='vers', Key='copy')['Body'].read().decode()]
# Suspended: writes replace the null version.
s3.put_bucket_versioning(Bucket='vers', VersioningConfiguration={'Status': 'Suspended'})
r['suspended'] = s3.put_object(Bucket='vers', Key='k', Body=b'sus').get('VersionId')
s3.put_object(Bucket='vers', Key='k', Body=b'sus2')
ids = [v['VersionId'] for v in s3.list_object_versions(Bucket='vers', Prefix='k')['Versions']]
r['afterSuspend'] = [ids.count('null'), v1 in ids, len(ids)]
try:
    s3.put_bucket_versioning(Bucket='vers', VersioningConfiguration={'Status': 'Enabled', 'MFADelete': 'Enabled'})
except botocore.exceptions.ClientError as e:
    r['mfa'] = e.response['Error']['Code']
try:
    s3.delete_bucket(Bucket='vers')
except botocore.exceptions.ClientError as e:
    r['notEmpty'] = e.response['Error']['Code']
# Empty it the way tools do: every version and marker by id.
for page in s3.get_paginator('list_object_versions').paginate(Bucket='vers'):
    objs = [{'Key': v['Key'], 'VersionId': v['VersionId']} for v in page.get('Versions', []) + page.get('DeleteMarkers', [])]
    if objs:
        s3.delete_objects(Bucket='vers', Delete={'Objects': objs})
s3.delete_bucket(Bucket='vers')
r['deleted'] = True
print(json.dumps(r))
`);
    expect(out).toEqual({
      empty: null,
      status: 'Enabled',
      ids: [32, true],
      latest: 'two',
      v1: 'one',
      attrs: [true, true, 3],
      null: 'before',
      marker: [true, 32],
      head: ['404', 'true'],
      getMarker: 405,
      noVersion: 'NoSuchVersion',
      listed: [],
      versions: [
        [true, false],
        [false, false],
        [false, false],
      ],
      markers: [[true, true]],
      back: 'two',
      afterDelete: 'one',
      copy: ['null', 'before'],
      suspended: null,
      afterSuspend: [1, true, 2],
      mfa: 'NotImplemented',
      notEmpty: 'BucketNotEmpty',
      deleted: true,
    });
  });
});

describe('versioning with the JS SDK and the aws CLI', () => {
  it('pages ListObjectVersions by key and version id, with prefix and delimiter', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'pages' }));
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: 'pages',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    for (const key of ['a', 'b', 'dir/x', 'dir/y']) {
      for (let i = 0; i < 3; i++) {
        await s3.send(new PutObjectCommand({ Bucket: 'pages', Key: key, Body: `${key}${i}` }));
      }
    }
    const seen: string[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (let guard = 0; guard < 20; guard++) {
      const page = await s3.send(
        new ListObjectVersionsCommand({
          Bucket: 'pages',
          MaxKeys: 2,
          KeyMarker: keyMarker,
          VersionIdMarker: versionIdMarker,
        }),
      );
      for (const v of page.Versions ?? []) seen.push(`${v.Key}:${v.IsLatest ? 'L' : '-'}`);
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    }
    expect(seen).toEqual(
      ['a', 'b', 'dir/x', 'dir/y'].flatMap((k) => [`${k}:L`, `${k}:-`, `${k}:-`]),
    );
    const grouped = await s3.send(
      new ListObjectVersionsCommand({ Bucket: 'pages', Delimiter: '/' }),
    );
    expect(grouped.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['dir/']);
    expect(grouped.Versions?.map((v) => v.Key)).toEqual(['a', 'a', 'a', 'b', 'b', 'b']);
    const prefixed = await s3.send(
      new ListObjectVersionsCommand({ Bucket: 'pages', Prefix: 'dir/y' }),
    );
    expect(prefixed.Versions).toHaveLength(3);
    // Listing objects shows only the latest versions.
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'pages' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['a', 'b', 'dir/x', 'dir/y']);
    expect(await text('pages', 'a')).toBe('a2');
    // UploadPartCopy reads the version named in x-amz-copy-source.
    const oldest = prefixed.Versions!.at(-1)!;
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'pages', Key: 'joined' }));
    const copied = await s3.send(
      new UploadPartCopyCommand({
        Bucket: 'pages',
        Key: 'joined',
        UploadId: up.UploadId,
        PartNumber: 1,
        CopySource: `pages/dir/y?versionId=${oldest.VersionId}`,
      }),
    );
    expect(copied.CopySourceVersionId).toBe(oldest.VersionId);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'pages',
        Key: 'joined',
        UploadId: up.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: copied.CopyPartResult!.ETag }] },
      }),
    );
    expect(await text('pages', 'joined')).toBe('dir/y0');
  });

  it('answers version ids on PUT, DELETE, DeleteObjects, copy and multipart Complete', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'ids' }));
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: 'ids',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    const put = await s3.send(new PutObjectCommand({ Bucket: 'ids', Key: 'k', Body: 'x' }));
    expect(put.VersionId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const copy = await s3.send(
      new CopyObjectCommand({
        Bucket: 'ids',
        Key: 'c',
        CopySource: `ids/k?versionId=${put.VersionId}`,
      }),
    );
    expect(copy.CopySourceVersionId).toBe(put.VersionId);
    expect(copy.VersionId).not.toBe(put.VersionId);
    const del = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'ids',
        Delete: { Objects: [{ Key: 'c' }, { Key: 'k', VersionId: put.VersionId }] },
      }),
    );
    const byKey = Object.fromEntries((del.Deleted ?? []).map((d) => [d.Key, d]));
    expect(byKey.c).toMatchObject({ DeleteMarker: true });
    expect(byKey.c?.DeleteMarkerVersionId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(byKey.k).toMatchObject({ VersionId: put.VersionId });
    const one = await s3.send(new DeleteObjectCommand({ Bucket: 'ids', Key: 'gone' }));
    expect(one.DeleteMarker).toBe(true);
    // Multipart Complete makes a version.
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'ids', Key: 'mp' }));
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: 'ids',
        Key: 'mp',
        UploadId: created.UploadId,
        PartNumber: 1,
        Body: 'part',
      }),
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'ids',
        Key: 'mp',
        UploadId: created.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    expect(done.VersionId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const versions = JSON.parse(await aws('s3api', 'list-object-versions', '--bucket', 'ids')) as {
      Versions: { Key: string }[];
      DeleteMarkers: { Key: string }[];
    };
    expect(versions.Versions.map((v) => v.Key)).toEqual(['c', 'mp']);
    expect(versions.DeleteMarkers.map((m) => m.Key)).toEqual(['c', 'gone']);
    const state = JSON.parse(await aws('s3api', 'get-bucket-versioning', '--bucket', 'ids')) as {
      Status: string;
    };
    expect(state.Status).toBe('Enabled');
  });

  it('lists an unversioned bucket as null versions and leaves its objects as they were', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'plain' }));
    const put = await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'p', Body: 'v' }));
    expect(put.VersionId).toBeUndefined();
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: 'plain' }));
    expect(listed.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest])).toEqual([
      ['p', 'null', true],
    ]);
    expect(await text('plain', 'p', 'null')).toBe('v');
    await s3.send(new DeleteObjectCommand({ Bucket: 'plain', Key: 'p', VersionId: 'null' }));
    const after = await s3.send(new ListObjectVersionsCommand({ Bucket: 'plain' }));
    expect(after.Versions ?? []).toEqual([]);
  });
});
