import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateHyperParameterTuningJobCommand,
  CreateLabelingJobCommand,
  CreateWorkteamCommand,
  DescribeLabelingJobCommand,
  UpdateEndpointCommand,
  CreateTrainingJobCommand,
  DescribeHyperParameterTuningJobCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  DescribeEndpointCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
  type CreateTrainingJobCommandInput,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Coordinator,
  coordinatorMigrations,
  leaseMigrations,
  openDatabase,
} from '../src/store/index.js';
import { createPostgresDatabase, type PostgresDatabase } from './helpers/postgres.js';
import {
  ReplicaSet,
  REPLICA_KEY as KEY,
  REPLICA_SECRET as SECRET,
  type Replica,
} from './helpers/replicas.js';
import { ACS_BOX, BOX_UI, PortalClient, PRE_BOX, uploadDataset } from './labeling-helpers.js';
import type { TestServer } from './helpers/server.js';
import {
  baseJob,
  JOB_SCRIPT,
  pidsWithCmdline,
  SYSTEM_PYTHON,
  TEST_IMAGE,
  waitForJob,
} from './training-helpers.js';

// Several Apiary replicas on one PostgreSQL: any replica answers any call; jobs and endpoint
// fleets are owned through leases, and a replica killed -9 hands them to the other.
const ROOT = path.resolve(import.meta.dirname, '..');
const ECHO = path.join(ROOT, 'test', 'fixtures', 'echo-serving.mjs');

const databases: PostgresDatabase[] = [];
let set: ReplicaSet;
let replicas: Replica[];
const proxyUrl = (): string => set.proxy.url;
const kill = (r: Replica) => set.kill(r);
const revive = (r: Replica) => set.revive(r);
const holderOf = (lease: string) => set.holderOf(lease);
const cli = (args: string[], stdin?: string) => set.cli(args, stdin);

/** Kills a job's process tree too, as the loss of the replica's machine would. */
function killJobTree(job: string): void {
  for (const pid of pidsWithCmdline(JOB_SCRIPT)) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`TRAINING_JOB_NAME=${job}`))
        continue;
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      process.kill(-Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

const config = (endpoint: string) => ReplicaSet.config(endpoint);

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

beforeAll(async () => {
  set = await ReplicaSet.start(2, {
    APIARY_ENDPOINT_CREATE_WAIT_MS: '1000',
    APIARY_SERVING_IMAGES: JSON.stringify({
      'acme/echo:1': { command: [process.execPath, ECHO] },
      // Answers /ping only after 8 s: an update to it is still in progress when its replica dies.
      'acme/slow:1': {
        command: [
          process.execPath,
          '-e',
          `setTimeout(() => import(${JSON.stringify(ECHO)}), 8000)`,
        ],
      },
    }),
    APIARY_SERVING_STARTUP_TIMEOUT_SECONDS: '60',
  });
  replicas = set.replicas;
  // The test's training image, registered once in the shared database.
  await cli(['images', 'register', TEST_IMAGE, '--', SYSTEM_PYTHON, JOB_SCRIPT]);
}, 300_000);

afterAll(async () => {
  await set?.close();
  for (const pid of pidsWithCmdline(JOB_SCRIPT)) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes('TRAINING_JOB_NAME=scale-'))
        process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const d of databases) await d.drop().catch(() => {});
});

describe('several replicas on one PostgreSQL', () => {
  it('answers any call on any replica: what one wrote, the other reads', async () => {
    const a = new S3Client(config(replicas[0]!.url));
    const b = new S3Client(config(replicas[1]!.url));
    await a.send(new CreateBucketCommand({ Bucket: 'shared' }));
    await a.send(
      new PutObjectCommand({ Bucket: 'shared', Key: 'hello.txt', Body: 'from replica a' }),
    );
    const got = await b.send(new GetObjectCommand({ Bucket: 'shared', Key: 'hello.txt' }));
    expect(await got.Body!.transformToString()).toBe('from replica a');
    a.destroy();
    b.destroy();
  });

  it('starts a job once when both replicas race for it (leases on PostgreSQL)', async () => {
    const database = await openDatabase({
      dataDir: os.tmpdir(),
      databaseUrl: await createPostgresDatabase().then((d) => (databases.push(d), d.url)),
      migrations: { ...leaseMigrations, ...coordinatorMigrations },
    });
    const clock = { nowMs: () => Date.now() };
    const racers = ['x', 'y', 'z'].map(
      (id) =>
        new Coordinator({ db: database.db, clock, replicaId: `race-${id}`, leaseTtlMs: 60_000 }),
    );
    for (let i = 0; i < 20; i++) {
      const wins = await Promise.all(racers.map((c) => c.own(`race:${i}`)));
      expect(wins.filter(Boolean)).toHaveLength(1);
    }
    for (const c of racers) await c.close();
    await database.close();
  });

  it('moves a training job to the other replica when its replica is killed -9, and resumes it from its checkpoint', async () => {
    const sm = new SageMakerClient(config(proxyUrl()));
    const s3 = new S3Client(config(proxyUrl()));
    await s3.send(new CreateBucketCommand({ Bucket: 'scale' }));
    await sm.send(
      new CreateTrainingJobCommand(
        baseJob('scale-retry', 'scale', {
          HyperParameters: { mode: 'slow-steps', steps: '45' },
          RetryStrategy: { MaximumRetryAttempts: 1 },
          CheckpointConfig: { S3Uri: 's3://scale/checkpoints/scale-retry' },
        }) as unknown as CreateTrainingJobCommandInput,
      ),
    );
    await waitForJob(sm, 'scale-retry', (d) => d.SecondaryStatus === 'Training');
    const owner = await holderOf('training-job:scale-retry');
    const other = replicas.find((r) => r !== owner)!;
    const log = path.join(owner.dataDir, 'training', 'jobs', 'scale-retry', 'log', 'output.log');
    await until('step 3', async () =>
      fs.readFileSync(log, 'utf8').includes('step 3') ? true : undefined,
    );
    // The checkpoints reach the object store (synced every 10 s) before the replica dies.
    await until(
      'a synced checkpoint',
      async () =>
        ((
          await s3.send(
            new ListObjectsV2Command({ Bucket: 'scale', Prefix: 'checkpoints/scale-retry/' }),
          )
        ).KeyCount ?? 0) > 0 || undefined,
      30_000,
    );
    await kill(owner);
    killJobTree('scale-retry');

    const d = await waitForJob(sm, 'scale-retry', undefined, 120_000);
    expect(d.FailureReason).toBeUndefined();
    expect(d.TrainingJobStatus).toBe('Completed');
    const restart = d.SecondaryStatusTransitions?.find((t, i) => i > 0 && t.Status === 'Starting');
    expect(restart?.StatusMessage).toContain(
      `the Apiary replica that ran it (${owner.name}) stopped answering (attempt 2 of 2)`,
    );
    const resumedLog = fs.readFileSync(
      path.join(other.dataDir, 'training', 'jobs', 'scale-retry', 'log', 'output.log'),
      'utf8',
    );
    // The log goes on where the first attempt's ended: its lines, then the resumed attempt's.
    const resumes = [...resumedLog.matchAll(/resuming after step (\d+)/g)].map((m) => Number(m[1]));
    expect(resumes[0]).toBe(0);
    expect(resumes.at(-1)).toBeGreaterThanOrEqual(2);

    // The killed replica comes back as itself and does not take the finished job back.
    await revive(owner);
    const again = await new SageMakerClient(config(owner.url)).send(
      new DescribeTrainingJobCommand({ TrainingJobName: 'scale-retry' }),
    );
    expect(again.TrainingJobStatus).toBe('Completed');
    sm.destroy();
    s3.destroy();
  }, 240_000);

  it('serves an endpoint through any replica, and from the other one after its replica is killed -9', async () => {
    const sm = new SageMakerClient(config(proxyUrl()));
    await sm.send(
      new CreateModelCommand({ ModelName: 'echo', PrimaryContainer: { Image: 'acme/echo:1' } }),
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'echo',
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: 'echo',
            InitialInstanceCount: 1,
            InstanceType: 'ml.m5.large',
          },
        ],
      }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: 'echo', EndpointConfigName: 'echo' }));
    await until('InService', async () =>
      (await sm.send(new DescribeEndpointCommand({ EndpointName: 'echo' }))).EndpointStatus ===
      'InService'
        ? true
        : undefined,
    );

    const invokeThrough = async (url: string, body: string) => {
      const rt = new SageMakerRuntimeClient(config(url));
      try {
        const r = await rt.send(
          new InvokeEndpointCommand({
            EndpointName: 'echo',
            Body: Buffer.from(body),
            ContentType: 'text/plain',
          }),
        );
        return JSON.parse(Buffer.from(r.Body!).toString()) as { body: string };
      } finally {
        rt.destroy();
      }
    };
    // Both replicas answer: the owner serves, the other forwards with the caller's signature.
    for (const r of replicas)
      expect((await invokeThrough(r.url, `via ${r.name}`)).body).toBe(`via ${r.name}`);

    const holder = await holderOf('endpoint:echo');
    const survivor = replicas.find((r) => r !== holder)!;
    await kill(holder);
    const answered = await until(
      'an answer after the takeover',
      async () => (await invokeThrough(survivor.url, 'after')).body,
      60_000,
    );
    expect(answered).toBe('after');
    expect(
      (await sm.send(new DescribeEndpointCommand({ EndpointName: 'echo' }))).EndpointStatus,
    ).toBe('InService');
    sm.destroy();
    await revive(holder);
  }, 180_000);

  it('runs a tuning job through the balancer with each trial started once', async () => {
    const sm = new SageMakerClient(config(proxyUrl()));
    const base = baseJob('unused', 'scale');
    await sm.send(
      new CreateHyperParameterTuningJobCommand({
        HyperParameterTuningJobName: 'scale-tune',
        HyperParameterTuningJobConfig: {
          Strategy: 'Random',
          HyperParameterTuningJobObjective: { Type: 'Maximize', MetricName: 'accuracy' },
          ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 },
          ParameterRanges: {
            ContinuousParameterRanges: [{ Name: 'lr', MinValue: '0.001', MaxValue: '0.1' }],
          },
          RandomSeed: 7,
        },
        TrainingJobDefinition: {
          AlgorithmSpecification: {
            ...base.AlgorithmSpecification,
            MetricDefinitions: [{ Name: 'accuracy', Regex: 'accuracy=([0-9.]+)' }],
          },
          RoleArn: base.RoleArn,
          OutputDataConfig: base.OutputDataConfig,
          ResourceConfig: base.ResourceConfig,
          StoppingCondition: base.StoppingCondition,
          StaticHyperParameters: { mode: 'ok' },
        },
      }),
    );
    const done = await until(
      'the tuning job to complete',
      async () => {
        const d = await sm.send(
          new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'scale-tune' }),
        );
        return ['Completed', 'Failed', 'Stopped'].includes(d.HyperParameterTuningJobStatus ?? '')
          ? d
          : undefined;
      },
      180_000,
    );
    expect(done.FailureReason).toBeUndefined();
    expect(done.HyperParameterTuningJobStatus).toBe('Completed');
    expect(done.TrainingJobStatusCounters?.Completed).toBe(4);
    const trials = await sm.send(
      new ListTrainingJobsForHyperParameterTuningJobCommand({
        HyperParameterTuningJobName: 'scale-tune',
        MaxResults: 100,
      }),
    );
    expect(trials.TrainingJobSummaries).toHaveLength(4);
    expect(new Set(trials.TrainingJobSummaries!.map((t) => t.TrainingJobName)).size).toBe(4);
    expect(done.BestTrainingJob?.FinalHyperParameterTuningJobObjectiveMetric?.Value).toBeCloseTo(
      0.7,
      5,
    );
    sm.destroy();
  }, 240_000);

  it('loses no acknowledged object and no multipart upload when a replica dies mid-upload', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const viaA = new S3Client(config(a.url));
    const viaB = new S3Client(config(b.url));
    await viaB.send(new CreateBucketCommand({ Bucket: 'kill-uploads' }));
    await viaB.send(
      new PutObjectCommand({ Bucket: 'kill-uploads', Key: 'obj', Body: 'version one' }),
    );
    // A multipart upload whose parts went to both replicas.
    const MiB = 1024 * 1024;
    const up = await viaA.send(
      new CreateMultipartUploadCommand({ Bucket: 'kill-uploads', Key: 'big' }),
    );
    const parts = [Buffer.alloc(5 * MiB, 1), Buffer.alloc(MiB, 2)];
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) {
      const c = i === 0 ? viaA : viaB;
      etags.push(
        (
          await c.send(
            new UploadPartCommand({
              Bucket: 'kill-uploads',
              Key: 'big',
              UploadId: up.UploadId,
              PartNumber: i + 1,
              Body: body,
            }),
          )
        ).ETag!,
      );
    }
    // A PUT whose body is still streaming to A when A is killed: it must not become visible.
    const slow = new S3Client({ ...config(a.url), requestHandler: { requestTimeout: 30_000 } });
    const body = new (await import('node:stream')).PassThrough();
    const put = slow
      .send(
        new PutObjectCommand({
          Bucket: 'kill-uploads',
          Key: 'obj',
          Body: body,
          ContentLength: 4 * MiB,
        }),
      )
      .then(
        () => 'acknowledged',
        () => 'failed',
      );
    body.write(Buffer.alloc(MiB, 9));
    await new Promise((r) => setTimeout(r, 300));
    await kill(a);
    body.destroy();
    expect(await put).toBe('failed');
    const still = await viaB.send(new GetObjectCommand({ Bucket: 'kill-uploads', Key: 'obj' }));
    expect(await still.Body!.transformToString()).toBe('version one');
    // The multipart upload lives in the database: B completes it.
    await viaB.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'kill-uploads',
        Key: 'big',
        UploadId: up.UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    const big = Buffer.from(
      await (
        await viaB.send(new GetObjectCommand({ Bucket: 'kill-uploads', Key: 'big' }))
      ).Body!.transformToByteArray(),
    );
    expect(big.equals(Buffer.concat(parts))).toBe(true);
    for (const c of [viaA, viaB, slow]) c.destroy();
    await revive(a);
  }, 120_000);

  it("keeps a worker's claimed task and draft when the replica that served them dies", async () => {
    await cli(
      ['users', 'add', 'ada', '--role', 'worker', '--group', 'bee-team', '--password-stdin'],
      'ada-password-1\n',
    );
    const sm = new SageMakerClient(config(proxyUrl()));
    const shim = {
      url: proxyUrl(),
      region: 'us-east-1',
      credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
    } as unknown as TestServer;
    const data = await uploadDataset(shim, 'kill-labels', {
      n: 2,
      labels: ['bee'],
      width: 64,
      height: 48,
    });
    data.s3.destroy();
    const team = await sm.send(
      new CreateWorkteamCommand({
        WorkteamName: 'bees',
        Description: 'bee people',
        MemberDefinitions: [
          {
            CognitoMemberDefinition: {
              UserPool: 'us-east-1_apiary',
              UserGroup: 'bee-team',
              ClientId: 'apiary',
            },
          },
        ],
      }),
    );
    await sm.send(
      new CreateLabelingJobCommand({
        LabelingJobName: 'kill-claims',
        LabelAttributeName: 'kill-claims',
        InputConfig: { DataSource: { S3DataSource: { ManifestS3Uri: data.manifestUri } } },
        OutputConfig: { S3OutputPath: 's3://kill-labels/output/' },
        RoleArn: 'arn:aws:iam::000000000000:role/labeling',
        LabelCategoryConfigS3Uri: data.labelsUri,
        HumanTaskConfig: {
          WorkteamArn: team.WorkteamArn,
          UiConfig: { HumanTaskUiArn: BOX_UI('us-east-1') },
          PreHumanTaskLambdaArn: PRE_BOX,
          AnnotationConsolidationConfig: { AnnotationConsolidationLambdaArn: ACS_BOX },
          TaskTitle: 'Boxes',
          TaskDescription: 'Draw boxes',
          NumberOfHumanWorkersPerDataObject: 1,
          TaskTimeLimitInSeconds: 300,
        },
      }),
    );
    await until('InProgress', async () =>
      (await sm.send(new DescribeLabelingJobCommand({ LabelingJobName: 'kill-claims' })))
        .LabelingJobStatus === 'InProgress'
        ? true
        : undefined,
    );

    const [a, b] = replicas as [Replica, Replica];
    const adaOnA = new PortalClient(a.url);
    expect((await adaOnA.login('ada', 'ada-password-1')).status).toBe(200);
    const claimed = (await adaOnA.call('POST', '/_apiary/api/labeling/jobs/kill-claims/next')).json
      .task;
    expect(claimed?.taskId).toBeTruthy();
    const draft = {
      imageWidth: 64,
      imageHeight: 48,
      boxes: [{ label: 'bee', left: 1, top: 2, width: 10, height: 12 }],
    };
    const saved = await adaOnA.call('PUT', `/_apiary/api/labeling/tasks/${claimed.taskId}/draft`, {
      version: claimed.version,
      draft,
    });
    expect(saved.status).toBe(200);
    await kill(a);

    // The same session on B: the claim and the draft are there; submitting works once.
    const adaOnB = Object.assign(new PortalClient(b.url), {
      cookie: adaOnA.cookie,
      csrf: adaOnA.csrf,
    });
    const again = (await adaOnB.call('GET', `/_apiary/api/labeling/tasks/${claimed.taskId}`)).json
      .task;
    expect(again.draft).toEqual(draft);
    for (let i = 0; i < 2; i++) {
      const r = await adaOnB.call('POST', `/_apiary/api/labeling/tasks/${claimed.taskId}/submit`, {
        version: saved.json.version,
        submissionId: `ada-${claimed.taskId}`,
        answer: draft,
      });
      expect(r.status).toBe(200);
    }
    const next = (await adaOnB.call('POST', '/_apiary/api/labeling/jobs/kill-claims/next')).json
      .task;
    expect(next.taskId).not.toBe(claimed.taskId);
    const submitted = await adaOnB.call(
      'POST',
      `/_apiary/api/labeling/tasks/${next.taskId}/submit`,
      { version: next.version, submissionId: `ada-${next.taskId}`, answer: draft },
    );
    expect(submitted.status).toBe(200);
    // The labeling ticks moved to B with their lease: the job completes, each object labelled once.
    const done = await until(
      'Completed',
      async () => {
        const d = await sm.send(new DescribeLabelingJobCommand({ LabelingJobName: 'kill-claims' }));
        return d.LabelingJobStatus === 'Completed' ? d : undefined;
      },
      60_000,
    );
    expect(done.LabelCounters).toMatchObject({ TotalLabeled: 2, HumanLabeled: 2 });
    const s3 = new S3Client(config(proxyUrl()));
    const manifest = await (
      await s3.send(
        new GetObjectCommand({
          Bucket: 'kill-labels',
          Key: 'output/kill-claims/manifests/output/output.manifest',
        }),
      )
    ).Body!.transformToString();
    expect(manifest.trim().split('\n')).toHaveLength(2);
    s3.destroy();
    sm.destroy();
    await revive(a);
  }, 180_000);

  it('rolls an endpoint update back to its serving fleet when the replica running the update dies', async () => {
    const sm = new SageMakerClient(config(proxyUrl()));
    await sm.send(
      new CreateModelCommand({ ModelName: 'slow', PrimaryContainer: { Image: 'acme/slow:1' } }),
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'slow',
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: 'slow',
            InitialInstanceCount: 1,
            InstanceType: 'ml.m5.large',
          },
        ],
      }),
    );
    const holder = await holderOf('endpoint:echo');
    const survivor = replicas.find((r) => r !== holder)!;
    await new SageMakerClient(config(survivor.url)).send(
      new UpdateEndpointCommand({ EndpointName: 'echo', EndpointConfigName: 'slow' }),
    );
    expect(
      (await sm.send(new DescribeEndpointCommand({ EndpointName: 'echo' }))).EndpointStatus,
    ).toBe('Updating');
    await kill(holder);
    const back = await until(
      'InService again',
      async () => {
        const d = await new SageMakerClient(config(survivor.url)).send(
          new DescribeEndpointCommand({ EndpointName: 'echo' }),
        );
        return d.EndpointStatus === 'InService' ? d : undefined;
      },
      60_000,
    );
    expect(back.EndpointConfigName).toBe('echo');
    expect(back.FailureReason).toContain('interrupted');
    const rt = new SageMakerRuntimeClient(config(survivor.url));
    const answered = await until(
      'an answer',
      async () => {
        const r = await rt.send(
          new InvokeEndpointCommand({
            EndpointName: 'echo',
            Body: Buffer.from('still here'),
            ContentType: 'text/plain',
          }),
        );
        return JSON.parse(Buffer.from(r.Body!).toString()) as { body: string };
      },
      30_000,
    );
    expect(answered.body).toBe('still here');
    rt.destroy();
    sm.destroy();
    await revive(holder);
  }, 120_000);
});
