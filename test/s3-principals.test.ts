import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await server.apiary.identity.createUser({
    username: 'ada',
    password: 'ada-password-1',
    role: 'admin',
  });
  await server.apiary.identity.createUser({
    username: 'wil',
    password: 'wil-password-1',
    role: 'worker',
  });
});
afterAll(async () => {
  await server?.close();
});

const python = async (script: string, env: NodeJS.ProcessEnv = server.env) => {
  const { stdout } = await run('python3', ['-c', script], { env, maxBuffer: 4 << 20 });
  return JSON.parse(stdout) as Record<string, any>;
};

/** boto3 helpers shared by the scripts: clients per key, and an error's code. */
const PRELUDE = `
import boto3, botocore, json, os
from botocore.config import Config
cfg = Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1})
def client(svc, key=None):
    if key is None: return boto3.client(svc, config=cfg)
    return boto3.client(svc, aws_access_key_id=key[0], aws_secret_access_key=key[1], config=cfg)
def code(f):
    try:
        f(); return 'ok'
    except botocore.exceptions.ClientError as e:
        return e.response['Error']['Code']
def message(f):
    try:
        f(); return 'ok'
    except botocore.exceptions.ClientError as e:
        return e.response['Error']['Code'] + ': ' + e.response['Error']['Message']
`;

describe('more than one principal (boto3 with different keys, unsigned requests)', () => {
  it("IAM manages users' keys; policies, ACLs and roles decide; a revoked key stops", async () => {
    const r = await python(`${PRELUDE}
root_iam, root_s3 = client('iam'), client('s3')
ada = root_iam.create_access_key(UserName='ada')['AccessKey']
wil = root_iam.create_access_key(UserName='wil')['AccessKey']
third = root_iam.create_access_key(UserName='wil')['AccessKey']
over = code(lambda: root_iam.create_access_key(UserName='wil'))
root_iam.delete_access_key(UserName='wil', AccessKeyId=third['AccessKeyId'])
A, W = (ada['AccessKeyId'], ada['SecretAccessKey']), (wil['AccessKeyId'], wil['SecretAccessKey'])
out = {'ids': [ada['AccessKeyId'], len(ada['SecretAccessKey']), ada['Status']], 'over': over}
out['callers'] = [client('sts', A).get_caller_identity()['Arn'], client('sts', W).get_caller_identity()['Arn']]
out['listed'] = [(k['AccessKeyId'] == wil['AccessKeyId'], k['Status']) for k in root_iam.list_access_keys(UserName='wil')['AccessKeyMetadata']]
out['adaOwnKeys'] = len(client('iam', A).list_access_keys()['AccessKeyMetadata'])
out['wilIam'] = code(lambda: client('iam', W).list_access_keys())
out['wilSageMaker'] = code(lambda: client('sagemaker', W).list_training_jobs())
out['adaSageMaker'] = code(lambda: client('sagemaker', A).list_training_jobs())

root_s3.create_bucket(Bucket='pub')
for k in ['public/a', 'secret/s', 'data/1']:
    root_s3.put_object(Bucket='pub', Key=k, Body=b'hello ' + k.encode())
policy = {'Version': '2012-10-17', 'Statement': [
  {'Effect': 'Allow', 'Principal': '*', 'Action': 's3:GetObject', 'Resource': 'arn:aws:s3:::pub/public/*'},
  {'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::%s:user/wil' % client('sts').get_caller_identity()['Account']},
   'Action': ['s3:GetObject'], 'Resource': 'arn:aws:s3:::pub/data/*'},
  {'Effect': 'Allow', 'Principal': {'AWS': ['arn:aws:iam::%s:user/wil' % client('sts').get_caller_identity()['Account']]},
   'Action': 's3:ListBucket', 'Resource': 'arn:aws:s3:::pub', 'Condition': {'StringLike': {'s3:prefix': 'data/*'}}},
]}
root_s3.put_bucket_policy(Bucket='pub', Policy=json.dumps(policy))
out['policyBack'] = json.loads(root_s3.get_bucket_policy(Bucket='pub')['Policy']) == policy
out['status'] = root_s3.get_bucket_policy_status(Bucket='pub')['PolicyStatus']['IsPublic']
w = client('s3', W)
out['wil'] = [
  w.get_object(Bucket='pub', Key='data/1')['Body'].read().decode(),
  code(lambda: w.get_object(Bucket='pub', Key='secret/s')),
  code(lambda: w.put_object(Bucket='pub', Key='data/2', Body=b'x')),
  [o['Key'] for o in w.list_objects_v2(Bucket='pub', Prefix='data/')['Contents']],
  code(lambda: w.list_objects_v2(Bucket='pub')),
  code(lambda: w.list_buckets()),
  code(lambda: w.get_object(Bucket='pub', Key='data/missing')),
  code(lambda: w.get_object(Bucket='pub', Key='secret/missing')),
]
out['adaReads'] = client('s3', A).get_object(Bucket='pub', Key='secret/s')['Body'].read().decode()

root_s3.create_bucket(Bucket='locked')
acct = client('sts').get_caller_identity()['Account']
deny = {'Statement': [{'Effect': 'Deny', 'Principal': {'AWS': 'arn:aws:iam::%s:user/ada' % acct}, 'Action': 's3:*',
        'Resource': ['arn:aws:s3:::locked', 'arn:aws:s3:::locked/*']}]}
root_s3.put_bucket_policy(Bucket='locked', Policy=json.dumps(deny))
a = client('s3', A)
out['adaLocked'] = [code(lambda: a.put_object(Bucket='locked', Key='k', Body=b'x')), code(lambda: a.delete_bucket_policy(Bucket='locked'))]
out['rootUnlocks'] = [code(lambda: root_s3.put_object(Bucket='locked', Key='k', Body=b'x')), code(lambda: root_s3.delete_bucket_policy(Bucket='locked'))]
out['noPolicy'] = code(lambda: root_s3.get_bucket_policy(Bucket='locked'))
out['malformed'] = [
  message(lambda: root_s3.put_bucket_policy(Bucket='pub', Policy='{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"}]}')),
  message(lambda: root_s3.put_bucket_policy(Bucket='pub', Policy=json.dumps({'Statement': [{'Effect': 'Allow', 'Principal': '*', 'Action': 's3:GetObject', 'Resource': 'arn:aws:s3:::pub/*', 'Condition': {'Bool': {'aws:SecureTransport': 'true'}}}]}))),
]

root_s3.put_object(Bucket='pub', Key='acl/x', Body=b'open', ACL='public-read')
out['acl'] = [g['Permission'] for g in root_s3.get_object_acl(Bucket='pub', Key='acl/x')['Grants']]
out['bucketAcl'] = [g['Permission'] for g in root_s3.get_bucket_acl(Bucket='pub')['Grants']]
out['aclUnsupported'] = code(lambda: root_s3.put_object(Bucket='pub', Key='acl/y', Body=b'x', ACL='authenticated-read'))

root_iam.update_access_key(UserName='wil', AccessKeyId=wil['AccessKeyId'], Status='Inactive')
out['inactive'] = code(lambda: w.get_object(Bucket='pub', Key='data/1'))
root_iam.update_access_key(UserName='wil', AccessKeyId=wil['AccessKeyId'], Status='Active')
out['active'] = code(lambda: w.get_object(Bucket='pub', Key='data/1'))
root_iam.delete_access_key(UserName='wil', AccessKeyId=wil['AccessKeyId'])
out['revoked'] = code(lambda: w.get_object(Bucket='pub', Key='data/1'))
print(json.dumps(out))
`);
    const acct = server.apiary.settings.accountId;
    expect(r.ids[0]).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(r.ids.slice(1)).toEqual([40, 'Active']);
    expect(r.over).toBe('LimitExceeded');
    expect(r.callers).toEqual([`arn:aws:iam::${acct}:user/ada`, `arn:aws:iam::${acct}:user/wil`]);
    expect(r.listed).toEqual([[true, 'Active']]);
    expect(r.adaOwnKeys).toBe(1);
    expect([r.wilIam, r.wilSageMaker, r.adaSageMaker]).toEqual([
      'AccessDenied',
      'AccessDeniedException',
      'ok',
    ]);
    expect([r.policyBack, r.status]).toEqual([true, true]);
    expect(r.wil).toEqual([
      'hello data/1',
      'AccessDenied',
      'AccessDenied',
      ['data/1'],
      'AccessDenied',
      'AccessDenied',
      // A missing key answers 404 only to whoever may list it (s3:prefix = the key): wil may
      // list data/*, not secret/*.
      'NoSuchKey',
      'AccessDenied',
    ]);
    expect(r.adaReads).toBe('hello secret/s');
    expect(r.adaLocked).toEqual(['AccessDenied', 'AccessDenied']);
    expect(r.rootUnlocks).toEqual(['ok', 'ok']);
    expect(r.noPolicy).toBe('NoSuchBucketPolicy');
    expect(r.malformed[0]).toBe('MalformedPolicy: Policy has invalid resource');
    expect(r.malformed[1]).toMatch(/^MalformedPolicy: .*Bool/);
    expect(r.acl).toEqual(['FULL_CONTROL', 'READ']);
    expect(r.bucketAcl).toEqual(['FULL_CONTROL']);
    expect(r.aclUnsupported).toBe('NotImplemented');
    expect([r.inactive, r.active, r.revoked]).toEqual([
      'InvalidAccessKeyId',
      'ok',
      'InvalidAccessKeyId',
    ]);

    // Unsigned requests: only what a policy or ACL grants everyone, and never outside S3.
    const get = (p: string, init?: RequestInit) => fetch(server.url + p, init);
    expect((await get('/pub/public/a')).status).toBe(200);
    expect(await (await get('/pub/public/a')).text()).toBe('hello public/a');
    const secret = await get('/pub/secret/s');
    expect(secret.status).toBe(403);
    expect(await secret.text()).toContain('<Code>AccessDenied</Code>');
    expect((await get('/pub/acl/x')).status).toBe(200);
    expect((await get('/pub/public/missing')).status).toBe(403);
    expect((await get('/pub/public/new', { method: 'PUT', body: 'x' })).status).toBe(403);
    expect((await get('/pub')).status).toBe(403);
    const sm = await get('/', {
      method: 'POST',
      headers: {
        'x-amz-target': 'SageMaker.ListTrainingJobs',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{}',
    });
    expect(sm.status).toBe(403);
    // An overwrite without an ACL is private again.
    await python(`${PRELUDE}
client('s3').put_object(Bucket='pub', Key='acl/x', Body=b'closed')
print('{}')`);
    expect((await get('/pub/acl/x')).status).toBe(403);
  }, 120_000);

  it('the CLI creates, lists, deactivates and deletes keys; another replica follows', async () => {
    const cli = (...args: string[]) =>
      run(path.join(ROOT, 'bin', 'apiary'), args, {
        env: { ...server.env, APIARY_DATA_DIR: server.dataDir, APIARY_LOG_LEVEL: 'silent' },
      }).then((o) => o.stdout);
    const created = JSON.parse(await cli('users', 'keys', 'create', 'ada', '--json')) as {
      accessKeyId: string;
      secretAccessKey: string;
    };
    expect(created.accessKeyId).toMatch(/^AKIA/);
    // (The CLI starts a whole Apiary per command: list is checked in-process to keep this lean.)
    expect((await server.apiary.accessKeys.list('ada')).map((k) => k.accessKeyId)).toContain(
      created.accessKeyId,
    );
    const second = await startTestServer({ dataDir: server.dataDir, replicaId: 'second' });
    try {
      // A key made elsewhere (the CLI) works on both servers once their caches refresh.
      const callerOn = async (target: TestServer): Promise<string> => {
        const s3 = new S3Client({
          ...sdkConfig(target),
          credentials: {
            accessKeyId: created.accessKeyId,
            secretAccessKey: created.secretAccessKey,
          },
          maxAttempts: 1,
        });
        try {
          await s3.send(new ListBucketsCommand({}));
          return 'ok';
        } catch (err) {
          return (err as Error).name;
        } finally {
          s3.destroy();
        }
      };
      const until = async (target: TestServer, want: (s: string) => boolean): Promise<string> => {
        let last = '';
        for (let i = 0; i < 80; i++) {
          last = await callerOn(target);
          if (want(last)) return last;
          await new Promise((res) => setTimeout(res, 250));
        }
        return last;
      };
      expect(await until(server, (s) => s === 'ok')).toBe('ok');
      expect(await until(second, (s) => s === 'ok')).toBe('ok');
      await cli('users', 'keys', 'deactivate', 'ada', created.accessKeyId);
      expect(await until(second, (s) => s !== 'ok')).toBe('InvalidAccessKeyId');
      await cli('users', 'keys', 'delete', 'ada', created.accessKeyId);
      expect(await until(server, (s) => s !== 'ok')).toBe('InvalidAccessKeyId');
      expect((await server.apiary.accessKeys.list('ada')).map((k) => k.accessKeyId)).not.toContain(
        created.accessKeyId,
      );
    } finally {
      await second.close();
    }
  }, 120_000);
});
