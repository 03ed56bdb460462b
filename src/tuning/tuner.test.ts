import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError, ErrorCodes, FakeClock } from '../shared/index.js';
import { openDatabase, type Database } from '../store/index.js';
import { TUNING_TRANSITIONS, canTransition } from './model.js';
import { tuningMigrations } from './migrations.js';
import type { CreateTuningJobRequest } from './request.js';
import { FakeTraining } from './testing/fake-training.js';
import { Tuning, bestTrial } from './tuner.js';
import { leaderboardRows } from './leaderboard.js';

const OD_IMAGE = '811284229777.dkr.ecr.us-east-1.amazonaws.com/object-detection:1';

function request(
  overrides: Partial<CreateTuningJobRequest['HyperParameterTuningJobConfig']> = {},
  statics: Record<string, string> = { epochs: '3' },
): CreateTuningJobRequest {
  return {
    HyperParameterTuningJobName: 'bees-hpo',
    HyperParameterTuningJobConfig: {
      Strategy: 'Bayesian',
      HyperParameterTuningJobObjective: { Type: 'Maximize', MetricName: 'validation:mAP' },
      ResourceLimits: { MaxNumberOfTrainingJobs: 5, MaxParallelTrainingJobs: 2 },
      ParameterRanges: {
        ContinuousParameterRanges: [
          {
            Name: 'learning_rate',
            MinValue: '0.0001',
            MaxValue: '0.1',
            ScalingType: 'Logarithmic',
          },
          { Name: 'momentum', MinValue: '0.0', MaxValue: '0.99' },
        ],
        CategoricalParameterRanges: [
          { Name: 'mini_batch_size', Values: ['4', '8'] },
          { Name: 'optimizer', Values: ['sgd', 'adam'] },
        ],
      },
      RandomSeed: 7,
      ...overrides,
    },
    TrainingJobDefinition: {
      StaticHyperParameters: { num_classes: '1', ...statics },
      AlgorithmSpecification: { TrainingImage: OD_IMAGE, TrainingInputMode: 'File' },
      RoleArn: 'arn:aws:iam::000000000000:role/apiary',
      OutputDataConfig: { S3OutputPath: 's3://bees/out' },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
      StoppingCondition: { MaxRuntimeInSeconds: 600 },
    },
  };
}

let dir: string;
let database: Database;
let training: FakeTraining;
let clock: FakeClock;
let tuning: Tuning;
let counter = 0;

const make = () =>
  new Tuning({
    db: database.db,
    clock,
    arn: { region: 'us-east-1', accountId: '000000000000' },
    training,
    pollIntervalMs: 0,
    trialSilenceMs: 60_000,
    childSuffix: () => (counter++).toString(16).padStart(8, '0'),
  });

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-tuning-'));
  database = await openDatabase({ dataDir: dir, migrations: tuningMigrations });
  training = new FakeTraining();
  clock = new FakeClock();
  counter = 0;
  tuning = make();
  await tuning.start();
});

afterEach(async () => {
  await tuning.close();
  await database.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function expectValidation(req: CreateTuningJobRequest, message: RegExp) {
  const err = await tuning.create(req).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(ErrorCodes.Validation);
  expect((err as AppError).message).toMatch(message);
}

describe('tuning job state machine', () => {
  it('allows only the documented transitions', () => {
    expect(canTransition('InProgress', 'Completed')).toBe(true);
    expect(canTransition('InProgress', 'Stopping')).toBe(true);
    expect(canTransition('Stopping', 'Stopped')).toBe(true);
    expect(canTransition('Stopping', 'Completed')).toBe(false);
    expect(canTransition('Completed', 'InProgress')).toBe(false);
    for (const terminal of ['Completed', 'Failed', 'Stopped'] as const)
      expect(TUNING_TRANSITIONS[terminal]).toEqual([]);
  });
});

describe('CreateHyperParameterTuningJob validation', () => {
  it('accepts Grid only with categorical ranges', async () => {
    await expectValidation(
      request({ Strategy: 'Grid' }),
      /Grid strategy searches categorical ranges only/,
    );
  });

  it('requires MaxNumberOfTrainingJobs to equal the grid size when given', async () => {
    const req = request({
      Strategy: 'Grid',
      ParameterRanges: {
        CategoricalParameterRanges: [{ Name: 'optimizer', Values: ['sgd', 'adam'] }],
      },
      ResourceLimits: { MaxNumberOfTrainingJobs: 3, MaxParallelTrainingJobs: 1 },
    });
    await expectValidation(req, /must equal the number of combinations \(2\)/);
  });

  it('requires early stopping Off with Hyperband and infers MaxResource from epochs', async () => {
    await expectValidation(
      request({ Strategy: 'Hyperband', TrainingJobEarlyStoppingType: 'Auto' }),
      /TrainingJobEarlyStoppingType must be Off/,
    );
    await expectValidation(request({ Strategy: 'Hyperband' }, {}), /Hyperband needs MaxResource/);
    const job = await tuning.create(request({ Strategy: 'Hyperband' }, { epochs: '9' }));
    expect(job.config.hyperband).toEqual({ minResource: 1, maxResource: 9 });
  });

  it('only accepts the objective the built-in detector defines', async () => {
    await expectValidation(
      request({
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'train:cross_entropy' },
      }),
      /not a tunable metric of the object-detection algorithm; use 'validation:mAP' \(Maximize\)/,
    );
    await expectValidation(
      request({
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:mAP' },
      }),
      /must be used with Type Maximize/,
    );
  });

  it('checks ranges: numbers as strings, positive logarithmic ranges, no static duplicates', async () => {
    await expectValidation(
      request({
        ParameterRanges: {
          ContinuousParameterRanges: [{ Name: 'learning_rate', MinValue: 'abc', MaxValue: '0.1' }],
        },
      }),
      /ContinuousParameterRange 'learning_rate': MinValue 'abc' is not a number/,
    );
    await expectValidation(
      request({
        ParameterRanges: {
          ContinuousParameterRanges: [
            { Name: 'learning_rate', MinValue: '0', MaxValue: '0.1', ScalingType: 'Logarithmic' },
          ],
        },
      }),
      /Logarithmic scaling needs MinValue greater than 0/,
    );
    await expectValidation(
      request({
        ParameterRanges: {
          IntegerParameterRanges: [{ Name: 'epochs', MinValue: '1', MaxValue: '5' }],
        },
      }),
      /'epochs' is both static and tunable/,
    );
  });

  it('refuses a second tuning job with the same name', async () => {
    await tuning.create(request());
    const err = await tuning
      .create({ ...request(), HyperParameterTuningJobName: 'BEES-hpo' })
      .catch((e: unknown) => e);
    expect((err as AppError).code).toBe(ErrorCodes.InUse);
  });
});

describe('orchestration', () => {
  it('launches children named {tuning}-{NNN}-{8 hex} with static, tuned and objective hyperparameters', async () => {
    await tuning.create(request());
    await tuning.settled();
    expect(training.created).toEqual(['bees-hpo-001-00000000', 'bees-hpo-002-00000001']);
    const hp = training.hyperParameters('bees-hpo-001-00000000');
    expect(hp).toMatchObject({
      num_classes: '1',
      epochs: '3',
      _tuning_objective_metric: 'validation:mAP',
    });
    expect(Number(hp['learning_rate'])).toBeGreaterThanOrEqual(0.0001);
    expect(['4', '8']).toContain(hp['mini_batch_size']);
    expect(training.jobs.get('bees-hpo-001-00000000')!.tuningJobArn).toBe(
      'arn:aws:sagemaker:us-east-1:000000000000:hyper-parameter-tuning-job/bees-hpo',
    );
  });

  it('keeps MaxParallelTrainingJobs running until MaxNumberOfTrainingJobs, then completes with the best job', async () => {
    await tuning.create(request());
    await tuning.settled();
    const objectives = [0.1, 0.5, 0.3, 0.2, 0.4];
    for (let i = 0; i < 5; i++) {
      expect(training.running().length).toBeLessThanOrEqual(2);
      training.complete(training.created[i]!, objectives[i]);
      await tuning.settled();
    }
    expect(training.created).toHaveLength(5);
    const { job, trials } = await tuning.describe('bees-hpo');
    expect(job.status).toBe('Completed');
    expect(job.endReason).toBe('MaxNumberOfTrainingJobs reached');
    expect(bestTrial(job.config, trials)!.trainingJobName).toBe(training.created[1]);
  });

  it('stops a child with the median rule when early stopping is Auto', async () => {
    await tuning.create(
      request({
        TrainingJobEarlyStoppingType: 'Auto',
        ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 1 },
      }),
    );
    await tuning.settled();
    for (const curve of [
      [0.5, 0.6],
      [0.4, 0.5],
      [0.6, 0.7],
    ]) {
      const name = training.running()[0]!;
      for (const v of curve) training.report(name, v);
      training.complete(name);
      await tuning.settled();
    }
    const fourth = training.running()[0]!;
    training.report(fourth, 0.2); // median of running averages at epoch 1 is 0.5
    await tuning.settled();
    expect(training.stopRequests).toEqual([fourth]);
    const { trials, job } = await tuning.describe('bees-hpo');
    const t = trials.find((x) => x.trainingJobName === fourth)!;
    expect(t.status).toBe('Stopped');
    expect(t.stopReason).toMatch(
      /worse than the median of the running averages of 3 previous training jobs/,
    );
    expect(t.objectiveStatus).toBe('Succeeded');
    expect(job.status).toBe('Completed');
  });

  it('stops Hyperband trials that are not in the best third at a rung', async () => {
    await tuning.create(
      request(
        {
          Strategy: 'Hyperband',
          ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 4 },
        },
        { epochs: '9' },
      ),
    );
    await tuning.settled();
    const [a, b, c, d] = training.created;
    training.report(a!, 0.9);
    training.report(b!, 0.8);
    training.report(c!, 0.7);
    await tuning.settled();
    training.report(d!, 0.1);
    await tuning.settled();
    expect(training.stopRequests).toContain(d);
    expect(training.stopRequests).not.toContain(a);
  });

  it('retries a trial that failed with an internal error, with the same hyperparameters', async () => {
    const req = request({
      ResourceLimits: { MaxNumberOfTrainingJobs: 1, MaxParallelTrainingJobs: 1 },
    });
    req.TrainingJobDefinition!.RetryStrategy = { MaximumRetryAttempts: 1 };
    await tuning.create(req);
    await tuning.settled();
    const first = training.created[0]!;
    training.fail(first, 'InternalServerError: the training process disappeared');
    await tuning.settled();
    expect(training.created).toHaveLength(2);
    const retry = training.created[1]!;
    const tuned = (h: Record<string, string>) => ({ lr: h['learning_rate'], o: h['optimizer'] });
    expect(tuned(training.hyperParameters(retry))).toEqual(tuned(training.hyperParameters(first)));
    training.fail(retry, 'InternalServerError: again');
    await tuning.settled();
    const { job } = await tuning.describe('bees-hpo');
    expect(training.created).toHaveLength(2);
    expect(job.status).toBe('Failed');
    expect(job.failureReason).toMatch(
      /ended without an objective value; the last one: InternalServerError: again/,
    );
  });

  it('does not retry a client error and fails the tuning job when no trial produced an objective', async () => {
    await tuning.create(
      request({ ResourceLimits: { MaxNumberOfTrainingJobs: 2, MaxParallelTrainingJobs: 2 } }),
    );
    await tuning.settled();
    for (const n of training.created) training.fail(n, 'ClientError: num_classes must be positive');
    await tuning.settled();
    const { job, trials } = await tuning.describe('bees-hpo');
    expect(trials.map((t) => t.errorKind)).toEqual(['NonRetryable', 'NonRetryable']);
    expect(job.status).toBe('Failed');
  });

  it('stops a silent trial and fails it as retryable', async () => {
    await tuning.create(
      request({ ResourceLimits: { MaxNumberOfTrainingJobs: 1, MaxParallelTrainingJobs: 1 } }),
    );
    await tuning.settled();
    clock.advance(61_000);
    await tuning.pollAll();
    await tuning.settled();
    const { trials, job } = await tuning.describe('bees-hpo');
    expect(training.stopRequests).toEqual([training.created[0]]);
    expect(trials[0]).toMatchObject({ status: 'Failed', errorKind: 'Retryable' });
    expect(trials[0]!.failureReason).toMatch(/silent .* for 60 s/);
    expect(job.status).toBe('Failed');
  });

  it('StopHyperParameterTuningJob stops every running child, then the job is Stopped', async () => {
    await tuning.create(request());
    await tuning.settled();
    await tuning.stop('bees-hpo');
    await tuning.settled();
    expect(training.stopRequests.sort()).toEqual([...training.created].sort());
    const { job } = await tuning.describe('bees-hpo');
    expect(job.status).toBe('Stopped');
    await expect(tuning.stop('bees-hpo')).rejects.toThrow(/is Stopped and cannot be stopped/);
  });

  it('completes early when the target objective is reached', async () => {
    await tuning.create(
      request({ TuningJobCompletionCriteria: { TargetObjectiveMetricValue: 0.8 } }),
    );
    await tuning.settled();
    training.complete(training.created[0]!, 0.85);
    await tuning.settled();
    const { job } = await tuning.describe('bees-hpo');
    expect(job.status).toBe('Completed');
    expect(job.endReason).toBe('TargetObjectiveMetricValue reached');
    expect(training.stopRequests).toEqual([training.created[1]]);
  });

  it('resumes after a restart: a new tuner on the same database finishes the job', async () => {
    await tuning.create(
      request({ ResourceLimits: { MaxNumberOfTrainingJobs: 3, MaxParallelTrainingJobs: 1 } }),
    );
    await tuning.settled();
    await tuning.close();
    training.complete(training.created[0]!, 0.3); // finished while the server was down
    tuning = make();
    await tuning.start();
    await tuning.settled();
    expect(training.created).toHaveLength(2);
    training.complete(training.created[1]!, 0.6);
    await tuning.settled();
    training.complete(training.created[2]!, 0.1);
    await tuning.settled();
    const { job, trials } = await tuning.describe('bees-hpo');
    expect(job.status).toBe('Completed');
    expect(trials.map((t) => t.objectiveValue)).toEqual([0.3, 0.6, 0.1]);
  });

  it('warm-starts from a finished parent with the same objective', async () => {
    await tuning.create(
      request({ ResourceLimits: { MaxNumberOfTrainingJobs: 1, MaxParallelTrainingJobs: 1 } }),
    );
    await tuning.settled();
    training.complete(training.created[0]!, 0.7);
    await tuning.settled();
    const child = {
      ...request({ ResourceLimits: { MaxNumberOfTrainingJobs: 1, MaxParallelTrainingJobs: 1 } }),
      HyperParameterTuningJobName: 'bees-hpo-2',
      WarmStartConfig: {
        ParentHyperParameterTuningJobs: [{ HyperParameterTuningJobName: 'bees-hpo' }],
        WarmStartType: 'IdenticalDataAndAlgorithm' as const,
      },
    };
    await tuning.create(child);
    await tuning.settled();
    const { parentTrials } = await tuning.describe('bees-hpo-2');
    expect(parentTrials.map((t) => t.objectiveValue)).toEqual([0.7]);
    const missing = {
      ...child,
      HyperParameterTuningJobName: 'bees-hpo-3',
      WarmStartConfig: {
        ...child.WarmStartConfig,
        ParentHyperParameterTuningJobs: [{ HyperParameterTuningJobName: 'nope' }],
      },
    };
    await expect(tuning.create(missing)).rejects.toThrow(/parent tuning job 'nope' does not exist/);
  });
});

describe('leaderboard', () => {
  it("ranks trials by objective in the objective's direction, trials without one last", async () => {
    await tuning.create(
      request({ ResourceLimits: { MaxNumberOfTrainingJobs: 3, MaxParallelTrainingJobs: 3 } }),
    );
    await tuning.settled();
    const [a, b, c] = training.created;
    training.complete(a!, 0.2);
    training.complete(b!, 0.6);
    training.fail(c!, 'ClientError: bad data');
    await tuning.settled();
    const { job, trials } = await tuning.trials('bees-hpo');
    const rows = leaderboardRows(job, trials);
    expect(rows[0]).toEqual([
      'rank',
      'training job',
      'status',
      'validation:mAP',
      'learning_rate',
      'momentum',
      'mini_batch_size',
      'optimizer',
      'note',
    ]);
    expect(rows.slice(1).map((r) => [r[1], r[2], r[3], r.at(-1)])).toEqual([
      [b, 'Completed', '0.6', ''],
      [a, 'Completed', '0.2', ''],
      [c, 'Failed', '-', 'ClientError: bad data'],
    ]);
  });
});

describe('completion criteria', () => {
  it('completes when BestObjectiveNotImproving counts enough jobs without a 1% gain', async () => {
    await tuning.create(
      request({
        ResourceLimits: { MaxNumberOfTrainingJobs: 10, MaxParallelTrainingJobs: 1 },
        TuningJobCompletionCriteria: {
          BestObjectiveNotImproving: { MaxNumberOfTrainingJobsNotImproving: 3 },
        },
      }),
    );
    await tuning.settled();
    for (const v of [0.5, 0.502, 0.4, 0.5]) {
      training.complete(training.running()[0]!, v);
      await tuning.settled();
    }
    const { job } = await tuning.describe('bees-hpo');
    expect(job.jobsNotImproving).toBe(3);
    expect(job.status).toBe('Completed');
    expect(job.endReason).toMatch(/^BestObjectiveNotImproving: 3 training jobs/);
    expect(training.created).toHaveLength(4);
  });
});
