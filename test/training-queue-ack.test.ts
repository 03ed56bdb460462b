import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CreateTrainingJobCommand,
  SageMakerClient,
  StopTrainingJobCommand,
  type CreateTrainingJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { TrainingJobRepository } from '../src/training/repository.js';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';
import { baseJob, JOB_SCRIPT, SYSTEM_PYTHON, TEST_IMAGE, waitForJob } from './training-helpers.js';

// Stopping a queued job renumbers the jobs still waiting ("Waiting for a training slot: N job(s)
// ahead"), in the background after StopTrainingJob answers. That rewrite must not undo a stop of
// one of those jobs answered meanwhile: a slow rewrite makes the window certain here.
let server: TestServer;
let sm: SageMakerClient;
let s3: S3Client;
const bucket = 'queue-acks';
const QUEUE_MESSAGE_DELAY_MS = 300;

beforeAll(async () => {
  server = await startTestServer({ maxRunningTrainingJobs: 1, maxQueuedTrainingJobs: 2 });
  sm = new SageMakerClient(sdkConfig(server));
  s3 = new S3Client(sdkConfig(server));
  await server.apiary.training.registerImage(TEST_IMAGE, [SYSTEM_PYTHON, JOB_SCRIPT]);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  // Called below with the repository it was called on (apply with `this`).
  // oxlint-disable-next-line typescript/unbound-method
  const update = TrainingJobRepository.prototype.update;
  vi.spyOn(TrainingJobRepository.prototype, 'update').mockImplementation(async function (
    this: TrainingJobRepository,
    ...args: Parameters<TrainingJobRepository['update']>
  ) {
    const [, patch] = args;
    const queueMessage =
      patch.status === undefined &&
      patch.transitions?.at(-1)?.message.startsWith('Waiting for a training slot');
    if (queueMessage) await new Promise((resolve) => setTimeout(resolve, QUEUE_MESSAGE_DELAY_MS));
    return update.apply(this, args);
  });
});
afterAll(async () => {
  vi.restoreAllMocks();
  sm?.destroy();
  s3?.destroy();
  await server?.close();
});

const create = (name: string, mode: string) =>
  sm.send(
    new CreateTrainingJobCommand(
      baseJob(name, bucket, {
        HyperParameters: { mode },
      }) as unknown as CreateTrainingJobCommandInput,
    ),
  );
const stop = (name: string) => sm.send(new StopTrainingJobCommand({ TrainingJobName: name }));

describe('a queued job stopped while the queue is renumbered stays stopped', () => {
  it("keeps its Stopping and Stopped transitions after the other stop's renumbering", async () => {
    await create('holder', 'sleep');
    await waitForJob(sm, 'holder', (d) => d.SecondaryStatus === 'Training');
    await create('first', 'ok');
    await create('second', 'ok');
    await stop('first');
    await stop('second');
    await new Promise((resolve) => setTimeout(resolve, QUEUE_MESSAGE_DELAY_MS * 2));
    const d = await waitForJob(sm, 'second');
    expect([d.TrainingJobStatus, d.SecondaryStatus]).toEqual(['Stopped', 'Stopped']);
    expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
      'Starting',
      'Stopping',
      'Stopped',
    ]);
    await stop('holder');
    await waitForJob(sm, 'holder');
  });
});
