import { afterEach, describe, expect, it } from 'vitest';
import { jobKey } from '../repository.js';
import { openLabelingFixture, type LabelingFixture } from '../testing/labeling-fixture.js';
import { ActiveLearningLoop } from './loop.js';
import type { AutoLabelingPort, RoundTrainingJob } from './port.js';
import { chooseKeepScore } from './prediction.js';
import { humanBatchSize } from './rounds.js';
import { MIN_SUPPORT } from './threshold.js';

/**
 * The loop's decisions on the real labeling parts (SQLite, object store, queue, completion), with
 * the port to training/hosting replaced by a model whose answers are known: every object's box is
 * right, its confidence 0.5 + (i mod 10) / 20 (the estimator's own cases: threshold.test.ts). The real port runs in test/labeling-auto-loop.test.ts.
 */

const ALGO =
  'arn:aws:sagemaker:us-east-1:027400017018:labeling-job-algorithm-specification/object-detection';
const N = 60;
const truthBox = (i: number) => ({ label: 'bee', left: i % 20, top: 5, width: 20, height: 20 });
const idOf = (key: string) => Number(/img-(\d+)\.jpg$/.exec(key)![1]);

let f: LabelingFixture;
afterEach(async () => {
  await f?.close();
});

const INITIAL = 'arn:aws:sagemaker:us-east-1:000000000000:model/demo-bees';

/** `wrong(i)`: the model is sure of a wrong box on object i. */
function fakePort(
  training: { status: RoundTrainingJob['status'] },
  wrong: (i: number) => boolean = () => false,
) {
  const created: string[] = [];
  const requests: Record<string, unknown>[] = [];
  const port: AutoLabelingPort = {
    minObjects: 50,
    hyperParameters: { epochs: '1' },
    async createTrainingJob(request) {
      created.push(String(request.TrainingJobName));
      requests.push(request);
    },
    async model(name) {
      if (name === 'demo-bees') {
        return { arn: INITIAL, modelDataUrl: 's3://bees/demo/model.tar.gz', objectDetection: true };
      }
      if (name === 'a-classifier') {
        return {
          arn: INITIAL.replace('demo-bees', name),
          modelDataUrl: 's3://bees/c/model.tar.gz',
          objectDetection: false,
        };
      }
      return undefined;
    },
    async artifactSignature() {
      return { baseNetwork: 'mobilenet-v3', numClasses: 2, imageShape: 96 }; // bee, wasp
    },
    async trainingJob(name) {
      if (!created.includes(name)) return undefined;
      return {
        status: training.status,
        failureReason: training.status === 'Failed' ? 'AlgorithmError: boom' : undefined,
        modelArtifacts: `s3://bees/output/${name}/model.tar.gz`,
      };
    },
    async createModel(name) {
      return `arn:aws:sagemaker:us-east-1:000000000000:model/${name}`;
    },
    async detect(_artifact, images) {
      return images.map(({ key }) => {
        const i = idOf(key);
        const { label: _l, ...box } = truthBox(i);
        if (wrong(i)) {
          return {
            width: 64,
            height: 64,
            boxes: [{ classId: 0, score: 0.9, left: 40, top: 40, width: 8, height: 8 }],
          };
        }
        return {
          width: 64,
          height: 64,
          boxes: [{ classId: 0, score: 0.5 + (i % 10) / 20, ...box }],
        };
      });
    },
  };
  return { port, created, requests };
}

/** The worker answers every task out to people with the truth; returns the object ids answered. */
async function peopleAnswer(job: string): Promise<number[]> {
  const ada = f.worker('ada');
  const ids: number[] = [];
  for (;;) {
    const t = await f.queue.claimNext(ada, job);
    if (!t) return ids;
    const i = idOf(t.sourceName);
    ids.push(i);
    await f.queue.submit(ada, t.taskId, t.version, `s-${t.taskId}`, {
      imageWidth: 64,
      imageHeight: 64,
      boxes: [truthBox(i)],
    });
  }
}

async function setup(
  status: RoundTrainingJob['status'],
  initialModelArn?: string,
  n = N,
  wrong?: (i: number) => boolean,
) {
  const fake = fakePort({ status }, wrong);
  f = await openLabelingFixture({ autoLabeling: fake.port });
  await f.createJob('bees', n, {
    workersPerObject: 1,
    algorithmsConfig: {
      LabelingJobAlgorithmSpecificationArn: ALGO,
      ...(initialModelArn ? { InitialActiveLearningModelArn: initialModelArn } : {}),
    },
  });
  return { ...fake, loop: new ActiveLearningLoop(f.ctx, f.completion) };
}

describe('the active-learning loop', () => {
  it('holds every object, sends a random first batch to people, trains, machine-labels above the threshold and sends the least confident next', async () => {
    const { loop, created } = await setup('Completed');
    // Nothing reaches people before the loop releases it.
    expect(await f.queue.claimNext(f.worker('ada'), 'bees')).toBeUndefined();
    await loop.step('bees');
    const first = await peopleAnswer('bees');
    expect(first).toHaveLength(humanBatchSize(N, 1000));
    await loop.step('bees'); // HumanLabeling → Training
    expect(created).toEqual(['bees-al-round-1']);
    const manifest = await f.objects.getObjectBuffer(
      'bees',
      'output/bees/activelearning/round-1/train.manifest',
    );
    expect(manifest!.toString().trim().split('\n')).toHaveLength(first.length - MIN_SUPPORT);
    await loop.step('bees'); // Training → Predicting
    await loop.step('bees'); // Predicting → Done (+ the next round out to people)
    // A second pass (a restarted server, another replica) changes nothing.
    const before = await f.ctx.repo.counters('bees');
    await new ActiveLearningLoop(f.ctx, f.completion).step('bees');
    expect(await f.ctx.repo.counters('bees')).toEqual(before);
    const [r1] = await loop.rounds('bees');
    expect(r1!.status).toBe('Done');
    expect(r1!.trainingJobName).toBe('bees-al-round-1');
    expect(r1!.modelArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:model/bees-al-round-1');
    const answered = new Set(first);
    // Round 2 and on until every object has a label; no object reaches people twice.
    for (let k = 0; k < 20 && (await f.ctx.repo.getJob('bees')).status === 'InProgress'; k++) {
      await loop.step('bees');
      for (const i of await peopleAnswer('bees')) {
        expect(answered.has(i)).toBe(false);
        answered.add(i);
      }
      await f.completion.maybeComplete('bees');
    }
    const rounds = await loop.rounds('bees');
    // Machine labels only above their round's threshold, whose estimate reached the target.
    const conf = (i: number) => 0.5 + (i % 10) / 20;
    const objects = await f.ctx.repo.objects(jobKey('bees'));
    const machine = objects.filter((o) => o.machine_labeled === 1);
    expect(machine.length).toBe(rounds.reduce((n, r) => n + r.machineLabeled, 0));
    expect(machine.length).toBeGreaterThan(0);
    const lowest = Math.min(
      ...rounds.flatMap((r) => (r.threshold === undefined ? [] : [r.threshold])),
    );
    for (const r of rounds.filter((r) => r.threshold !== undefined)) {
      expect(r.estimatedQuality).toBeGreaterThanOrEqual(0.6);
      expect(r.support).toBeGreaterThanOrEqual(MIN_SUPPORT);
    }
    for (const o of machine) {
      expect(answered.has(o.object_id)).toBe(false);
      expect(conf(o.object_id)).toBeGreaterThanOrEqual(lowest);
    }
    expect(answered.size + machine.length).toBe(N);
    const job = await f.ctx.repo.getJob('bees');
    expect(job.status).toBe('Completed');
    const done = await f.ctx.repo.counters('bees');
    expect(done.humanLabeled + done.machineLabeled).toBe(N);
    expect(done.unlabeled).toBe(0);
    expect(await loop.finalModelArn('bees')).toMatch(/model\/bees-al-round-\d+$/);
    const lines = (await f.objects.getObjectBuffer(
      'bees',
      'output/bees/manifests/output/output.manifest',
    ))!
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const byMachine = lines.filter((l) => l['bounding-box-metadata']['human-annotated'] === 'no');
    expect(byMachine).toHaveLength(done.machineLabeled);
    for (const l of byMachine) {
      expect(l['bounding-box-metadata'].type).toBe('groundtruth/object-detection');
      expect(l['bounding-box-metadata'].objects[0].confidence).toBeGreaterThanOrEqual(lowest);
    }
  });

  it('warm-starts each round: round 1 from InitialActiveLearningModelArn, round 2 from round 1', async () => {
    // A model sure of wrong boxes labels nothing: round 2 has people's batch and objects held.
    const { loop, requests } = await setup('Completed', INITIAL, N, () => true);
    await loop.step('bees');
    await peopleAnswer('bees');
    await loop.step('bees'); // → Training round 1
    const channels = (r: Record<string, unknown>) =>
      r.InputDataConfig as {
        ChannelName: string;
        InputMode?: string;
        DataSource: { S3DataSource: { S3Uri: string } };
      }[];
    const model1 = channels(requests[0]!).find((c) => c.ChannelName === 'model');
    expect(model1?.DataSource.S3DataSource.S3Uri).toBe('s3://bees/demo/model.tar.gz');
    expect(model1?.InputMode).toBe('File');
    // A warm start keeps the model's network and input size, and fine-tunes gently.
    const hp1 = requests[0]!.HyperParameters as Record<string, string>;
    expect(hp1.image_shape).toBe('96');
    expect(hp1.base_network).toBe('mobilenet-v3');
    expect(Number(hp1.learning_rate)).toBeLessThan(0.02);
    await loop.step('bees'); // → Predicting
    await loop.step('bees'); // → Done, round 2 out to people
    await peopleAnswer('bees');
    await loop.step('bees'); // → Training round 2
    expect(requests).toHaveLength(2);
    const model2 = channels(requests[1]!).find((c) => c.ChannelName === 'model');
    expect(model2?.DataSource.S3DataSource.S3Uri).toBe(
      's3://bees/output/bees-al-round-1/model.tar.gz',
    );
  });

  it('trains round 1 from scratch at the images’ size without an initial model', async () => {
    const { loop, requests } = await setup('Completed');
    await loop.step('bees');
    await peopleAnswer('bees');
    await loop.step('bees');
    const r = requests[0]!;
    const names = (r.InputDataConfig as { ChannelName: string }[]).map((c) => c.ChannelName);
    expect(names).toEqual(['train', 'validation']);
    expect((r.HyperParameters as Record<string, string>).image_shape).toBe('64');
  });

  it('refuses an InitialActiveLearningModelArn that does not exist or is not a detector', async () => {
    const fake = fakePort({ status: 'Completed' });
    f = await openLabelingFixture({ autoLabeling: fake.port });
    const create = (arn: string) =>
      f.createJob('x', N, {
        algorithmsConfig: {
          LabelingJobAlgorithmSpecificationArn: ALGO,
          InitialActiveLearningModelArn: arn,
        },
      });
    const missing = INITIAL.replace('demo-bees', 'nope');
    await expect(create(missing)).rejects.toThrow(`Could not find model "${missing}".`);
    await expect(create(INITIAL.replace('demo-bees', 'a-classifier'))).rejects.toThrow(
      /is not a model of the object-detection algorithm/,
    );
  });

  it('goes on with people when a round’s training fails, and says so', async () => {
    const { loop } = await setup('Failed');
    await loop.step('bees');
    const first = await peopleAnswer('bees');
    await loop.step('bees');
    await loop.step('bees');
    const [r1] = await loop.rounds('bees');
    expect(r1!.status).toBe('Failed');
    expect(r1!.notice).toBe(
      'Automated labeling round 1 failed (training job bees-al-round-1 Failed: AlgorithmError: boom); the remaining objects go to people.',
    );
    const rest = await peopleAnswer('bees');
    expect(first.length + rest.length).toBe(N);
    expect(new Set([...first, ...rest]).size).toBe(N);
    await f.completion.maybeComplete('bees');
    expect((await f.ctx.repo.getJob('bees')).status).toBe('Completed');
    expect((await f.ctx.repo.counters('bees')).machineLabeled).toBe(0);
  });

  it('fails a job below the minimum dataset size with SageMaker’s message', async () => {
    const fake = fakePort({ status: 'Completed' });
    f = await openLabelingFixture({ autoLabeling: fake.port });
    const job = await f.createJob('few', 10, {
      algorithmsConfig: { LabelingJobAlgorithmSpecificationArn: ALGO },
    });
    expect(job.status).toBe('Failed');
    expect(job.failureReason).toContain('requires an input dataset of at least 50 objects');
  });

  it('picks the detection score cut with the best held-out quality', () => {
    const human = [{ label: 'bee', left: 0, top: 0, width: 10, height: 10 }];
    const v = [
      {
        human,
        boxes: [
          { ...human[0]!, score: 0.35 },
          { label: 'bee', left: 40, top: 40, width: 10, height: 10, score: 0.12 },
        ],
      },
    ];
    expect(chooseKeepScore(v)).toBe(0.3);
    expect(chooseKeepScore([])).toBe(0.5);
  });
});
