import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBoto3 } from './helpers/boto3.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * S3's access answers (issue #16, conformance group B): a missing bucket is 404 NoSuchBucket to
 * every caller, anonymous ones included; a missing key is 404 to whoever may list it and 403 to
 * others; a path that is not UTF-8 is 400 InvalidURI; bucket policy conditions on request headers
 * (`s3:x-amz-server-side-encryption`, `s3:x-amz-acl`, `Null`), which deny the root key too (except
 * Get/Put/DeleteBucketPolicy). boto3 (signed with root's and users' keys, and unsigned) against a
 * real server.
 */

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await server.apiary.identity.createUser({
    username: 'wil',
    password: 'wil-password-1',
    role: 'worker',
  });
  await server.apiary.identity.createUser({
    username: 'ada',
    password: 'ada-password-1',
    role: 'admin',
  });
});
afterAll(async () => {
  await server?.close();
});

/** Path-style clients that never retry: `s3` (root) and `anon` (unsigned). */
const CLIENTS = `
cfg = Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1})
s3 = boto3.client('s3', config=cfg)
anon = boto3.client('s3', config=Config(signature_version=UNSIGNED, s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
`;
const boto3 = (script: string) => runBoto3(server, script, CLIENTS);

describe('answers for what is not there', () => {
  it('a gone object of a public-read bucket is 404 unsigned; a gone bucket is NoSuchBucket', async () => {
    const out = await boto3(`
s3.create_bucket(Bucket='pubgone', ACL='public-read')
s3.put_object(Bucket='pubgone', Key='foo', Body=b'x', ACL='public-read')
out['before'] = anon.get_object(Bucket='pubgone', Key='foo')['Body'].read().decode()
s3.delete_object(Bucket='pubgone', Key='foo')
out['objectGone'] = err(anon.get_object, Bucket='pubgone', Key='foo')
out['headGone'] = err(anon.head_object, Bucket='pubgone', Key='foo')
s3.create_bucket(Bucket='privgone')
out['privateMissing'] = err(anon.get_object, Bucket='privgone', Key='foo')
s3.delete_bucket(Bucket='pubgone')
out['bucketGone'] = err(anon.get_object, Bucket='pubgone', Key='foo')
out['deleteBucketGone'] = err(anon.delete_object, Bucket='pubgone', Key='foo')
out['listBucketGone'] = err(anon.list_objects_v2, Bucket='pubgone')
out['createUnsigned'] = err(anon.create_bucket, Bucket='anon-made')
`);
    expect(out).toEqual({
      before: 'x',
      objectGone: [404, 'NoSuchKey'],
      headGone: [404, '404'],
      // Anonymous callers may not list a private bucket: the key's absence stays hidden.
      privateMissing: [403, 'AccessDenied'],
      bucketGone: [404, 'NoSuchBucket'],
      deleteBucketGone: [404, 'NoSuchBucket'],
      listBucketGone: [404, 'NoSuchBucket'],
      createUnsigned: [403, 'AccessDenied'],
    });
  });

  it('a caller who may list a prefix (and not read it) gets 404 there and 403 elsewhere', async () => {
    const acct = server.apiary.settings.accountId;
    const out = await boto3(`
iam = boto3.client('iam')
k = iam.create_access_key(UserName='wil')['AccessKey']
wil = boto3.client('s3', aws_access_key_id=k['AccessKeyId'], aws_secret_access_key=k['SecretAccessKey'], config=cfg)
s3.create_bucket(Bucket='prefixed')
s3.put_bucket_policy(Bucket='prefixed', Policy=json.dumps({'Version': '2012-10-17', 'Statement': [
  {'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::${acct}:user/wil'}, 'Action': 's3:ListBucket',
   'Resource': 'arn:aws:s3:::prefixed', 'Condition': {'StringLike': {'s3:prefix': 'public/*'}}},
  {'Effect': 'Deny', 'Principal': '*', 'Action': 's3:GetObject', 'Resource': 'arn:aws:s3:::prefixed/public/denied*'}]}))
s3.put_object(Bucket='prefixed', Key='public/there', Body=b'x')
out['listable'] = err(wil.head_object, Bucket='prefixed', Key='public/object')
out['notListable'] = err(wil.head_object, Bucket='prefixed', Key='private/object')
out['existsNoRead'] = err(wil.get_object, Bucket='prefixed', Key='public/there')
out['explicitDeny'] = err(wil.get_object, Bucket='prefixed', Key='public/denied')
out['noBucket'] = err(wil.get_object, Bucket='never-made', Key='k')
`);
    expect(out).toEqual({
      listable: [404, '404'],
      notListable: [403, '403'],
      existsNoRead: [403, 'AccessDenied'],
      explicitDeny: [403, 'AccessDenied'],
      noBucket: [404, 'NoSuchBucket'],
    });
  });

  it('a path that is not percent-encoded UTF-8 is 400 InvalidURI', async () => {
    const out = await boto3(`
import urllib.request
s3.create_bucket(Bucket='uri')
url = s3.generate_presigned_url('get_object', Params={'Bucket': 'uri', 'Key': 'k'})
bad = url.replace('/uri/k?', '/uri/%AE%8A-?')
try:
    urllib.request.urlopen(bad)
    out['bad'] = 'no error'
except urllib.error.HTTPError as e:
    out['bad'] = [e.code, e.read().decode()]
`);
    const [status, body] = out.bad as [number, string];
    expect(status).toBe(400);
    expect(body).toContain('<Code>InvalidURI</Code>');
    expect(body).toContain("<Message>Couldn't parse the specified URI.</Message>");
  });

  it('a policy denies uploads without encryption or with a public ACL (header condition keys)', async () => {
    const out = await boto3(`
iam = boto3.client('iam')
k = iam.create_access_key(UserName='ada')['AccessKey']
ada = boto3.client('s3', aws_access_key_id=k['AccessKeyId'], aws_secret_access_key=k['SecretAccessKey'], config=cfg)
s3.create_bucket(Bucket='guarded')
deny = lambda cond: {'Effect': 'Deny', 'Principal': '*', 'Action': 's3:PutObject', 'Resource': 'arn:aws:s3:::guarded/*', 'Condition': cond}
s3.put_bucket_policy(Bucket='guarded', Policy=json.dumps({'Version': '2012-10-17', 'Statement': [
  deny({'Null': {'s3:x-amz-server-side-encryption': 'true'}}),
  deny({'StringLike': {'s3:x-amz-acl': 'public*'}})]}))
out['plain'] = err(ada.put_object, Bucket='guarded', Key='a', Body=b'x')
r = ada.put_object(Bucket='guarded', Key='a', Body=b'x', ServerSideEncryption='AES256')
out['encrypted'] = r['ServerSideEncryption']
out['public'] = err(ada.put_object, Bucket='guarded', Key='b', Body=b'x', ServerSideEncryption='AES256', ACL='public-read')
out['multipart'] = err(ada.create_multipart_upload, Bucket='guarded', Key='c')
out['copy'] = err(ada.copy_object, Bucket='guarded', Key='d', CopySource={'Bucket': 'guarded', 'Key': 'a'})
out['copyEncrypted'] = ada.copy_object(Bucket='guarded', Key='d', CopySource={'Bucket': 'guarded', 'Key': 'a'}, ServerSideEncryption='AES256')['ServerSideEncryption']
# A Deny for "*" covers the root key too (AWS), with the same conditions.
out['root'] = err(s3.put_object, Bucket='guarded', Key='e', Body=b'x')
out['rootEncrypted'] = s3.put_object(Bucket='guarded', Key='e', Body=b'x', ServerSideEncryption='AES256')['ServerSideEncryption']
`);
    expect(out).toEqual({
      plain: [403, 'AccessDenied'],
      encrypted: 'AES256',
      public: [403, 'AccessDenied'],
      multipart: [403, 'AccessDenied'],
      copy: [403, 'AccessDenied'],
      copyEncrypted: 'AES256',
      root: [403, 'AccessDenied'],
      rootEncrypted: 'AES256',
    });
  });

  it('the root key: refused by a Deny (SSE-C required, then s3:*), never on ?policy', async () => {
    const out = await boto3(`
import base64, hashlib
s3.create_bucket(Bucket='sealed')
s3.create_bucket(Bucket='open')
s3.put_object(Bucket='sealed', Key='before', Body=b'x')
stmt = lambda action, cond=None: dict({'Effect': 'Deny', 'Principal': '*', 'Action': action,
  'Resource': ['arn:aws:s3:::sealed', 'arn:aws:s3:::sealed/*']}, **({'Condition': cond} if cond else {}))
s3.put_bucket_policy(Bucket='sealed', Policy=json.dumps({'Version': '2012-10-17', 'Statement': [
  stmt('s3:PutObject', {'Null': {'s3:x-amz-server-side-encryption-customer-algorithm': 'true'}})]}))
key = os.urandom(32)
ssec = dict(SSECustomerAlgorithm='AES256', SSECustomerKey=base64.b64encode(key).decode(),
  SSECustomerKeyMD5=base64.b64encode(hashlib.md5(key).digest()).decode())
out['noSseC'] = err(s3.put_object, Bucket='sealed', Key='k', Body=b'x')
out['sseC'] = s3.put_object(Bucket='sealed', Key='k', Body=b'x', **ssec)['ResponseMetadata']['HTTPStatusCode']
out['getAllowed'] = s3.get_object(Bucket='sealed', Key='before')['Body'].read().decode()
s3.put_bucket_policy(Bucket='sealed', Policy=json.dumps({'Version': '2012-10-17', 'Statement': [stmt('s3:*')]}))
out['denied'] = [err(s3.put_object, Bucket='sealed', Key='k2', Body=b'x'),
  err(s3.get_object, Bucket='sealed', Key='before'), err(s3.list_objects_v2, Bucket='sealed'),
  err(s3.copy_object, Bucket='open', Key='c', CopySource={'Bucket': 'sealed', 'Key': 'before'}),
  err(s3.delete_bucket, Bucket='sealed')]
# Root can always read, replace and delete the policy: it cannot lock itself out.
out['policyKept'] = json.loads(s3.get_bucket_policy(Bucket='sealed')['Policy'])['Statement'][0]['Action']
s3.put_bucket_policy(Bucket='sealed', Policy=json.dumps({'Version': '2012-10-17', 'Statement': [stmt('s3:*')]}))
s3.delete_bucket_policy(Bucket='sealed')
out['afterDelete'] = s3.get_object(Bucket='sealed', Key='before')['Body'].read().decode()
`);
    expect(out).toEqual({
      noSseC: [403, 'AccessDenied'],
      sseC: 200,
      getAllowed: 'x',
      denied: [
        [403, 'AccessDenied'],
        [403, 'AccessDenied'],
        [403, 'AccessDenied'],
        [403, 'AccessDenied'],
        [403, 'AccessDenied'],
      ],
      policyKept: 's3:*',
      afterDelete: 'x',
    });
  });
});
