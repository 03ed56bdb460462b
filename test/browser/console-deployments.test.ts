import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { sdkConfig, startTestServer } from '../helpers/server.js';
import { consoleSession, shot, visible } from './console-helpers.js';

const ECHO = path.resolve('test/fixtures/echo-serving.mjs');
const ERRORS =
  "require('http').createServer((q,s)=>{if(q.url==='/ping')return s.writeHead(200).end();q.resume();q.on('end',()=>s.writeHead(500).end('broken'))}).listen(+process.env.SAGEMAKER_BIND_TO_PORT,'127.0.0.1')";

const session = consoleSession({
  start: () =>
    startTestServer(
      { endpointCreateWaitMs: 30_000 },
      {
        APIARY_SERVING_IMAGES: JSON.stringify({
          'acme/echo:1': { command: [process.execPath, ECHO] },
          'acme/errors:1': { command: [process.execPath, '-e', ERRORS] },
        }),
        APIARY_METRICS_FLUSH_MS: '100',
        APIARY_ALARM_EVALUATION_MS: '100',
        APIARY_DEPLOYMENT_POLL_MS: '100',
      },
    ),
  prepare: async ({ server, sm }) => {
    for (const [name, image] of [
      ['good', 'acme/echo:1'],
      ['broken', 'acme/errors:1'],
    ] as const) {
      await sm.send(
        new CreateModelCommand({ ModelName: name, PrimaryContainer: { Image: image } }),
      );
      await sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: name,
          ProductionVariants: [
            {
              VariantName: 'AllTraffic',
              ModelName: name,
              InitialInstanceCount: 1,
              InstanceType: 'ml.m5.large',
            },
          ],
        }),
      );
    }
    await sm.send(new CreateEndpointCommand({ EndpointName: 'shop', EndpointConfigName: 'good' }));
    await promisify(execFile)(
      'aws',
      [
        'cloudwatch',
        'put-metric-alarm',
        '--alarm-name',
        'shop-5xx',
        '--namespace',
        'AWS/SageMaker',
        '--metric-name',
        'Invocation5XXErrors',
        '--dimensions',
        'Name=EndpointName,Value=shop',
        'Name=VariantName,Value=AllTraffic',
        '--statistic',
        'Sum',
        '--period',
        '60',
        '--evaluation-periods',
        '1',
        '--threshold',
        '1',
        '--comparison-operator',
        'GreaterThanOrEqualToThreshold',
      ],
      { env: server.env },
    );
    // An update to a broken model under traffic: its errors trip the alarm and roll it back.
    await sm.send(
      new UpdateEndpointCommand({
        EndpointName: 'shop',
        EndpointConfigName: 'broken',
        DeploymentConfig: {
          BlueGreenUpdatePolicy: {
            TrafficRoutingConfiguration: {
              Type: 'CANARY',
              CanarySize: { Type: 'CAPACITY_PERCENT', Value: 50 },
              WaitIntervalInSeconds: 3600,
            },
          },
          AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'shop-5xx' }] },
        },
      }),
    );
    const rt = new SageMakerRuntimeClient({ ...sdkConfig(server), maxAttempts: 1 });
    for (let i = 0; i < 3000; i++) {
      await rt
        .send(
          new InvokeEndpointCommand({
            EndpointName: 'shop',
            ContentType: 'text/plain',
            Body: Buffer.from('hi'),
          }),
        )
        .catch(() => undefined);
      if (
        i % 5 === 4 &&
        (await sm.send(new DescribeEndpointCommand({ EndpointName: 'shop' }))).EndpointStatus ===
          'InService'
      )
        break;
    }
    rt.destroy();
  },
});

describe('console: an endpoint deployment', () => {
  it('shows the rolled-back update with its alarm, the traffic per fleet and the CloudWatch charts', async () => {
    const { page } = session;
    await page.goto('/_apiary/ui/endpoints/shop');
    await visible(page.getByText('The last update did not complete'));
    const table = page.getByRole('table', { name: 'Deployments' });
    await visible(table.getByText('RolledBack'));
    await visible(table.getByText('shop-5xx: ALARM'));
    await visible(
      table.getByText(
        /Rolled back because the alarm\(s\) in AutoRollbackConfiguration went into ALARM/,
      ),
    );
    await visible(page.getByRole('heading', { name: 'CloudWatch metrics' }));
    expect(await page.getByText('No datapoints yet: invoke the endpoint.').count()).toBe(0);
    await shot(page, '17-endpoint-deployment-rolled-back');
  });

  it('logged no browser console errors', () => {
    expect(session.problems).toEqual([]);
    expect(session.httpErrors).toEqual([]);
  });
});
