import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateLabelingJobCommand,
  CreateWorkteamCommand,
  DescribeLabelingJobCommand,
  DescribeModelCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectionQuality } from '../src/labeling/active-learning/threshold.js';
import { REPO_ROOT } from '../src/training/index.js';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';
import { ACS_BOX, BOX_UI, getText, PortalClient, PRE_BOX } from './labeling-helpers.js';

/**
 * Automated data labeling end to end on the real parts: generated bees (the tutorial's generator),
 * a simulated worker pool answering from the generator's truth through the worker portal, the
 * labeling tick driving the active-learning loop, ordinary training jobs of the built-in detector
 * (tiny: 64 px), ordinary models, predictions with the hosting runtime's ONNX Runtime.
 */

const execFileP = promisify(execFile);
/** Objects and epochs per round; AL_N / AL_EPOCHS override them to measure bigger runs. */
const N = Number(process.env.AL_N ?? 60);
const EPOCHS = Number(process.env.AL_EPOCHS ?? 4);
const SIZE = 64;
const BUCKET = 'bees-al';

let server: TestServer;
let sm: SageMakerClient;
let s3: S3Client;
let work: string;
let teamArn: string;
const worker = new PortalClient('');
/** Truth by file name: pixel boxes of the generated bees. */
const truth = new Map<string, { left: number; top: number; width: number; height: number }[]>();

beforeAll(async () => {
  server = await startTestServer(
    { maxRunningTrainingJobs: 1 },
    {
      APIARY_AUTO_LABELING_MIN_OBJECTS: '50',
      APIARY_AUTO_LABELING_HYPERPARAMETERS: JSON.stringify({
        image_shape: SIZE,
        epochs: EPOCHS,
        mini_batch_size: 8,
        learning_rate: 0.02,
      }),
    },
    { tmpPrefix: 'apiary-al-' },
  );
  sm = new SageMakerClient(sdkConfig(server));
  s3 = new S3Client({ ...sdkConfig(server), forcePathStyle: true });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-al-bees-'));
  await execFileP(
    path.join(REPO_ROOT, '.venv', 'bin', 'python'),
    [
      '-m',
      'apiary_od.synthetic',
      '--out',
      work,
      '--n',
      String(N),
      '--test',
      '0',
      '--seed',
      '3',
      '--size',
      String(SIZE),
      '--bucket-uri',
      `s3://${BUCKET}/input/`,
    ],
    { env: { ...process.env, PYTHONPATH: path.join(REPO_ROOT, 'algorithms', 'object-detection') } },
  );
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const input: string[] = [];
  for (const raw of fs
    .readFileSync(path.join(work, 'output.manifest'), 'utf8')
    .trim()
    .split('\n')) {
    const line = JSON.parse(raw) as {
      'source-ref': string;
      'bounding-box': {
        annotations: { left: number; top: number; width: number; height: number }[];
      };
    };
    const file = line['source-ref'].split('/').pop()!;
    truth.set(file, line['bounding-box'].annotations);
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `input/${file}`,
        Body: fs.readFileSync(path.join(work, 'images', file)),
      }),
    );
    input.push(JSON.stringify({ 'source-ref': line['source-ref'] }));
  }
  await s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'input.manifest', Body: input.join('\n') + '\n' }),
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: 'labels.json',
      Body: JSON.stringify({ document_version: '2018-11-28', labels: [{ label: 'bee' }] }),
    }),
  );
  await server.apiary.identity.createUser({
    username: 'pool',
    password: 'pool-password',
    role: 'worker',
    groups: ['al-team'],
  });
  (worker as { url: string }).url = server.url;
  expect((await worker.login('pool', 'pool-password')).status).toBe(200);
  teamArn = (
    await sm.send(
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
    )
  ).WorkteamArn!;
}, 120_000);
afterAll(async () => {
  sm?.destroy();
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const ALGO =
  'arn:aws:sagemaker:us-east-1:027400017018:labeling-job-algorithm-specification/object-detection';

const createJob = (name: string, manifest = 'input.manifest') =>
  sm.send(
    new CreateLabelingJobCommand({
      LabelingJobName: name,
      LabelAttributeName: 'bees',
      InputConfig: {
        DataSource: { S3DataSource: { ManifestS3Uri: `s3://${BUCKET}/${manifest}` } },
      },
      OutputConfig: { S3OutputPath: `s3://${BUCKET}/output/` },
      RoleArn: 'arn:aws:iam::000000000000:role/labeling',
      LabelCategoryConfigS3Uri: `s3://${BUCKET}/labels.json`,
      LabelingJobAlgorithmsConfig: { LabelingJobAlgorithmSpecificationArn: ALGO },
      HumanTaskConfig: {
        WorkteamArn: teamArn,
        UiConfig: { HumanTaskUiArn: BOX_UI(server.region) },
        PreHumanTaskLambdaArn: PRE_BOX,
        AnnotationConsolidationConfig: { AnnotationConsolidationLambdaArn: ACS_BOX },
        TaskTitle: 'Box the bees',
        TaskDescription: 'Boxes tight around each bee',
        NumberOfHumanWorkersPerDataObject: 1,
        TaskTimeLimitInSeconds: 300,
      },
    }),
  );

const describeJob = (name: string) =>
  sm.send(new DescribeLabelingJobCommand({ LabelingJobName: name }));

describe('automated data labeling (the active-learning loop)', () => {
  // The quality targets of issue #21 (≥ 40 % machine-labelled at mean IoU ≥ 0.6) need a detector
  // that learns from a few dozen labels; the built-in one trained from scratch on a CPU for seconds
  // does not (measured: validation mAP ≈ 0.01 after 20 epochs on 30 images), so this test checks
  // the loop's mechanics on real training jobs and prints the numbers; src/labeling/active-learning/
  // loop.test.ts checks the machine-labelling decisions with a model of known answers.
  it('runs rounds of ordinary training jobs and models until every object has a label, each once', async () => {
    const name = 'bees-al';
    await createJob(name);
    // The simulated worker pool: take the next task, answer with the truth (±1 px), repeat.
    const seen = new Set<string>();
    let humanTasks = 0;
    for (;;) {
      const d = await describeJob(name);
      if (d.LabelingJobStatus !== 'InProgress' && d.LabelingJobStatus !== 'Initializing') break;
      const next = await worker.call('POST', `/_apiary/api/labeling/jobs/${name}/next`);
      const task = next.status === 200 ? next.json?.task : undefined;
      if (!task) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      expect(seen.has(task.sourceName)).toBe(false); // no object reaches people twice
      seen.add(task.sourceName);
      const jitter = (v: number, i: number) => Math.max(0, v + ((humanTasks + i) % 3) - 1);
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
        answer: { imageWidth: SIZE, imageHeight: SIZE, boxes },
      });
      expect(r.status).toBe(200);
      humanTasks += 1;
    }
    const d = await describeJob(name);
    expect(d.FailureReason).toBeUndefined();
    expect(d.LabelingJobStatus).toBe('Completed');
    const c = d.LabelCounters!;
    expect(c.TotalLabeled).toBe(N);
    expect(c.HumanLabeled).toBe(humanTasks);
    expect((c.HumanLabeled ?? 0) + (c.MachineLabeled ?? 0)).toBe(N);

    const rounds = await server.apiary.labeling.autoLabelingRounds(name);
    // The first round trains an ordinary training job, visible in the API.
    const t1 = await sm.send(
      new DescribeTrainingJobCommand({ TrainingJobName: `${name}-al-round-1` }),
    );
    expect(t1.TrainingJobStatus).toBe('Completed');
    const modelArn = d.LabelingJobOutput?.FinalActiveLearningModelArn;
    expect(modelArn).toBe(
      rounds
        .map((r) => r.modelArn)
        .filter(Boolean)
        .at(-1),
    );
    const model = await sm.send(
      new DescribeModelCommand({ ModelName: modelArn!.split('/').pop() }),
    );
    expect(model.PrimaryContainer?.ModelDataUrl).toMatch(/model\.tar\.gz$/);

    // The output manifest: machine labels say so, and are close to the truth.
    const key = d.LabelingJobOutput!.OutputDatasetS3Uri!.replace(`s3://${BUCKET}/`, '');
    const lines = (await getText(s3, BUCKET, key))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(N);
    const machine = lines.filter((l) => l['bees-metadata']['human-annotated'] === 'no');
    expect(machine).toHaveLength(c.MachineLabeled!);
    const qualities = machine.map((l) => {
      const file = (l['source-ref'] as string).split('/').pop()!;
      const predicted = (
        l.bees.annotations as { left: number; top: number; width: number; height: number }[]
      ).map((b) => ({ ...b, label: 'bee' }));
      for (const o of l['bees-metadata'].objects) expect(o.confidence).toBeGreaterThan(0);
      return detectionQuality(
        predicted,
        truth.get(file)!.map((b) => ({ ...b, label: 'bee' })),
      );
    });
    const meanIou = qualities.reduce((a, b) => a + b, 0) / Math.max(1, qualities.length);
    console.log(
      `auto-labeling: ${N} objects, ${humanTasks} human, ${machine.length} machine (${((100 * machine.length) / N).toFixed(0)} %), machine mean IoU ${meanIou.toFixed(3)}, rounds ${JSON.stringify(rounds.map((r) => ({ round: r.round, status: r.status, human: r.humanBatch, machine: r.machineLabeled, threshold: r.threshold, quality: r.estimatedQuality, notice: r.notice })))}`,
    );
    // The console's rounds (admins only).
    await server.apiary.identity.createUser({
      username: 'boss',
      password: 'boss-password',
      role: 'admin',
      groups: [],
    });
    const admin = new PortalClient(server.url);
    expect((await admin.login('boss', 'boss-password')).status).toBe(200);
    const viaConsole = await admin.call('GET', `/_apiary/api/labeling/jobs/${name}/rounds`);
    expect(viaConsole.status).toBe(200);
    expect(viaConsole.json.rounds).toEqual(JSON.parse(JSON.stringify(rounds)));
    expect((await worker.call('GET', `/_apiary/api/labeling/jobs/${name}/rounds`)).status).toBe(
      403,
    );
    // Every round that trained did so in an ordinary `<job>-al-round-N` job; a round without a
    // threshold says why. (The last round trains nothing when no object is left to predict.)
    const trained = rounds.filter((r) => r.trainingJobName !== undefined);
    expect(trained[0]?.trainingJobName).toBe(`${name}-al-round-1`);
    for (const r of trained) {
      expect(r.trainingJobName).toBe(`${name}-al-round-${r.round}`);
      if (r.status !== 'Done') continue;
      // A threshold only where the estimate reaches the target; otherwise the notice says why.
      expect(
        r.threshold !== undefined
          ? (r.estimatedQuality ?? 0) >= 0.6
          : (r.notice ?? '').includes('no threshold reaches mean IoU 0.6'),
      ).toBe(true);
    }
  }, 3_600_000);
});
