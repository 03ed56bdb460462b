import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccessStore } from '../src/objects/index.js';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';

// A canned ACL given with a write (x-amz-acl on CreateBucket, PutObject, CopyObject) is part of
// what the reply acknowledges: a client that was answered reads it back at once. CI caught the
// reply going out before the ACL was recorded; a slow ACL write makes that window certain here.
let server: TestServer;
let s3: S3Client;
const ACL_WRITE_DELAY_MS = 300;

beforeAll(async () => {
  server = await startTestServer();
  s3 = new S3Client(sdkConfig(server));
  // Called below with the store it was called on (apply with `this`).
  // oxlint-disable-next-line typescript/unbound-method
  const putAcl = AccessStore.prototype.putAcl;
  vi.spyOn(AccessStore.prototype, 'putAcl').mockImplementation(async function (
    this: AccessStore,
    ...args: Parameters<AccessStore['putAcl']>
  ) {
    await new Promise((resolve) => setTimeout(resolve, ACL_WRITE_DELAY_MS));
    return putAcl.apply(this, args);
  });
});
afterAll(async () => {
  vi.restoreAllMocks();
  s3?.destroy();
  await server?.close();
});

const publicGrants = (grants: { Grantee?: { URI?: string }; Permission?: string }[] = []) =>
  grants.filter((g) => g.Grantee?.URI?.endsWith('/global/AllUsers')).map((g) => g.Permission);

describe('x-amz-acl given with a write is recorded before the reply', () => {
  it('CreateBucket, PutObject and CopyObject read back public-read as soon as they answer', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'acks', ACL: 'public-read' }));
    const bucket = await s3.send(new GetBucketAclCommand({ Bucket: 'acks' }));
    expect(publicGrants(bucket.Grants)).toEqual(['READ']);

    await s3.send(
      new PutObjectCommand({ Bucket: 'acks', Key: 'a', Body: 'x', ACL: 'public-read' }),
    );
    const put = await s3.send(new GetObjectAclCommand({ Bucket: 'acks', Key: 'a' }));
    expect(publicGrants(put.Grants)).toEqual(['READ']);

    await s3.send(
      new CopyObjectCommand({ Bucket: 'acks', Key: 'b', CopySource: 'acks/a', ACL: 'public-read' }),
    );
    const copied = await s3.send(new GetObjectAclCommand({ Bucket: 'acks', Key: 'b' }));
    expect(publicGrants(copied.Grants)).toEqual(['READ']);

    // Anonymous readers see it too, with no wait.
    expect((await fetch(`${server.url}/acks/b`)).status).toBe(200);
  });

  it('a later write without an ACL makes the key private again', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: 'acks', Key: 'c', Body: '1', ACL: 'public-read' }),
    );
    await s3.send(new PutObjectCommand({ Bucket: 'acks', Key: 'c', Body: '2' }));
    const acl = await s3.send(new GetObjectAclCommand({ Bucket: 'acks', Key: 'c' }));
    expect(publicGrants(acl.Grants)).toEqual([]);
    expect((await fetch(`${server.url}/acks/c`)).status).toBe(403);
  });
});
