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
  const { stdout } = await run('python3', ['-c', script], {
    env: server.env,
    maxBuffer: 4 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
};

describe('IAM and STS through boto3 (query protocol, XML)', () => {
  it('answers GetCallerIdentity as the account root, and keeps roles as records', async () => {
    const r = await python(`
import boto3, botocore, json
sts, iam = boto3.client('sts'), boto3.client('iam')
me = sts.get_caller_identity()
trust = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'sagemaker.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}
created = iam.create_role(RoleName='SageMakerRole', Path='/service-role/', AssumeRolePolicyDocument=json.dumps(trust),
                          Description='bees', Tags=[{'Key': 'team', 'Value': 'bees'}])['Role']
got = iam.get_role(RoleName='sagemakerrole')['Role']
def code(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error']['Message']]
missing = code(lambda: iam.get_role(RoleName='Nobody'))
again = code(lambda: iam.create_role(RoleName='SAGEMAKERROLE', AssumeRolePolicyDocument=json.dumps(trust)))
bad = code(lambda: iam.create_role(RoleName='x', AssumeRolePolicyDocument='{not json'))
iam.attach_role_policy(RoleName='SageMakerRole', PolicyArn='arn:aws:iam::aws:policy/AmazonSageMakerFullAccess')
attached = iam.list_attached_role_policies(RoleName='SageMakerRole')['AttachedPolicies']
conflict = code(lambda: iam.delete_role(RoleName='SageMakerRole'))
sim = iam.simulate_principal_policy(PolicySourceArn=created['Arn'], ActionNames=['sagemaker:CreateTrainingJob', 's3:GetObject'])
simMissing = code(lambda: iam.simulate_principal_policy(PolicySourceArn='arn:aws:iam::%s:role/Nobody' % me['Account'], ActionNames=['s3:GetObject']))
listed = [r['RoleName'] for r in iam.list_roles()['Roles']]
unknownAction = code(lambda: iam.list_users())
iam.detach_role_policy(RoleName='SageMakerRole', PolicyArn='arn:aws:iam::aws:policy/AmazonSageMakerFullAccess')
iam.delete_role(RoleName='SageMakerRole')
print(json.dumps({
  'me': [me['Account'], me['Arn'], me['UserId']],
  'created': [created['Arn'], created['Path'], created['RoleId'][:4], created['Tags']],
  'got': [got['RoleName'], got['AssumeRolePolicyDocument'], got['Description'], got['MaxSessionDuration']],
  'missing': missing, 'again': again, 'bad': bad, 'attached': attached, 'conflict': conflict,
  'sim': [(e['EvalActionName'], e['EvalDecision'], e['MatchedStatements'][0]['SourcePolicyId']) for e in sim['EvaluationResults']],
  'simMissing': simMissing, 'listed': listed, 'unknownAction': unknownAction,
  'afterDelete': code(lambda: iam.get_role(RoleName='SageMakerRole'))[0],
}, default=str))
`);
    const account = server.apiary.settings.accountId;
    expect(r.me).toEqual([account, `arn:aws:iam::${account}:root`, account]);
    expect(r.created).toEqual([
      `arn:aws:iam::${account}:role/service-role/SageMakerRole`,
      '/service-role/',
      'AROA',
      [{ Key: 'team', Value: 'bees' }],
    ]);
    expect(r.got).toEqual([
      'SageMakerRole',
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'sagemaker.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      },
      'bees',
      3600,
    ]);
    expect(r.missing).toEqual(['NoSuchEntity', 404, 'The role with name Nobody cannot be found.']);
    expect(r.again).toEqual([
      'EntityAlreadyExists',
      409,
      'Role with name SAGEMAKERROLE already exists.',
    ]);
    expect(r.bad).toEqual(['MalformedPolicyDocument', 400, 'This policy contains invalid Json']);
    expect(r.attached).toEqual([
      {
        PolicyName: 'AmazonSageMakerFullAccess',
        PolicyArn: 'arn:aws:iam::aws:policy/AmazonSageMakerFullAccess',
      },
    ]);
    expect(r.conflict).toEqual([
      'DeleteConflict',
      409,
      'Cannot delete entity, must detach all policies first.',
    ]);
    // Apiary enforces no IAM policy: every action is allowed, and the result says by what.
    expect(r.sim).toEqual([
      ['sagemaker:CreateTrainingJob', 'allowed', 'apiary-allows-every-signed-request'],
      ['s3:GetObject', 'allowed', 'apiary-allows-every-signed-request'],
    ]);
    expect(r.simMissing).toEqual([
      'NoSuchEntity',
      404,
      'The role with name Nobody cannot be found.',
    ]);
    expect(r.listed).toEqual(['SageMakerRole']);
    expect((r.unknownAction as unknown[])[0]).toBe('InvalidAction');
    expect((r.unknownAction as unknown[])[2]).toMatch(
      /^Apiary's IAM does not implement ListUsers; it implements CreateRole, GetRole/,
    );
    expect(r.afterDelete).toBe('NoSuchEntity');
  });

  it('answers services Apiary does not implement in their own protocol, and bad signatures in XML', async () => {
    const r = await python(`
import boto3, botocore, json, os
def err(f):
    try:
        f()
    except botocore.exceptions.ClientError as e:
        return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error']['Message']]
print(json.dumps({
  'sns': err(lambda: boto3.client('sns').list_topics()),
  'ec2': err(lambda: boto3.client('ec2').describe_instances()),
  'dynamodb': err(lambda: boto3.client('dynamodb').list_tables()),
  'lambda': err(lambda: boto3.client('lambda').list_functions()),
  'route53': err(lambda: boto3.client('route53').list_hosted_zones()),
  'badKey': err(lambda: boto3.client('sts', aws_access_key_id='AKIDUNKNOWN', aws_secret_access_key='x').get_caller_identity()),
  'badSecret': err(lambda: boto3.client('iam', aws_access_key_id=os.environ['AWS_ACCESS_KEY_ID'], aws_secret_access_key='wrong').list_roles()),
}))
`);
    expect(r.sns).toEqual([
      'InvalidAction',
      400,
      expect.stringMatching(/^Apiary does not implement sns ListTopics\. Apiary serves SageMaker/),
    ]);
    expect(r.ec2).toEqual([
      'InvalidAction',
      400,
      expect.stringMatching(/^Apiary does not implement ec2 DescribeInstances\./),
    ]);
    expect(r.dynamodb).toEqual([
      'UnknownOperationException',
      400,
      expect.stringMatching(/^Apiary does not implement dynamodb ListTables\./),
    ]);
    expect(r.lambda).toEqual([
      'UnknownOperationException',
      400,
      expect.stringMatching(/^Apiary does not implement lambda GET \/2015-03-31\/functions\./),
    ]);
    expect(r.route53).toEqual([
      'InvalidAction',
      400,
      expect.stringMatching(/^Apiary does not implement route53 GET \/2013-04-01\/hostedzone\./),
    ]);
    expect(r.badKey).toEqual([
      'InvalidClientTokenId',
      403,
      'The security token included in the request is invalid.',
    ]);
    expect((r.badSecret as unknown[]).slice(0, 2)).toEqual(['SignatureDoesNotMatch', 403]);
  });
});
