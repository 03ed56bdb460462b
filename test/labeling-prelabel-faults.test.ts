import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateLabelingJobCommand,
  CreateModelCommand,
  CreateWorkteamCommand,
  DeleteEndpointCommand,
  SageMakerClient,
  waitUntilEndpointInService,
} from '@aws-sdk/client-sagemaker';
import { ConsoleClient } from './helpers/console-client.js';
import { sdkConfig, type TestServer } from './helpers/server.js';
import {
  BUILTIN_IMAGE,
  hostingFixtures,
  startHostingServer,
  uploadFixtures,
} from './fixtures/hosting.js';
import {
  PortalClient,
  PRE_BOX,
  putObject,
  uploadDataset,
  waitForStatus,
} from './labeling-helpers.js';

/** A dark 400×300 image with one bright rectangle: the oracle model "detects" it. */
const beeImage = () =>
  sharp({ create: { width: 400, height: 300, channels: 3, background: '#101010' } })
    .composite([
      {
        input: { create: { width: 120, height: 100, channels: 3, background: '#ffffff' } },
        left: 240,
        top: 150,
      },
    ])
    .png()
    .toBuffer();

let server: TestServer;
let sm: SageMakerClient;
let worker: PortalClient;
let admin: ConsoleClient;

beforeAll(async () => {
  const fixtures = await hostingFixtures();
  server = await startHostingServer();
  sm = new SageMakerClient(sdkConfig(server));
  const urls = await uploadFixtures(server, fixtures, ['oracle.tar.gz']);
  await sm.send(
    new CreateModelCommand({
      ModelName: 'oracle',
      PrimaryContainer: { Image: BUILTIN_IMAGE, ModelDataUrl: urls['oracle.tar.gz'] },
    }),
  );
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'oracle',
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: 'oracle',
          InitialInstanceCount: 1,
          InstanceType: 'ml.m5.large',
        },
      ],
    }),
  );
  await sm.send(
    new CreateEndpointCommand({ EndpointName: 'oracle', EndpointConfigName: 'oracle' }),
  );
  await waitUntilEndpointInService(
    { client: sm, maxWaitTime: 120, minDelay: 1 },
    { EndpointName: 'oracle' },
  );
  await server.apiary.identity.createUser({
    username: 'wren',
    password: 'wren-password',
    role: 'worker',
    groups: ['hive-team'],
  });
  worker = new PortalClient(server.url);
  expect((await worker.login('wren', 'wren-password')).status).toBe(200);
  admin = await ConsoleClient.signIn(server);
}, 180_000);

afterAll(async () => {
  sm?.destroy();
  await server?.close();
});

async function startJob(name: string, endpoint: string, n: number): Promise<void> {
  const data = await uploadDataset(server, 'hive', { n, labels: ['bee', 'drone'], prefix: name });
  for (const ref of data.refs)
    await putObject(data.s3, 'hive', ref.replace('s3://hive/', ''), await beeImage(), 'image/png');
  const team = await sm
    .send(
      new CreateWorkteamCommand({
        WorkteamName: 'hive',
        Description: 'hive',
        MemberDefinitions: [{ OidcMemberDefinition: { Groups: ['hive-team'] } }],
      }),
    )
    .catch(() => undefined);
  const teamArn =
    team?.WorkteamArn ?? `arn:aws:sagemaker:us-east-1:000000000000:workteam/private-crowd/hive`;
  await sm.send(
    new CreateLabelingJobCommand({
      LabelingJobName: name,
      LabelAttributeName: 'bee-boxes',
      InputConfig: { DataSource: { S3DataSource: { ManifestS3Uri: data.manifestUri } } },
      OutputConfig: { S3OutputPath: 's3://hive/out' },
      RoleArn: 'arn:aws:iam::000000000000:role/labeling',
      LabelCategoryConfigS3Uri: data.labelsUri,
      HumanTaskConfig: {
        WorkteamArn: teamArn,
        UiConfig: {
          HumanTaskUiArn: 'arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/BoundingBox',
        },
        PreHumanTaskLambdaArn: PRE_BOX,
        TaskTitle: 'Bees',
        TaskDescription: 'Box every bee',
        NumberOfHumanWorkersPerDataObject: 1,
        TaskTimeLimitInSeconds: 600,
      },
      Tags: [
        { Key: 'apiary:prelabel-endpoint', Value: endpoint },
        { Key: 'apiary:prelabel-min-score', Value: '0.5' },
      ],
    }),
  );
  await waitForStatus(sm, name, ['InProgress']);
}

async function take(job: string) {
  const r = await worker.call('POST', `/_apiary/api/labeling/jobs/${job}/next`);
  expect(r.status).toBe(200);
  return r.json.task as {
    taskId: string;
    version: number;
    suggestions?: {
      endpoint: string;
      boxes: { label: string; left: number; width: number }[];
      notice?: string;
    };
  };
}

async function submit(task: { taskId: string; version: number }, boxes: unknown[]) {
  const r = await worker.call('POST', `/_apiary/api/labeling/tasks/${task.taskId}/submit`, {
    version: task.version,
    submissionId: `s-${task.taskId}`,
    answer: { boxes, imageWidth: 400, imageHeight: 300 },
  });
  expect(r.status).toBe(200);
}

describe('pre-labeling faults', () => {
  it('an endpoint that does not exist: the task opens without suggestions, with a notice', async () => {
    await startJob('no-endpoint', 'nobody-home', 1);
    const task = await take('no-endpoint');
    expect(task.suggestions!.boxes).toEqual([]);
    expect(task.suggestions!.notice).toMatch(/endpoint nobody-home could not be asked.*not found/);
    await submit(task, [{ label: 'bee', left: 10, top: 10, width: 50, height: 40 }]);
    const summary = await admin.fetch('/_apiary/api/labeling/jobs/no-endpoint/prelabel');
    expect(summary.status).toBe(200);
    expect(await summary.json()).toMatchObject({
      endpoint: 'nobody-home',
      objectsWithSuggestions: 0,
      objectsWithoutSuggestions: 1,
      answers: 0,
    });
  });

  it('an endpoint deleted mid-job: the first image keeps its cached suggestions, the next gets a notice', async () => {
    await startJob('mid-job', 'oracle', 2);
    const first = await take('mid-job');
    expect(first.suggestions!.notice).toBeUndefined();
    // The oracle's bright-region box (score 0.9); its fixed class-1 boxes (0.2, 0.1) are under 0.5.
    expect(first.suggestions!.boxes).toHaveLength(1);
    const s = first.suggestions!.boxes[0]!;
    expect(s.label).toBe('bee');
    expect(Math.abs(s.left - 240)).toBeLessThanOrEqual(8);
    // Reopening the same task answers from the cache (the same boxes).
    const again = await worker.call('GET', `/_apiary/api/labeling/tasks/${first.taskId}`);
    expect(again.json.task.suggestions.boxes).toEqual(first.suggestions!.boxes);

    await sm.send(new DeleteEndpointCommand({ EndpointName: 'oracle' }));
    await submit(first, [first.suggestions!.boxes[0]]);
    const second = await take('mid-job');
    expect(second.suggestions!.boxes).toEqual([]);
    expect(second.suggestions!.notice).toMatch(/endpoint oracle could not be asked/);
    await submit(second, [{ label: 'bee', left: 240, top: 150, width: 120, height: 100 }]);
    await waitForStatus(sm, 'mid-job', ['Completed']);
    const summary = (await (
      await admin.fetch('/_apiary/api/labeling/jobs/mid-job/prelabel')
    ).json()) as Record<string, unknown>;
    expect(summary).toMatchObject({
      endpoint: 'oracle',
      objectsWithSuggestions: 1,
      objectsWithoutSuggestions: 1,
      answers: 1,
      suggested: 1,
      kept: 1,
      moved: 0,
      deleted: 0,
      added: 0,
    });
  });
});
