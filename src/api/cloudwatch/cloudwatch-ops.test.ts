import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../store/index.js';
import { FakeClock } from '../../shared/clock.js';
import { Metrics, metricsMigrations } from '../../metrics/index.js';
import { cloudWatchOperations, TRAINING_NAMESPACE } from './cloudwatch-ops.js';

let database: Database;
let dir: string;
const T0 = 1_700_000_040_000 - (1_700_000_040_000 % 60_000);
const ctx = { requestId: 'r', accessKeyId: 'k' };

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-cw-ops-'));
  database = await openDatabase({ dataDir: dir, migrations: metricsMigrations });
});

afterEach(async () => {
  await database.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function ops() {
  const clock = new FakeClock(T0 + 1_000);
  const metrics = new Metrics({
    db: database.db,
    clock,
    replicaId: 'a',
    arnOf: (n) => `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${n}`,
    flushIntervalMs: 1000,
    evaluationIntervalMs: 1000,
    retentionMs: 3_600_000,
  });
  const series = {
    'train:loss': [
      { timestampMs: T0 + 1_000, value: 2 },
      { timestampMs: T0 + 2_000, value: 1 },
      { timestampMs: T0 + 61_000, value: 0.5 },
    ],
  };
  return cloudWatchOperations({
    metrics,
    trainingSeries: async (job) => (job === 'job-1' ? series : undefined),
  });
}

describe('CloudWatch operations', () => {
  it('answers training job metrics under /aws/sagemaker/TrainingJobs with Host={job}/algo-1', async () => {
    const r = (await ops().GetMetricStatistics!(
      {
        Namespace: TRAINING_NAMESPACE,
        MetricName: 'train:loss',
        Dimensions: [{ Name: 'Host', Value: 'job-1/algo-1' }],
        StartTime: T0 / 1000,
        EndTime: T0 / 1000 + 600,
        Period: 60,
        Statistics: ['Average', 'Minimum', 'SampleCount'],
      },
      ctx,
    )) as { Datapoints: Record<string, number>[] };
    expect(r.Datapoints).toEqual([
      { Timestamp: T0 / 1000, Average: 1.5, Minimum: 1, SampleCount: 2, Unit: 'None' },
      { Timestamp: T0 / 1000 + 60, Average: 0.5, Minimum: 0.5, SampleCount: 1, Unit: 'None' },
    ]);
  });

  it('refuses too many datapoints, a reversed range and percentiles, as CloudWatch words them', async () => {
    const base = {
      Namespace: 'AWS/SageMaker',
      MetricName: 'Invocations',
      StartTime: T0 / 1000,
      EndTime: T0 / 1000 + 60 * 1441,
      Period: 60,
      Statistics: ['Sum'],
    };
    await expect(ops().GetMetricStatistics!(base, ctx)).rejects.toThrow(
      'You have requested up to 1441 datapoints, which exceeds the limit of 1440.',
    );
    await expect(
      ops().GetMetricStatistics!({ ...base, EndTime: base.StartTime - 1 }, ctx),
    ).rejects.toThrow('The parameter StartTime must be less than the parameter EndTime.');
    await expect(
      ops().GetMetricStatistics!(
        { ...base, Statistics: undefined, ExtendedStatistics: ['p99'] },
        ctx,
      ),
    ).rejects.toThrow(/ExtendedStatistics \(percentiles\) are not available/);
  });

  it('pages DescribeAlarms and refuses names with a prefix', async () => {
    const o = ops();
    for (const n of ['a1', 'a2', 'a3']) {
      await o.PutMetricAlarm!(
        {
          AlarmName: n,
          Namespace: 'AWS/SageMaker',
          MetricName: 'Invocations',
          Statistic: 'Sum',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanThreshold',
        },
        ctx,
      );
    }
    const p1 = (await o.DescribeAlarms!({ MaxRecords: 2 }, ctx)) as {
      MetricAlarms: { AlarmName: string }[];
      NextToken?: string;
    };
    expect(p1.MetricAlarms.map((a) => a.AlarmName)).toEqual(['a1', 'a2']);
    const p2 = (await o.DescribeAlarms!({ MaxRecords: 2, NextToken: p1.NextToken }, ctx)) as {
      MetricAlarms: { AlarmName: string }[];
      NextToken?: string;
    };
    expect(p2).toMatchObject({
      MetricAlarms: [{ AlarmName: 'a3', StateValue: 'INSUFFICIENT_DATA' }],
    });
    expect(p2.NextToken).toBeUndefined();
    await expect(
      o.DescribeAlarms!({ AlarmNames: ['a1'], AlarmNamePrefix: 'a' }, ctx),
    ).rejects.toThrow('AlarmNames and AlarmNamePrefix cannot be used together.');
    await expect(o.DeleteAlarms!({ AlarmNames: ['a1', 'zz'] }, ctx)).rejects.toThrow(
      '1 of the alarms to delete do not exist: zz; none was deleted.',
    );
    await o.SetAlarmState!({ AlarmName: 'a1', StateValue: 'ALARM', StateReason: 'testing' }, ctx);
    expect(await o.DescribeAlarms!({ StateValue: 'ALARM' }, ctx)).toMatchObject({
      MetricAlarms: [{ AlarmName: 'a1', StateReason: 'testing' }],
    });
  });
});
