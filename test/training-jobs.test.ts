import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SageMakerClient,
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  ListTrainingJobsCommand,
  StopTrainingJobCommand,
  ListTagsCommand,
  type CreateTrainingJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startTestServer, sdkConfig, type TestServer } from './helpers/server.js';
import {
  baseJob,
  getObjectBytes,
  JOB_SCRIPT,
  pidsWithCmdline,
  SYSTEM_PYTHON,
  TEST_IMAGE,
  untar,
  waitForJob,
} from './training-helpers.js';

let server: TestServer;
let sm: SageMakerClient;
let s3: S3Client;
const bucket = 'bees';

beforeAll(async () => {
  server = await startTestServer({
    maxRunningTrainingJobs: 1,
    maxQueuedTrainingJobs: 1,
    trainingStopGraceSeconds: 2,
  });
  sm = new SageMakerClient(sdkConfig(server));
  s3 = new S3Client(sdkConfig(server));
  await server.apiary.training.registerImage(TEST_IMAGE, [SYSTEM_PYTHON, JOB_SCRIPT]);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [key, body] of [
    ['data/train/a.txt', 'alpha'],
    ['data/train/sub/b.txt', 'bravo!'],
    ['data/validation/c.txt', 'charlie'],
  ] as const) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }
});
afterAll(async () => {
  sm?.destroy();
  s3?.destroy();
  await server?.close();
});

const create = (input: Record<string, unknown>) =>
  sm.send(new CreateTrainingJobCommand(input as unknown as CreateTrainingJobCommandInput));
const channel = (name: string, uri: string, extra: Record<string, unknown> = {}) => ({
  ChannelName: name,
  DataSource: {
    S3DataSource: { S3DataType: 'S3Prefix', S3Uri: uri, S3DataDistributionType: 'FullyReplicated' },
  },
  ...extra,
});
const logText = (name: string) =>
  server.apiary.training
    .readLogs(name, 0, 10_000)
    .then((r) => r.lines.map((l) => l.message).join('\n'));

describe('training jobs run end to end on local sandboxed processes', () => {
  it('goes Starting → Downloading → Training → Uploading → Completed, stages File channels and stores model.tar.gz', async () => {
    const created = await create(
      baseJob('file-mode-job', bucket, {
        HyperParameters: { mode: 'ok', semi: '; id', subst: '$(id)', quote: 'it\'s "quoted"' },
        InputDataConfig: [
          channel('train', `s3://${bucket}/data/train`, { ContentType: 'text/plain' }),
          channel('validation', `s3://${bucket}/data/validation/`),
        ],
        AlgorithmSpecification: {
          TrainingImage: TEST_IMAGE,
          TrainingInputMode: 'File',
          MetricDefinitions: [
            { Name: 'train:loss', Regex: 'loss=([0-9.]+)' },
            { Name: 'train:accuracy', Regex: 'accuracy=(?P<acc>[0-9.]+)' },
          ],
        },
        Tags: [{ Key: 'team', Value: 'bees' }],
      }),
    );
    expect(created.TrainingJobArn).toBe(
      'arn:aws:sagemaker:us-east-1:000000000000:training-job/file-mode-job',
    );
    const d = await waitForJob(sm, 'file-mode-job');
    expect(d.FailureReason).toBeUndefined();
    expect(d.TrainingJobStatus).toBe('Completed');
    expect(d.SecondaryStatus).toBe('Completed');
    expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
      'Starting',
      'Downloading',
      'Training',
      'Uploading',
      'Completed',
    ]);
    for (const t of d.SecondaryStatusTransitions!)
      expect(t.EndTime!.getTime()).toBeGreaterThanOrEqual(t.StartTime!.getTime());
    expect(d.TrainingStartTime!.getTime()).toBeLessThanOrEqual(d.TrainingEndTime!.getTime());
    expect(d.TrainingTimeInSeconds).toBeGreaterThanOrEqual(1);
    expect(d.BillableTimeInSeconds).toBe(d.TrainingTimeInSeconds);
    expect(d.ModelArtifacts?.S3ModelArtifacts).toBe(
      `s3://${bucket}/output/file-mode-job/output/model.tar.gz`,
    );
    expect(d.HyperParameters).toEqual({
      mode: 'ok',
      semi: '; id',
      subst: '$(id)',
      quote: 'it\'s "quoted"',
    });
    expect(d.ResourceConfig?.InstanceType).toBe('ml.m5.large');
    expect(Object.fromEntries(d.FinalMetricDataList!.map((m) => [m.MetricName, m.Value]))).toEqual({
      'train:loss': 0.3333,
      'train:accuracy': 0.7,
    });

    const log = await logText('file-mode-job');
    expect(log).toContain(
      'hyperparameters {"mode": "ok", "quote": "it\'s \\"quoted\\"", "semi": "; id", "subst": "$(id)"}',
    );
    expect(log).toContain('file train/a.txt 5');
    expect(log).toContain('file train/sub/b.txt 6');
    expect(log).toContain('file validation/c.txt 7');
    expect(log).toContain(
      '"train": {"CompressionType": "None", "ContentType": "text/plain", "RecordWrapperType": "None", "S3DataType": "S3Prefix", "S3DistributionType": "FullyReplicated", "TrainingInputMode": "File"}',
    );
    expect(log).toMatch(/env SM_CHANNEL_TRAIN=\/opt\/ml\/input\/data\/train/);
    expect(log).not.toMatch(/uid=\d+/);

    const entries = await untar(
      await getObjectBytes(s3, bucket, 'output/file-mode-job/output/model.tar.gz'),
    );
    expect(entries).toEqual({ 'model.txt': 'weights', 'sub/meta.json': '{"ok": true}' });
    const out = await untar(
      await getObjectBytes(s3, bucket, 'output/file-mode-job/output/output.tar.gz'),
    );
    expect(out).toEqual({ 'predictions.txt': 'preds' });

    const series = await server.apiary.training.metricSeries('file-mode-job');
    expect(series['train:loss']!.map((p) => p.value)).toEqual([1, 0.5, 0.3333]);
    expect(
      (await sm.send(new ListTagsCommand({ ResourceArn: created.TrainingJobArn }))).Tags,
    ).toEqual([{ Key: 'team', Value: 'bees' }]);
    const listed = await sm.send(new ListTrainingJobsCommand({ NameContains: 'file-mode' }));
    expect(
      listed.TrainingJobSummaries?.map((s) => [
        s.TrainingJobName,
        s.TrainingJobStatus,
        s.SecondaryStatus,
      ]),
    ).toEqual([['file-mode-job', 'Completed', 'Completed']]);
  });

  it("keeps Apiary's data dir (database, credentials, blobs) out of the sandbox", async () => {
    // The SQLite file, or (on PostgreSQL, which keeps no file there) the root credentials.
    const sqlite = `${server.dataDir}/apiary.db`;
    const db = fs.existsSync(sqlite) ? sqlite : `${server.dataDir}/credentials.json`;
    expect(fs.existsSync(db)).toBe(true);
    await create(
      baseJob('peek-job', bucket, {
        HyperParameters: { mode: 'peek', paths: `${db},/opt/ml/input/config/hyperparameters.json` },
      }),
    );
    expect((await waitForJob(sm, 'peek-job')).TrainingJobStatus).toBe('Completed');
    const log = await logText('peek-job');
    expect(log).toContain(`peek ${db} exists=False`);
    expect(log).toContain('peek /opt/ml/input/config/hyperparameters.json exists=True');
  });

  it('rejects a duplicate name with ResourceInUse and answers unknown jobs as SageMaker does', async () => {
    await expect(
      create(baseJob('FILE-MODE-JOB', bucket, { HyperParameters: { mode: 'ok' } })),
    ).rejects.toMatchObject({
      name: 'ResourceInUse',
      message: expect.stringContaining('a training job with this name already exists'),
    });
    await expect(
      sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'no-such-job' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Requested resource not found.',
    });
    await expect(
      sm.send(new StopTrainingJobCommand({ TrainingJobName: 'no-such-job' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFound' });
    await expect(
      sm.send(new StopTrainingJobCommand({ TrainingJobName: 'file-mode-job' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('is in status Completed and cannot be stopped'),
    });
  });

  it('rejects URIs outside the store, unknown images and bad metric regexes at create', async () => {
    await expect(
      create(baseJob('bad-uri', bucket, { InputDataConfig: [channel('train', 'file:///etc/')] })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining(
        "Value 'file:///etc/' at 'inputDataConfig.1.member.dataSource.s3DataSource.s3Uri' failed to satisfy constraint",
      ),
    });
    await expect(
      create(
        baseJob('https-uri', bucket, {
          InputDataConfig: [channel('train', 'https://example.com/data/')],
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message:
        "InputDataConfig.train.S3Uri 'https://example.com/data/' is not an S3 URI: expected s3://<bucket>/<key>; Apiary reads and writes only its own object store",
    });
    await expect(
      create(
        baseJob('bad-out', bucket, { OutputDataConfig: { S3OutputPath: 'http://example.com/x' } }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(
      create(
        baseJob('bad-image', bucket, {
          AlgorithmSpecification: {
            TrainingImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/mystery:1',
            TrainingInputMode: 'File',
          },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(
        /TrainingImage '.*mystery:1' is not known to Apiary.*Registered images: apiary-test\/job:1/,
      ),
    });
    await expect(
      create(
        baseJob('bad-regex', bucket, {
          AlgorithmSpecification: {
            TrainingImage: TEST_IMAGE,
            TrainingInputMode: 'File',
            MetricDefinitions: [{ Name: 'm', Regex: 'loss=(' }],
          },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining("MetricDefinitions 'm'"),
    });
    await expect(create(baseJob('no-bucket', 'nope-bucket'))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining("the bucket 'nope-bucket' does not exist"),
    });
    await expect(create(baseJob('bad_name', bucket))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('fails with the text of /opt/ml/output/failure', async () => {
    await create(baseJob('failure-file', bucket, { HyperParameters: { mode: 'fail-file' } }));
    const d = await waitForJob(sm, 'failure-file');
    expect(d.TrainingJobStatus).toBe('Failed');
    expect(d.SecondaryStatus).toBe('Failed');
    expect(d.FailureReason).toBe("ClientError: the label attribute 'bees' is missing on line 3");
    expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
      'Starting',
      'Downloading',
      'Training',
      'Failed',
    ]);
  });

  it('fails with the exit code and the last log lines when there is no failure file', async () => {
    await create(baseJob('exit-three', bucket, { HyperParameters: { mode: 'exit3' } }));
    const d = await waitForJob(sm, 'exit-three');
    expect(d.TrainingJobStatus).toBe('Failed');
    expect(d.FailureReason).toMatch(
      /^AlgorithmError: the training process failed: it exited with code 3\. Last log lines:\n/,
    );
    expect(d.FailureReason).toContain('about to fail\nlast words');
  });

  it('fails with the signal when the trainer is killed with kill -9', async () => {
    await create(
      baseJob('killed-job', bucket, {
        HyperParameters: { mode: 'sleep', marker: 'kill-me-marker' },
      }),
    );
    await waitForJob(sm, 'killed-job', (d) => d.SecondaryStatus === 'Training');
    let pids: number[] = [];
    for (let i = 0; i < 100 && pids.length === 0; i++) {
      const log = await logText('killed-job');
      if (log.includes('sleeping'))
        pids = pidsWithCmdline(JOB_SCRIPT).filter((p) =>
          fs.readFileSync(`/proc/${p}/environ`, 'utf8').includes('TRAINING_JOB_NAME=killed-job'),
        );
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(pids.length).toBe(1);
    process.kill(pids[0]!, 'SIGKILL');
    const d = await waitForJob(sm, 'killed-job');
    expect(d.TrainingJobStatus).toBe('Failed');
    expect(d.FailureReason).toContain('killed by signal SIGKILL');
  });

  it('fails in Downloading naming a missing input object', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'manifests/train.json',
        Body: JSON.stringify([{ prefix: `s3://${bucket}/data/train/` }, 'a.txt', 'missing/x.txt']),
      }),
    );
    await create(
      baseJob('missing-input', bucket, {
        HyperParameters: { mode: 'ok' },
        InputDataConfig: [
          {
            ChannelName: 'train',
            DataSource: {
              S3DataSource: {
                S3DataType: 'ManifestFile',
                S3Uri: `s3://${bucket}/manifests/train.json`,
              },
            },
          },
        ],
      }),
    );
    const d = await waitForJob(sm, 'missing-input');
    expect(d.TrainingJobStatus).toBe('Failed');
    expect(d.FailureReason).toBe(
      `ClientError: Data download failed: the object s3://${bucket}/data/train/missing/x.txt of channel 'train' does not exist`,
    );
    expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
      'Starting',
      'Downloading',
      'Failed',
    ]);
    expect(d.TrainingStartTime).toBeDefined();
  });

  it('stops a running job: SIGTERM, the model folder is still uploaded, Stopping → Stopped', async () => {
    await create(baseJob('stop-me', bucket, { HyperParameters: { mode: 'sleep' } }));
    await waitForJob(sm, 'stop-me', (d) => d.SecondaryStatus === 'Training');
    for (let i = 0; i < 100 && !(await logText('stop-me')).includes('sleeping'); i++)
      await new Promise((r) => setTimeout(r, 50));
    await sm.send(new StopTrainingJobCommand({ TrainingJobName: 'stop-me' }));
    const stopping = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'stop-me' }));
    expect(['Stopping', 'Stopped']).toContain(stopping.TrainingJobStatus);
    const d = await waitForJob(sm, 'stop-me');
    expect(d.TrainingJobStatus).toBe('Stopped');
    expect(d.SecondaryStatus).toBe('Stopped');
    expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
      'Starting',
      'Downloading',
      'Training',
      'Stopping',
      'Stopped',
    ]);
    expect(await logText('stop-me')).toContain('got SIGTERM: saving');
    expect(
      await untar(await getObjectBytes(s3, bucket, 'output/stop-me/output/model.tar.gz')),
    ).toEqual({ 'stopped.txt': 'partial' });
  });

  it('enforces MaxRuntimeInSeconds, killing a job that ignores SIGTERM after the grace period', async () => {
    await create(
      baseJob('too-long', bucket, {
        HyperParameters: { mode: 'ignore-term' },
        StoppingCondition: { MaxRuntimeInSeconds: 1 },
      }),
    );
    const d = await waitForJob(sm, 'too-long', undefined, 20_000);
    expect(d.TrainingJobStatus).toBe('Stopped');
    expect(d.SecondaryStatus).toBe('MaxRuntimeExceeded');
    expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
      'Starting',
      'Downloading',
      'Training',
      'Stopping',
      'MaxRuntimeExceeded',
    ]);
  });

  it('queues jobs beyond the slot limit and refuses more than the queue holds', async () => {
    await create(baseJob('slot-holder', bucket, { HyperParameters: { mode: 'sleep' } }));
    await waitForJob(sm, 'slot-holder', (d) => d.SecondaryStatus === 'Training');
    await create(baseJob('waiting-job', bucket, { HyperParameters: { mode: 'ok' } }));
    const waiting = await sm.send(
      new DescribeTrainingJobCommand({ TrainingJobName: 'waiting-job' }),
    );
    expect([waiting.TrainingJobStatus, waiting.SecondaryStatus]).toEqual([
      'InProgress',
      'Starting',
    ]);
    expect(waiting.SecondaryStatusTransitions?.at(-1)?.StatusMessage).toMatch(
      /^Waiting for a training slot: 0 job\(s\) ahead/,
    );
    await expect(
      create(baseJob('one-too-many', bucket, { HyperParameters: { mode: 'ok' } })),
    ).rejects.toMatchObject({
      name: 'ResourceLimitExceeded',
      message: expect.stringContaining('APIARY_MAX_QUEUED_TRAINING_JOBS'),
    });
    await sm.send(new StopTrainingJobCommand({ TrainingJobName: 'slot-holder' }));
    const d = await waitForJob(sm, 'waiting-job');
    expect(d.TrainingJobStatus).toBe('Completed');
  });

  it('stops a queued job at once', async () => {
    await create(baseJob('holder-two', bucket, { HyperParameters: { mode: 'sleep' } }));
    await create(baseJob('queued-stop', bucket, { HyperParameters: { mode: 'ok' } }));
    await sm.send(new StopTrainingJobCommand({ TrainingJobName: 'queued-stop' }));
    const d = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: 'queued-stop' }));
    expect([d.TrainingJobStatus, d.SecondaryStatus]).toEqual(['Stopped', 'Stopped']);
    expect(d.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
      'Starting',
      'Stopping',
      'Stopped',
    ]);
    await sm.send(new StopTrainingJobCommand({ TrainingJobName: 'holder-two' }));
    await waitForJob(sm, 'holder-two');
  });

  it('fails a job that writes more logs or model bytes than the caps, naming the setting; runs without a sandbox when told to', async () => {
    const small = await startTestServer({
      trainingLogCapBytes: 200_000,
      trainingModelCapBytes: 2048,
      sandbox: 'none',
    });
    const sm2 = new SageMakerClient(sdkConfig(small));
    const s3b = new S3Client(sdkConfig(small));
    try {
      await small.apiary.training.registerImage(TEST_IMAGE, [SYSTEM_PYTHON, JOB_SCRIPT]);
      await s3b.send(new CreateBucketCommand({ Bucket: bucket }));
      await sm2.send(
        new CreateTrainingJobCommand(
          baseJob('chatty', bucket, {
            HyperParameters: { mode: 'flood' },
          }) as unknown as CreateTrainingJobCommandInput,
        ),
      );
      const d = await waitForJob(sm2, 'chatty');
      expect(d.TrainingJobStatus).toBe('Failed');
      expect(d.FailureReason).toBe(
        'ClientError: the training job wrote more than 200000 bytes of logs (APIARY_TRAINING_LOG_CAP_BYTES)',
      );
      await sm2.send(
        new CreateTrainingJobCommand(
          baseJob('heavy-model', bucket, {
            HyperParameters: { mode: 'big-model' },
          }) as unknown as CreateTrainingJobCommandInput,
        ),
      );
      const m = await waitForJob(sm2, 'heavy-model');
      expect(m.TrainingJobStatus).toBe('Failed');
      expect(m.FailureReason).toBe(
        'ClientError: the model folder holds 5000 bytes, more than 2048 (APIARY_TRAINING_MODEL_CAP_BYTES)',
      );
      expect(m.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
        'Starting',
        'Downloading',
        'Training',
        'Uploading',
        'Failed',
      ]);
      // APIARY_SANDBOX=none: a plain child process that sees the job folder itself, and says so in its log.
      await sm2.send(
        new CreateTrainingJobCommand(
          baseJob('unsandboxed', bucket, {
            HyperParameters: { mode: 'ok' },
          }) as unknown as CreateTrainingJobCommandInput,
        ),
      );
      expect((await waitForJob(sm2, 'unsandboxed')).TrainingJobStatus).toBe('Completed');
      const log = (await small.apiary.training.readLogs('unsandboxed', 0, 1000)).lines
        .map((l) => l.message)
        .join('\n');
      expect(log).toContain('as a plain child process (no sandbox)');
      expect(log).toContain(`hyperparameters {"mode": "ok"}`);
    } finally {
      sm2.destroy();
      s3b.destroy();
      await small.close();
    }
  });
});
