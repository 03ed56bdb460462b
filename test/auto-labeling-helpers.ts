import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateLabelingJobCommand,
  CreateModelCommand,
  CreateTrainingJobCommand,
  CreateWorkteamCommand,
  DescribeLabelingJobCommand,
  DescribeTrainingJobCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { detectionQuality } from '../src/labeling/active-learning/threshold.js';
import { REPO_ROOT } from '../src/training/index.js';
import type { TestServer } from './helpers/server.js';
import { ACS_BOX, BOX_UI, getText, PRE_BOX, PortalClient } from './labeling-helpers.js';

/**
 * Automated data labeling on generated bees, shared by test/labeling-auto-loop.test.ts and
 * bench/auto-labeling/loop.ts: the tutorial's generator, a detector pre-trained on a different
 * generated set (an ordinary training job and model, as a user's earlier job or the demo makes
 * one), a simulated worker pool answering from the generator's truth through the worker portal,
 * and the output manifest scored against the truth.
 */

const execFileP = promisify(execFile);

/** A pixel box. */
export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export const ALGORITHM_ARN =
  'arn:aws:sagemaker:us-east-1:027400017018:labeling-job-algorithm-specification/object-detection';

/** Creates `bucket` with the job's label categories (`labels.json`: one class, `bee`). */
export async function createBeesBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'labels.json',
      Body: JSON.stringify({ document_version: '2018-11-28', labels: [{ label: 'bee' }] }),
    }),
  );
}

/**
 * The simulated worker pool: a worker account `pool` in group `al-team`, logged in to the portal,
 * and the private work team `al-team` over that group. @throws when the login fails.
 */
export async function createWorkerPool(
  server: TestServer,
  sm: SageMakerClient,
): Promise<{ worker: PortalClient; teamArn: string }> {
  await server.apiary.identity.createUser({
    username: 'pool',
    password: 'pool-password',
    role: 'worker',
    groups: ['al-team'],
  });
  const worker = new PortalClient(server.url);
  const login = await worker.login('pool', 'pool-password');
  if (login.status !== 200) throw new Error(`the worker pool's login answered ${login.status}`);
  const team = await sm.send(
    new CreateWorkteamCommand({
      WorkteamName: 'al-team',
      Description: 'simulated workers',
      MemberDefinitions: [
        {
          CognitoMemberDefinition: {
            UserPool: 'us-east-1_apiary',
            UserGroup: 'al-team',
            ClientId: 'apiary',
          },
        },
      ],
    }),
  );
  return { worker, teamArn: team.WorkteamArn! };
}

/**
 * Generates `n` bees of `size` px with `seed` and uploads them under `s3://bucket/prefix/`;
 * writes `prefix.manifest` (source-ref only), and, with `labelled`, `prefix-train.manifest` and
 * `prefix-validation.manifest` (the generator's labels, attribute `bounding-box`, last fifth held
 * out). @returns the truth by file name.
 */
export async function uploadBees(
  s3: S3Client,
  opts: {
    readonly bucket: string;
    readonly prefix: string;
    readonly n: number;
    readonly seed: number;
    readonly size: number;
    readonly labelled?: boolean;
  },
): Promise<Map<string, Box[]>> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-al-bees-'));
  try {
    await execFileP(
      path.join(REPO_ROOT, '.venv', 'bin', 'python'),
      [
        '-m',
        'apiary_od.synthetic',
        '--out',
        work,
        '--n',
        String(opts.n),
        '--test',
        '0',
        '--seed',
        String(opts.seed),
        '--size',
        String(opts.size),
        '--bucket-uri',
        `s3://${opts.bucket}/${opts.prefix}/`,
      ],
      {
        env: {
          ...process.env,
          PYTHONPATH: path.join(REPO_ROOT, 'algorithms', 'object-detection'),
        },
      },
    );
    const truth = new Map<string, Box[]>();
    const labelled: string[] = [];
    const input: string[] = [];
    const lines = fs.readFileSync(path.join(work, 'output.manifest'), 'utf8').trim().split('\n');
    for (const raw of lines) {
      const line = JSON.parse(raw) as {
        'source-ref': string;
        'bounding-box': { annotations: Box[] };
      };
      const file = line['source-ref'].split('/').pop()!;
      truth.set(file, line['bounding-box'].annotations);
      await s3.send(
        new PutObjectCommand({
          Bucket: opts.bucket,
          Key: `${opts.prefix}/${file}`,
          Body: fs.readFileSync(path.join(work, 'images', file)),
        }),
      );
      input.push(JSON.stringify({ 'source-ref': line['source-ref'] }));
      labelled.push(raw);
    }
    const put = (key: string, body: string[]) =>
      s3.send(
        new PutObjectCommand({ Bucket: opts.bucket, Key: key, Body: body.join('\n') + '\n' }),
      );
    await put(`${opts.prefix}.manifest`, input);
    if (opts.labelled) {
      const cut = Math.max(1, labelled.length - Math.ceil(labelled.length / 5));
      await put(`${opts.prefix}-train.manifest`, labelled.slice(0, cut));
      await put(`${opts.prefix}-validation.manifest`, labelled.slice(cut));
    }
    return truth;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Trains the built-in detector on a labelled upload (an ordinary training job, the tutorial's
 * Pipe/RecordIO augmented-manifest shape) and creates a model of it. @returns the model's ARN.
 */
export async function pretrainDetector(
  sm: SageMakerClient,
  opts: {
    readonly name: string;
    readonly bucket: string;
    readonly prefix: string;
    readonly size: number;
    readonly samples: number;
    readonly hyperParameters?: Record<string, string>;
  },
): Promise<{ modelArn: string; seconds: number; validationMap: number | undefined }> {
  const channel = (name: string, file: string) => ({
    ChannelName: name,
    DataSource: {
      S3DataSource: {
        S3DataType: 'AugmentedManifestFile' as const,
        S3Uri: `s3://${opts.bucket}/${file}`,
        S3DataDistributionType: 'FullyReplicated' as const,
        AttributeNames: ['source-ref', 'bounding-box'],
      },
    },
    ContentType: 'application/x-recordio',
    RecordWrapperType: 'RecordIO' as const,
    CompressionType: 'None' as const,
  });
  const t0 = Date.now();
  await sm.send(
    new CreateTrainingJobCommand({
      TrainingJobName: opts.name,
      AlgorithmSpecification: { TrainingImage: 'object-detection', TrainingInputMode: 'Pipe' },
      RoleArn: 'arn:aws:iam::000000000000:role/training',
      OutputDataConfig: { S3OutputPath: `s3://${opts.bucket}/pretrained/` },
      ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.m5.xlarge', VolumeSizeInGB: 10 },
      HyperParameters: {
        base_network: 'mobilenet-v3',
        use_pretrained_model: '0',
        num_classes: '1',
        num_training_samples: String(opts.samples - Math.ceil(opts.samples / 5)),
        image_shape: String(opts.size),
        mini_batch_size: '8',
        epochs: '15',
        learning_rate: '0.02',
        ...opts.hyperParameters,
      },
      StoppingCondition: { MaxRuntimeInSeconds: 3600 },
      InputDataConfig: [
        channel('train', `${opts.prefix}-train.manifest`),
        channel('validation', `${opts.prefix}-validation.manifest`),
      ],
    }),
  );
  for (;;) {
    const d = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: opts.name }));
    if (d.TrainingJobStatus === 'Failed' || d.TrainingJobStatus === 'Stopped') {
      throw new Error(`pre-training ${opts.name} ${d.TrainingJobStatus}: ${d.FailureReason}`);
    }
    if (d.TrainingJobStatus === 'Completed') {
      const maps = (d.FinalMetricDataList ?? []).filter((m) => m.MetricName === 'validation:mAP');
      const m = await sm.send(
        new CreateModelCommand({
          ModelName: opts.name,
          PrimaryContainer: {
            Image: 'object-detection',
            ModelDataUrl: d.ModelArtifacts!.S3ModelArtifacts!,
          },
          ExecutionRoleArn: 'arn:aws:iam::000000000000:role/hosting',
        }),
      );
      return {
        modelArn: m.ModelArn!,
        seconds: (Date.now() - t0) / 1000,
        validationMap: maps[0]?.Value,
      };
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** CreateLabelingJob of bounding boxes with automated labeling (or without: `auto` false). */
export async function createBoxJob(
  sm: SageMakerClient,
  opts: {
    readonly name: string;
    readonly bucket: string;
    readonly manifest: string;
    readonly teamArn: string;
    readonly region: string;
    readonly auto: boolean;
    readonly initialModelArn?: string;
  },
): Promise<void> {
  await sm.send(
    new CreateLabelingJobCommand({
      LabelingJobName: opts.name,
      LabelAttributeName: 'bees',
      InputConfig: {
        DataSource: { S3DataSource: { ManifestS3Uri: `s3://${opts.bucket}/${opts.manifest}` } },
      },
      OutputConfig: { S3OutputPath: `s3://${opts.bucket}/output/` },
      RoleArn: 'arn:aws:iam::000000000000:role/labeling',
      LabelCategoryConfigS3Uri: `s3://${opts.bucket}/labels.json`,
      ...(opts.auto
        ? {
            LabelingJobAlgorithmsConfig: {
              LabelingJobAlgorithmSpecificationArn: ALGORITHM_ARN,
              ...(opts.initialModelArn
                ? { InitialActiveLearningModelArn: opts.initialModelArn }
                : {}),
            },
          }
        : {}),
      HumanTaskConfig: {
        WorkteamArn: opts.teamArn,
        UiConfig: { HumanTaskUiArn: BOX_UI(opts.region) },
        PreHumanTaskLambdaArn: PRE_BOX,
        AnnotationConsolidationConfig: { AnnotationConsolidationLambdaArn: ACS_BOX },
        TaskTitle: 'Box the bees',
        TaskDescription: 'Boxes tight around each bee',
        NumberOfHumanWorkersPerDataObject: 1,
        TaskTimeLimitInSeconds: 300,
      },
    }),
  );
}

/**
 * The simulated worker pool: takes the next task, answers with the truth (±1 px), repeats until
 * the job ends. @returns the file names people labelled, in order.
 */
export async function workUntilDone(
  sm: SageMakerClient,
  worker: PortalClient,
  name: string,
  truth: ReadonlyMap<string, readonly Box[]>,
  size: number,
): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const d = await sm.send(new DescribeLabelingJobCommand({ LabelingJobName: name }));
    if (d.LabelingJobStatus !== 'InProgress' && d.LabelingJobStatus !== 'Initializing') break;
    const next = await worker.call('POST', `/_apiary/api/labeling/jobs/${name}/next`);
    const task = next.status === 200 ? next.json?.task : undefined;
    if (!task) {
      await new Promise((r) => setTimeout(r, 300));
      continue;
    }
    seen.push(task.sourceName);
    const n = seen.length;
    const jitter = (v: number, i: number) => Math.max(0, v + ((n + i) % 3) - 1);
    const boxes = (truth.get(task.sourceName) ?? []).map((b, i) => ({
      label: 'bee',
      left: jitter(b.left, i),
      top: jitter(b.top, i + 1),
      width: b.width,
      height: b.height,
    }));
    const r = await worker.call('POST', `/_apiary/api/labeling/tasks/${task.taskId}/submit`, {
      version: task.version,
      submissionId: `pool-${task.taskId}`,
      answer: { imageWidth: size, imageHeight: size, boxes },
    });
    if (r.status !== 200) throw new Error(`submit ${task.taskId}: ${r.status} ${r.json}`);
  }
  return seen;
}

/** The output manifest's labels scored against the truth. */
export interface OutputQuality {
  readonly lines: readonly Record<string, any>[];
  readonly machine: number;
  /** Mean per-object quality (matched IoU over max(predicted, true) boxes) of machine labels. */
  readonly machineMeanIou: number;
  /** The same over every label (human and machine). */
  readonly allMeanIou: number;
  /** Machine boxes with IoU ≥ 0.5 to a true bee, over machine boxes. */
  readonly machinePrecision: number;
}

/** Reads the job's output manifest and scores it against `truth`. */
export async function scoreOutput(
  sm: SageMakerClient,
  s3: S3Client,
  bucket: string,
  name: string,
  truth: ReadonlyMap<string, readonly Box[]>,
): Promise<OutputQuality> {
  const d = await sm.send(new DescribeLabelingJobCommand({ LabelingJobName: name }));
  const key = d.LabelingJobOutput!.OutputDatasetS3Uri!.replace(`s3://${bucket}/`, '');
  const lines = (await getText(s3, bucket, key))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, any>);
  let machine = 0;
  let machineQ = 0;
  let allQ = 0;
  let boxes = 0;
  let hits = 0;
  for (const l of lines) {
    const file = (l['source-ref'] as string).split('/').pop()!;
    const t = (truth.get(file) ?? []).map((b) => ({ ...b, label: 'bee' }));
    const p = (l.bees.annotations as Box[]).map((b) => ({ ...b, label: 'bee' }));
    const q = detectionQuality(p, t);
    allQ += q;
    if (l['bees-metadata']['human-annotated'] === 'no') {
      machine += 1;
      machineQ += q;
      for (const b of p) {
        boxes += 1;
        if (t.some((x) => detectionQuality([b], [x]) >= 0.5)) hits += 1;
      }
    }
  }
  return {
    lines,
    machine,
    machineMeanIou: machine ? machineQ / machine : 0,
    allMeanIou: lines.length ? allQ / lines.length : 0,
    machinePrecision: boxes ? hits / boxes : 1,
  };
}
