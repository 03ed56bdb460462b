import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SageMakerClient,
  CreateTrainingJobCommand,
  type CreateTrainingJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import {
  S3Client,
  CreateBucketCommand,
  PutObjectCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { startTestServer, sdkConfig, type TestServer } from './helpers/server.js';
import {
  baseJob,
  getObjectBytes,
  JOB_SCRIPT,
  SYSTEM_PYTHON,
  TEST_IMAGE,
  untar,
  waitForJob,
} from './training-helpers.js';

const execFileP = promisify(execFile);
let server: TestServer;
let sm: SageMakerClient;
let s3: S3Client;
const bucket = 'hive';

beforeAll(async () => {
  server = await startTestServer({ maxRunningTrainingJobs: 2 });
  sm = new SageMakerClient(sdkConfig(server));
  s3 = new S3Client(sdkConfig(server));
  await server.apiary.training.registerImage(TEST_IMAGE, [SYSTEM_PYTHON, JOB_SCRIPT]);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const put = (Key: string, Body: string | Buffer) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
  await put('images/bee-1.jpg', Buffer.from('\xff\xd8JPEG-ONE', 'latin1'));
  await put('images/deep/bee-2.jpg', Buffer.from('\xff\xd8JPEG-TWO!', 'latin1'));
  const manifest = [
    {
      'source-ref': `s3://${bucket}/images/bee-1.jpg`,
      bees: { annotations: [{ class_id: 0, left: 1, top: 2, width: 3, height: 4 }] },
      'bees-metadata': { 'class-map': { '0': 'bee' } },
    },
    {
      'source-ref': `s3://${bucket}/images/deep/bee-2.jpg`,
      bees: { annotations: [] },
      'bees-metadata': { 'class-map': { '0': 'bee' } },
    },
  ];
  await put('manifests/train.manifest', manifest.map((l) => JSON.stringify(l)).join('\n') + '\n');
  await put('gz/part-1.txt', zlib.gzipSync('first part'));
  await put('gz/part-2.txt', zlib.gzipSync('second part'));
  await put('ckpt/shared/existing.txt', 'from a previous run');
});
afterAll(async () => {
  sm?.destroy();
  s3?.destroy();
  await server?.close();
});

const create = (input: Record<string, unknown>) =>
  sm.send(new CreateTrainingJobCommand(input as unknown as CreateTrainingJobCommandInput));
const logText = (name: string) =>
  server.apiary.training
    .readLogs(name, 0, 10_000)
    .then((r) => r.lines.map((l) => l.message).join('\n'));
const augmented = (mode: string) => ({
  ChannelName: 'train',
  DataSource: {
    S3DataSource: {
      S3DataType: 'AugmentedManifestFile',
      S3Uri: `s3://${bucket}/manifests/train.manifest`,
      S3DataDistributionType: 'FullyReplicated',
      AttributeNames: ['source-ref', 'bees'],
    },
  },
  ContentType: 'application/x-recordio',
  RecordWrapperType: mode === 'Pipe' ? 'RecordIO' : 'None',
  InputMode: mode,
});

describe('training channels: Pipe and File modes, augmented manifests, checkpoints, the Logs API', () => {
  it('streams an augmented manifest in Pipe mode as RecordIO records, a new FIFO per epoch', async () => {
    await create(
      baseJob('pipe-job', bucket, {
        HyperParameters: { mode: 'pipe' },
        InputDataConfig: [augmented('Pipe')],
        AlgorithmSpecification: { TrainingImage: TEST_IMAGE, TrainingInputMode: 'Pipe' },
      }),
    );
    const d = await waitForJob(sm, 'pipe-job');
    expect(d.FailureReason).toBeUndefined();
    expect(d.TrainingJobStatus).toBe('Completed');
    const log = await logText('pipe-job');
    for (const epoch of [0, 1]) {
      expect(log).toContain(`pipe train_${epoch} records=4 sizes=[10, 70, 11, 18]`);
      expect(log).toContain(
        `pipe train_${epoch} json=['{"annotations":[{"class_id":0,"left":1,"top":2,"width":3,"height":4}]}', '{"annotations":[]}']`,
      );
    }
  });

  it('decompresses Gzip objects in Pipe mode without a record wrapper', async () => {
    await create(
      baseJob('pipe-gzip', bucket, {
        HyperParameters: { mode: 'pipe' },
        AlgorithmSpecification: { TrainingImage: TEST_IMAGE, TrainingInputMode: 'Pipe' },
        InputDataConfig: [
          {
            ChannelName: 'raw',
            DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${bucket}/gz/` } },
            CompressionType: 'Gzip',
          },
        ],
      }),
    );
    const d = await waitForJob(sm, 'pipe-gzip');
    expect(d.TrainingJobStatus).toBe('Completed');
    expect(await logText('pipe-gzip')).toContain("pipe raw_0 raw='first partsecond part'");
  });

  it('stages an augmented manifest in File mode with its images at <channel>/<key>', async () => {
    await create(
      baseJob('manifest-file', bucket, {
        HyperParameters: { mode: 'ok' },
        InputDataConfig: [augmented('File')],
      }),
    );
    const d = await waitForJob(sm, 'manifest-file');
    expect(d.TrainingJobStatus).toBe('Completed');
    const log = await logText('manifest-file');
    expect(log).toContain('file train/images/bee-1.jpg 10');
    expect(log).toContain('file train/images/deep/bee-2.jpg 11');
    expect(log).toMatch(/file train\/train\.manifest \d+/);
  });

  it('copies checkpoints in at start and syncs new ones back to CheckpointConfig.S3Uri', async () => {
    await create(
      baseJob('ckpt-job', bucket, {
        HyperParameters: { mode: 'checkpoint' },
        CheckpointConfig: { S3Uri: `s3://${bucket}/ckpt/shared` },
      }),
    );
    const d = await waitForJob(sm, 'ckpt-job');
    expect(d.TrainingJobStatus).toBe('Completed');
    expect(d.CheckpointConfig).toEqual({ S3Uri: `s3://${bucket}/ckpt/shared` });
    expect(await logText('ckpt-job')).toContain('checkpoints ["existing.txt"]');
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'ckpt/shared/' }),
    );
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual([
      'ckpt/shared/ckpt-1.txt',
      'ckpt/shared/existing.txt',
    ]);
    expect((await getObjectBytes(s3, bucket, 'ckpt/shared/ckpt-1.txt')).toString()).toBe('1');
    expect(
      await untar(await getObjectBytes(s3, bucket, 'output/ckpt-job/output/model.tar.gz')),
    ).toEqual({ 'model.txt': '1' });
  });

  it('prints the log with apiary logs --follow until the job ends', async () => {
    const { stdout } = await execFileP(
      'node',
      [new URL('../bin/apiary', import.meta.url).pathname, 'logs', 'ckpt-job', '--follow'],
      {
        env: {
          ...process.env,
          ...(server.env.APIARY_DATABASE_URL
            ? { APIARY_DATABASE_URL: server.env.APIARY_DATABASE_URL }
            : {}),
          APIARY_DATA_DIR: server.dataDir,
          APIARY_LOG_LEVEL: 'silent',
          APIARY_FROM_SOURCE: '1',
        },
      },
    );
    expect(stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}Apiary: running ckpt-job/m);
    expect(stdout).toContain('checkpoints ["existing.txt"]');
    expect(stdout).toContain('[Completed/Completed] Training job completed');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('ckpt-job: Completed');
  });

  it('serves the job log through the CloudWatch Logs API to boto3', async () => {
    const script = `
import boto3, json, os
logs = boto3.client("logs", endpoint_url=os.environ["APIARY_ENDPOINT_URL"])
streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="ckpt-job/", orderBy="LogStreamName")["logStreams"]
name = streams[0]["logStreamName"]
first = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=name, startTime=0, startFromHead=True, limit=2)
rest = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=name, startFromHead=True, nextToken=first["nextForwardToken"])
after = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=name, startFromHead=True, nextToken=rest["nextForwardToken"])
filtered = logs.filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="ckpt-job/", filterPattern="checkpoints")
try:
    logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName="ckpt-job/algo-1-1")
    missing = "no error"
except logs.exceptions.ResourceNotFoundException as e:
    missing = e.response["Error"]["Message"]
print(json.dumps({"streams": [s["logStreamName"] for s in streams], "first": [e["message"] for e in first["events"]],
  "rest": [e["message"] for e in rest["events"]], "after": len(after["events"]), "same_token": after["nextForwardToken"] == rest["nextForwardToken"],
  "filtered": [e["message"] for e in filtered["events"]], "missing": missing, "ts": isinstance(first["events"][0]["timestamp"], int)}))
`;
    const { stdout } = await execFileP('python3', ['-c', script], { env: server.env });
    const out = JSON.parse(stdout);
    const job = await server.apiary.training.describe('ckpt-job');
    expect(out.streams).toEqual([`ckpt-job/algo-1-${Math.floor(job.createdAtMs / 1000)}`]);
    expect(out.first).toHaveLength(2);
    expect([...out.first, ...out.rest].join('\n')).toContain('checkpoints ["existing.txt"]');
    expect(out.after).toBe(0);
    expect(out.same_token).toBe(true);
    expect(out.filtered).toEqual(['checkpoints ["existing.txt"]']);
    expect(out.missing).toBe('The specified log stream does not exist.');
    expect(out.ts).toBe(true);
  });
});
