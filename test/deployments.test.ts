import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SageMakerClient,
  CreateModelCommand,
  CreateEndpointConfigCommand,
  CreateEndpointCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  UpdateEndpointCommand,
  type DeploymentConfig,
} from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
const ECHO = path.resolve('test/fixtures/echo-serving.mjs');
// A serving image whose model answers every invocation with a 500 (a bad new model version).
const ERRORS =
  "require('http').createServer((q,s)=>{if(q.url==='/ping')return s.writeHead(200).end();q.resume();q.on('end',()=>s.writeHead(500,{'content-type':'text/plain'}).end('model v3 is broken'))}).listen(+process.env.SAGEMAKER_BIND_TO_PORT,'127.0.0.1')";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-deployments-'));
let server: TestServer;
let sm: SageMakerClient;
let rt: SageMakerRuntimeClient;

async function start() {
  server = await startTestServer(
    { dataDir, endpointCreateWaitMs: 30_000 },
    {
      APIARY_SERVING_IMAGES: JSON.stringify({
        'acme/echo:1': { command: [process.execPath, ECHO] },
        'acme/errors:1': { command: [process.execPath, '-e', ERRORS] },
      }),
      APIARY_METRICS_FLUSH_MS: '100',
      APIARY_ALARM_EVALUATION_MS: '100',
      APIARY_DEPLOYMENT_POLL_MS: '100',
    },
  );
  sm = new SageMakerClient(sdkConfig(server));
  rt = new SageMakerRuntimeClient({ ...sdkConfig(server), maxAttempts: 1 });
}

async function stop() {
  sm.destroy();
  rt.destroy();
  await server.close();
}

beforeAll(async () => {
  await start();
  for (const [name, image, greeting] of [
    ['v1', 'acme/echo:1', 'v1'],
    ['v2', 'acme/echo:1', 'v2'],
    ['v3', 'acme/errors:1', 'v3'],
  ] as const) {
    await sm.send(
      new CreateModelCommand({
        ModelName: name,
        PrimaryContainer: { Image: image, Environment: { GREETING: greeting } },
      }),
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: name,
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: name,
            InitialInstanceCount: 2,
            InstanceType: 'ml.m5.large',
          },
        ],
      }),
    );
  }
});

afterAll(async () => {
  await stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** boto3 (the SDK SageMaker users write alarms with), one script per call; prints JSON. */
async function boto3(script: string): Promise<unknown> {
  const { stdout } = await run(
    'python3',
    ['-c', `import boto3, json, datetime\ncw = boto3.client('cloudwatch')\n${script}`],
    { env: server.env },
  );
  return JSON.parse(stdout);
}

const describe_ = (name: string) => sm.send(new DescribeEndpointCommand({ EndpointName: name }));

/** Invokes one request; returns the greeting that answered or the error's HTTP status. */
async function invoke(name: string): Promise<string | number> {
  try {
    const r = await rt.send(
      new InvokeEndpointCommand({
        EndpointName: name,
        ContentType: 'text/plain',
        Body: Buffer.from('hi'),
      }),
    );
    return (JSON.parse(Buffer.from(r.Body!).toString()) as { greeting: string }).greeting;
  } catch (e) {
    return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? -1;
  }
}

/**
 * Sends requests one after another until `done()` holds (at most `max`), as a constant load;
 * returns what answered each.
 */
async function loadUntil(
  name: string,
  done: () => Promise<boolean>,
  max = 3000,
): Promise<(string | number)[]> {
  const seen: (string | number)[] = [];
  for (let i = 0; i < max; i++) {
    seen.push(await invoke(name));
    if (i % 5 === 4 && (await done())) return seen;
  }
  throw new Error(
    `the condition did not hold after ${max} requests; answers: ${JSON.stringify(seen.slice(-20))}`,
  );
}

async function createEndpoint(name: string, config: string) {
  await sm.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: config }));
  expect((await describe_(name)).EndpointStatus).toBe('InService');
}

describe('blue/green deployments', () => {
  it('a canary update completes under constant load with no failed request, and Describe shows the deployment', async () => {
    await createEndpoint('canary', 'v1');
    const config: DeploymentConfig = {
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: {
          Type: 'CANARY',
          CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 },
          WaitIntervalInSeconds: 1,
        },
        TerminationWaitInSeconds: 0,
        MaximumExecutionTimeoutInSeconds: 600,
      },
    };
    await sm.send(
      new UpdateEndpointCommand({
        EndpointName: 'canary',
        EndpointConfigName: 'v2',
        DeploymentConfig: config,
      }),
    );
    let pending: string | undefined;
    const answers = await loadUntil('canary', async () => {
      const d = await describe_('canary');
      pending ??=
        d.PendingDeploymentSummary?.ProductionVariants?.[0]?.VariantStatus?.[0]?.StatusMessage;
      return d.EndpointStatus === 'InService';
    });
    expect(answers.filter((a) => typeof a === 'number')).toEqual([]);
    expect(answers).toContain('v2');
    expect(answers.at(-1)).toBe('v2');
    const d = await describe_('canary');
    expect(d).toMatchObject({ EndpointConfigName: 'v2', LastDeploymentConfig: config });
    expect(d.FailureReason).toBeUndefined();
    expect(d.PendingDeploymentSummary).toBeUndefined();
    expect(
      pending === undefined || /of the traffic goes to the new fleet \(CANARY\)/.test(pending),
    ).toBe(true);
    const history = await server.apiary.hosting.deploymentLog.list('canary');
    expect(history[0]).toMatchObject({ outcome: 'Completed', kind: 'CANARY' });
    expect(history[0]!.timeline.map((p) => p.newPercent)).toEqual(
      expect.arrayContaining([50, 100]),
    );
  });

  it('an alarm that fires while the canary bakes rolls the update back; the old fleet serves throughout', async () => {
    await createEndpoint('rollback', 'v1');
    await boto3(`cw.put_metric_alarm(AlarmName='rollback-5xx', Namespace='AWS/SageMaker', MetricName='Invocation5XXErrors',
  Dimensions=[{'Name': 'EndpointName', 'Value': 'rollback'}, {'Name': 'VariantName', 'Value': 'AllTraffic'}],
  Statistic='Sum', Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator='GreaterThanOrEqualToThreshold', TreatMissingData='notBreaching')
print(json.dumps(cw.describe_alarms(AlarmNames=['rollback-5xx'])['MetricAlarms'][0]['StateValue']))`);
    await sm.send(
      new UpdateEndpointCommand({
        EndpointName: 'rollback',
        EndpointConfigName: 'v3',
        DeploymentConfig: {
          BlueGreenUpdatePolicy: {
            TrafficRoutingConfiguration: {
              Type: 'CANARY',
              CanarySize: { Type: 'CAPACITY_PERCENT', Value: 50 },
              WaitIntervalInSeconds: 3600,
            },
            MaximumExecutionTimeoutInSeconds: 28800,
          },
          AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'rollback-5xx' }] },
        },
      }),
    );
    const answers = await loadUntil(
      'rollback',
      async () => (await describe_('rollback')).EndpointStatus === 'InService',
    );
    // Requests the canary answered failed because its model is broken (ModelError, 424, OriginalStatusCode 500); every other one was v1.
    expect(new Set(answers)).toEqual(new Set(['v1', 424]));
    const d = await describe_('rollback');
    expect(d.EndpointConfigName).toBe('v1');
    expect(d.FailureReason).toMatch(
      /^Rolled back because the alarm\(s\) in AutoRollbackConfiguration went into ALARM during the deployment: rollback-5xx \(Threshold Crossed/,
    );
    expect(d.PendingDeploymentSummary).toBeUndefined();
    for (let i = 0; i < 10; i++) expect(await invoke('rollback')).toBe('v1');
    const alarm =
      (await boto3(`r = cw.describe_alarm_history(AlarmName='rollback-5xx', HistoryItemType='StateUpdate')
print(json.dumps([h['HistorySummary'] for h in r['AlarmHistoryItems']]))`)) as string[];
    expect(alarm).toContain('Alarm updated from OK to ALARM');
    expect((await server.apiary.hosting.deploymentLog.list('rollback'))[0]).toMatchObject({
      outcome: 'RolledBack',
    });
  });

  it('DeleteEndpoint during a deployment stops it and both fleets at once', async () => {
    await createEndpoint('deleted', 'v1');
    await sm.send(
      new UpdateEndpointCommand({
        EndpointName: 'deleted',
        EndpointConfigName: 'v2',
        DeploymentConfig: {
          BlueGreenUpdatePolicy: {
            TrafficRoutingConfiguration: {
              Type: 'LINEAR',
              LinearStepSize: { Type: 'INSTANCE_COUNT', Value: 1 },
              WaitIntervalInSeconds: 3600,
            },
          },
        },
      }),
    );
    expect(server.apiary.hosting.serving.shiftingFleet('deleted')).toBeDefined();
    await sm.send(new DeleteEndpointCommand({ EndpointName: 'deleted' }));
    await expect(describe_('deleted')).rejects.toThrow('Could not find endpoint');
    expect(server.apiary.hosting.serving.shiftingFleet('deleted')).toBeUndefined();
    expect(server.apiary.hosting.serving.fleet('deleted')).toBeUndefined();
    expect(await server.apiary.hosting.deploymentLog.list('deleted')).toEqual([]);
  });

  it('refuses a DeploymentConfig SageMaker refuses, before anything changes', async () => {
    await expect(
      sm.send(
        new UpdateEndpointCommand({
          EndpointName: 'canary',
          EndpointConfigName: 'v1',
          DeploymentConfig: {
            BlueGreenUpdatePolicy: {
              TrafficRoutingConfiguration: { Type: 'CANARY', WaitIntervalInSeconds: 1 },
            },
          },
        }),
      ),
    ).rejects.toThrow(
      'TrafficRoutingConfiguration.CanarySize must have a Type (INSTANCE_COUNT or CAPACITY_PERCENT) and a Value.',
    );
    expect((await describe_('canary')).EndpointStatus).toBe('InService');
  });
});

describe('CloudWatch through the aws CLI and boto3', () => {
  it('get-metric-statistics counts the invocations of an endpoint', async () => {
    await createEndpoint('counted', 'v1');
    for (let i = 0; i < 7; i++) expect(await invoke('counted')).toBe('v1');
    const now = Math.floor(Date.now() / 1000);
    const args = [
      'cloudwatch',
      'get-metric-statistics',
      '--namespace',
      'AWS/SageMaker',
      '--metric-name',
      'Invocations',
      '--dimensions',
      'Name=EndpointName,Value=counted',
      'Name=VariantName,Value=AllTraffic',
      '--start-time',
      String(now - 600),
      '--end-time',
      String(now + 120),
      '--period',
      '60',
      '--statistics',
      'Sum',
      'SampleCount',
      '--output',
      'json',
    ];
    let sum = 0;
    for (let i = 0; i < 200 && sum < 7; i++) {
      const { stdout } = await run('aws', args, { env: server.env });
      sum = (JSON.parse(stdout) as { Datapoints: { Sum: number }[] }).Datapoints.reduce(
        (n, p) => n + p.Sum,
        0,
      );
    }
    expect(sum).toBe(7);
    const latency =
      (await boto3(`r = cw.get_metric_data(MetricDataQueries=[{'Id': 'm', 'MetricStat': {'Metric': {'Namespace': 'AWS/SageMaker', 'MetricName': 'ModelLatency',
  'Dimensions': [{'Name': 'EndpointName', 'Value': 'counted'}, {'Name': 'VariantName', 'Value': 'AllTraffic'}]}, 'Period': 60, 'Stat': 'Maximum'}}],
  StartTime=datetime.datetime.now() - datetime.timedelta(minutes=10), EndTime=datetime.datetime.now() + datetime.timedelta(minutes=2))
print(json.dumps(r['MetricDataResults'][0]['Values']))`)) as number[];
    expect(latency.length).toBeGreaterThan(0);
    expect(latency[0]).toBeGreaterThan(0);
    const listed = (await boto3(
      `print(json.dumps(cw.list_metrics(Namespace='AWS/SageMaker', Dimensions=[{'Name': 'EndpointName', 'Value': 'counted'}])['Metrics']))`,
    )) as { MetricName: string }[];
    expect(listed.map((m) => m.MetricName).sort()).toEqual([
      'Invocation4XXErrors',
      'Invocation5XXErrors',
      'Invocations',
      'ModelLatency',
      'OverheadLatency',
    ]);
  });

  it('put-metric-alarm on an unknown metric is accepted and stays INSUFFICIENT_DATA; bad input gets CloudWatch errors', async () => {
    await run(
      'aws',
      [
        'cloudwatch',
        'put-metric-alarm',
        '--alarm-name',
        'nothing',
        '--namespace',
        'AWS/SageMaker',
        '--metric-name',
        'NoSuchMetric',
        '--statistic',
        'Average',
        '--period',
        '60',
        '--evaluation-periods',
        '2',
        '--threshold',
        '1',
        '--comparison-operator',
        'GreaterThanThreshold',
      ],
      { env: server.env },
    );
    await server.apiary.coordinator.heartbeat();
    const r = (await boto3(`a = cw.describe_alarms(AlarmNamePrefix='noth')['MetricAlarms']
print(json.dumps([[x['AlarmName'], x['StateValue'], x['DatapointsToAlarm'], x['TreatMissingData']] for x in a]))`)) as unknown[];
    expect(r).toEqual([['nothing', 'INSUFFICIENT_DATA', 2, 'missing']]);
    const errors = (await boto3(`out = []
for kw in [dict(DatapointsToAlarm=3), dict(Period=45), dict(ComparisonOperator='LessThanLowerOrGreaterThanUpperThreshold')]:
  args = dict(AlarmName='bad', Namespace='AWS/SageMaker', MetricName='Invocations', Statistic='Sum', Period=60, EvaluationPeriods=2, Threshold=1, ComparisonOperator='GreaterThanThreshold')
  args.update(kw)
  try:
    cw.put_metric_alarm(**args); out.append('accepted')
  except cw.exceptions.ClientError as e:
    out.append([e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']])
try:
  cw.set_alarm_state(AlarmName='missing', StateValue='OK', StateReason='x')
except cw.exceptions.ClientError as e:
  out.append([e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']])
print(json.dumps(out))`)) as unknown[];
    expect(errors).toEqual([
      ['InvalidParameterValue', 400],
      ['InvalidParameterValue', 400],
      ['InvalidParameterValue', 400],
      ['ResourceNotFound', 404],
    ]);
  });
});

describe('a restart in the middle of a deployment', () => {
  it('rolls the update back: the old fleet serves again and FailureReason says so', async () => {
    await createEndpoint('interrupted', 'v1');
    await sm.send(
      new UpdateEndpointCommand({
        EndpointName: 'interrupted',
        EndpointConfigName: 'v2',
        DeploymentConfig: {
          BlueGreenUpdatePolicy: {
            TrafficRoutingConfiguration: {
              Type: 'LINEAR',
              LinearStepSize: { Type: 'INSTANCE_COUNT', Value: 1 },
              WaitIntervalInSeconds: 3600,
            },
          },
        },
      }),
    );
    expect((await describe_('interrupted')).EndpointStatus).toBe('Updating');
    await stop();
    await start();
    const d = await describe_('interrupted');
    expect(d).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'v1' });
    expect(d.FailureReason).toBe(
      'The update was interrupted by a restart of Apiary; it was rolled back and the endpoint kept its previous configuration.',
    );
    let answer: string | number = 0;
    for (let i = 0; i < 200 && answer !== 'v1'; i++) answer = await invoke('interrupted'); // the fleet is rebuilding (503 retry)
    expect(answer).toBe('v1');
    expect((await server.apiary.hosting.deploymentLog.list('interrupted'))[0]).toMatchObject({
      outcome: 'Interrupted',
    });
  });
});
