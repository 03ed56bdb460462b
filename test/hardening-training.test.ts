import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SageMakerClient,
  CreateTrainingJobCommand,
  type CreateTrainingJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startTestServer, sdkConfig, type TestServer } from './helpers/server.js';
import { baseJob, JOB_SCRIPT, SYSTEM_PYTHON, TEST_IMAGE, waitForJob } from './training-helpers.js';

// Item 4 of the hardening audit: a user's MetricDefinitions regex cannot stall the server.
let server: TestServer;
let sm: SageMakerClient;
let s3: S3Client;
const bucket = 'bees';

beforeAll(async () => {
  server = await startTestServer({ trainingStopGraceSeconds: 2 });
  sm = new SageMakerClient(sdkConfig(server));
  s3 = new S3Client(sdkConfig(server));
  await server.apiary.training.registerImage(TEST_IMAGE, [SYSTEM_PYTHON, JOB_SCRIPT]);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'data/train/a.txt', Body: 'alpha' }));
});
afterAll(async () => {
  sm?.destroy();
  s3?.destroy();
  await server?.close();
});

const logText = (name: string) =>
  server.apiary.training
    .readLogs(name, 0, 10_000)
    .then((r) => r.lines.map((l) => l.message).join('\n'));

describe('catastrophic metric regexes', () => {
  it('drops a regex that backtracks forever on a log line, says so in the log, and the job completes with its other metrics', async () => {
    await sm.send(
      new CreateTrainingJobCommand(
        baseJob('redos', bucket, {
          // The job's first line is "mode=ok job=redos marker=aaaa…a!": (a+)+$ backtracks 2^40 times on it.
          HyperParameters: { mode: 'ok', marker: `${'a'.repeat(40)}!` },
          InputDataConfig: [
            {
              ChannelName: 'train',
              DataSource: {
                S3DataSource: {
                  S3DataType: 'S3Prefix',
                  S3Uri: `s3://${bucket}/data/train`,
                  S3DataDistributionType: 'FullyReplicated',
                },
              },
            },
          ],
          AlgorithmSpecification: {
            TrainingImage: TEST_IMAGE,
            TrainingInputMode: 'File',
            MetricDefinitions: [
              { Name: 'evil', Regex: 'marker=(a+)+$' },
              { Name: 'train:loss', Regex: 'loss=([0-9.]+)' },
            ],
          },
        }) as unknown as CreateTrainingJobCommandInput,
      ),
    );
    const d = await waitForJob(sm, 'redos');
    expect(d.FailureReason).toBeUndefined();
    expect(d.TrainingJobStatus).toBe('Completed');
    expect(d.FinalMetricDataList!.map((m) => m.MetricName)).toEqual(['train:loss']);
    expect(await logText('redos')).toContain(
      "Apiary: MetricDefinitions 'evil' is no longer evaluated for this job: its regex ran longer than 1000 ms on one log line",
    );
    expect((await fetch(`${server.url}/_apiary/ready`)).status).toBe(200);
  });
});
