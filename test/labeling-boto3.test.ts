import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';
import { uploadDataset } from './labeling-helpers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await uploadDataset(server, 'tutorial', { n: 2, labels: ['bee'] });
});
afterAll(async () => server?.close());

const script = String.raw`
import boto3, json, time
sm = boto3.client('sagemaker')
team = sm.create_workteam(WorkteamName='bees', Description='bee people',
    MemberDefinitions=[{'CognitoMemberDefinition': {'UserPool': 'us-east-1_x', 'UserGroup': 'bee-team', 'ClientId': 'c'}}])
arn = team['WorkteamArn']
sm.create_labeling_job(
    LabelingJobName='tutorial-bees', LabelAttributeName='bounding-box',
    InputConfig={'DataSource': {'S3DataSource': {'ManifestS3Uri': 's3://tutorial/images/input.manifest'}}},
    OutputConfig={'S3OutputPath': 's3://tutorial/output/'},
    RoleArn='arn:aws:iam::000000000000:role/gt',
    LabelCategoryConfigS3Uri='s3://tutorial/images/labels.json',
    HumanTaskConfig={'WorkteamArn': arn,
        'UiConfig': {'HumanTaskUiArn': 'arn:aws:sagemaker:us-east-1:000000000000:human-task-ui/apiary-bounding-box'},
        'PreHumanTaskLambdaArn': 'arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox',
        'TaskTitle': 'Bees', 'TaskDescription': 'Box every bee',
        'NumberOfHumanWorkersPerDataObject': 1, 'TaskTimeLimitInSeconds': 300,
        'AnnotationConsolidationConfig': {'AnnotationConsolidationLambdaArn': 'arn:aws:lambda:us-east-1:432418664414:function:ACS-BoundingBox'}})
for _ in range(100):
    d = sm.describe_labeling_job(LabelingJobName='tutorial-bees')
    if d['LabelingJobStatus'] != 'Initializing': break
    time.sleep(0.05)
out = {'status': d['LabelingJobStatus'], 'counters': d['LabelCounters'], 'title': d['HumanTaskConfig']['TaskTitle']}
sm.stop_labeling_job(LabelingJobName='tutorial-bees')
for _ in range(100):
    d = sm.describe_labeling_job(LabelingJobName='tutorial-bees')
    if d['LabelingJobStatus'] == 'Stopped': break
    time.sleep(0.05)
out['stopped'] = d['LabelingJobStatus']
out['output'] = d['LabelingJobOutput']['OutputDatasetS3Uri']
out['tutorial'] = d['OutputConfig']['S3OutputPath'] + 'tutorial-bees' + '/manifests/output/output.manifest'
s3 = boto3.client('s3')
out['manifest_lines'] = len(s3.get_object(Bucket='tutorial', Key='output/tutorial-bees/manifests/output/output.manifest')['Body'].read().decode().splitlines())
out['jobs'] = [j['LabelingJobName'] for j in sm.list_labeling_jobs()['LabelingJobSummaryList']]
out['team_jobs'] = [j['LabelingJobName'] for j in sm.list_labeling_jobs_for_workteam(WorkteamArn=arn)['LabelingJobSummaryList']]
try:
    sm.describe_labeling_job(LabelingJobName='missing')
except sm.exceptions.ResourceNotFound as e:
    out['missing'] = e.response['Error']['Code']
try:
    sm.create_workteam(WorkteamName='bees', Description='again', MemberDefinitions=[{'OidcMemberDefinition': {'Groups': ['g']}}])
except sm.exceptions.ResourceInUse as e:
    out['dup'] = e.response['Error']['Code']
print(json.dumps(out))
`;

it('runs the tutorial labeling calls through boto3', async () => {
  const { stdout } = await promisify(execFile)('python3', ['-c', script], { env: server.env });
  expect(JSON.parse(stdout)).toEqual({
    status: 'InProgress',
    counters: {
      TotalLabeled: 0,
      HumanLabeled: 0,
      MachineLabeled: 0,
      FailedNonRetryableError: 0,
      Unlabeled: 2,
    },
    title: 'Bees',
    stopped: 'Stopped',
    output: 's3://tutorial/output/tutorial-bees/manifests/output/output.manifest',
    tutorial: 's3://tutorial/output/tutorial-bees/manifests/output/output.manifest',
    manifest_lines: 2,
    jobs: ['tutorial-bees'],
    team_jobs: ['tutorial-bees'],
    missing: 'ResourceNotFound',
    dup: 'ResourceInUse',
  });
});
