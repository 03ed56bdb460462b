import { describe, expect, it } from 'vitest';
import { evaluateAlarm, type AlarmRule } from './alarm-eval.js';
import type { Aggregate } from './metric-store.js';

const rule = (r: Partial<AlarmRule> = {}): AlarmRule => ({
  namespace: 'AWS/SageMaker',
  metricName: 'Invocation5XXErrors',
  dimensions: { EndpointName: 'e', VariantName: 'AllTraffic' },
  statistic: 'Sum',
  periodSeconds: 60,
  evaluationPeriods: 3,
  datapointsToAlarm: 2,
  threshold: 1,
  comparisonOperator: 'GreaterThanOrEqualToThreshold',
  treatMissingData: 'missing',
  ...r,
});
const agg = (sum: number, n = 1): Aggregate => ({ sampleCount: n, sum, minimum: 0, maximum: sum });
const T = 1_700_000_040_000 - (1_700_000_040_000 % 60_000); // a period start
const buckets = (values: Record<number, Aggregate>) =>
  new Map(Object.entries(values).map(([k, v]) => [T - Number(k) * 60_000, v]));

describe('alarm evaluation (M out of N)', () => {
  it('ALARM when DatapointsToAlarm of the EvaluationPeriods breach', () => {
    const e = evaluateAlarm(rule(), T + 5_000, buckets({ 0: agg(3), 1: agg(0), 2: agg(2) }), 'OK');
    expect(e.state).toBe('ALARM');
    expect(e.reason).toMatch(/2 out of the last 3 datapoints/);
  });

  it('OK when fewer breach', () => {
    expect(
      evaluateAlarm(rule(), T + 5_000, buckets({ 0: agg(3), 1: agg(0), 2: agg(0) }), 'ALARM').state,
    ).toBe('OK');
  });

  it('INSUFFICIENT_DATA with no datapoints (an alarm on an unknown metric stays there)', () => {
    expect(
      evaluateAlarm(rule({ metricName: 'NoSuchMetric' }), T, new Map(), 'INSUFFICIENT_DATA').state,
    ).toBe('INSUFFICIENT_DATA');
  });

  it('TreatMissingData: breaching counts gaps as breaching, notBreaching as fine, ignore keeps the state', () => {
    expect(evaluateAlarm(rule({ treatMissingData: 'breaching' }), T, new Map(), 'OK').state).toBe(
      'ALARM',
    );
    expect(
      evaluateAlarm(rule({ treatMissingData: 'notBreaching' }), T, new Map(), 'ALARM').state,
    ).toBe('OK');
    expect(evaluateAlarm(rule({ treatMissingData: 'ignore' }), T, new Map(), 'ALARM').state).toBe(
      'ALARM',
    );
  });

  it('a period that just began without data is not counted; the window ends with the one before', () => {
    // Data in the previous two periods only, evaluated 1 s into a new period: both still count.
    expect(
      evaluateAlarm(
        rule({ evaluationPeriods: 2 }),
        T + 1_000,
        buckets({ 1: agg(5), 2: agg(5) }),
        'OK',
      ).state,
    ).toBe('ALARM');
  });

  it('Average is the sum over the sample count (an error rate for the 0/1 error metrics)', () => {
    const r = rule({
      statistic: 'Average',
      threshold: 0.5,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparisonOperator: 'GreaterThanThreshold',
    });
    expect(evaluateAlarm(r, T, buckets({ 0: agg(6, 10) }), 'OK').state).toBe('ALARM');
    expect(evaluateAlarm(r, T, buckets({ 0: agg(4, 10) }), 'OK').state).toBe('OK');
  });
});
