import type { Aggregate } from './metric-store.js';

/** CloudWatch's alarm states. */
export const AlarmState = {
  OK: 'OK',
  ALARM: 'ALARM',
  INSUFFICIENT_DATA: 'INSUFFICIENT_DATA',
} as const;
/** One of CloudWatch's alarm states. */
export type AlarmState = (typeof AlarmState)[keyof typeof AlarmState];

/** The statistics an alarm or GetMetricStatistics may ask for. */
export const Statistics = ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'] as const;
/** One statistic (SampleCount, Average, Sum, Minimum, Maximum). */
export type Statistic = (typeof Statistics)[number];

/** How an alarm compares a statistic with its threshold. */
export const ComparisonOperators = [
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
] as const;
/** One comparison of a statistic with an alarm's threshold. */
export type ComparisonOperator = (typeof ComparisonOperators)[number];

/** What an alarm makes of a period without data (CloudWatch's TreatMissingData). */
export const TreatMissingDataValues = ['breaching', 'notBreaching', 'ignore', 'missing'] as const;
/** One way to treat a period without data. */
export type TreatMissingData = (typeof TreatMissingDataValues)[number];

/** What an alarm watches and when it fires (PutMetricAlarm's fields, camelCase). */
export interface AlarmRule {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly statistic: Statistic;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparisonOperator: ComparisonOperator;
  readonly treatMissingData: TreatMissingData;
}

export interface Evaluation {
  readonly state: AlarmState;
  readonly reason: string;
  /** The values of the evaluated periods, newest first (undefined = missing). */
  readonly recent: readonly (number | undefined)[];
}

/** One statistic of an aggregate. */
export function statisticOf(a: Aggregate, s: Statistic): number {
  switch (s) {
    case 'SampleCount':
      return a.sampleCount;
    case 'Average':
      return a.sampleCount === 0 ? 0 : a.sum / a.sampleCount;
    case 'Sum':
      return a.sum;
    case 'Minimum':
      return a.minimum;
    case 'Maximum':
      return a.maximum;
  }
}

const breaches = (v: number, op: ComparisonOperator, t: number): boolean =>
  op === 'GreaterThanOrEqualToThreshold'
    ? v >= t
    : op === 'GreaterThanThreshold'
      ? v > t
      : op === 'LessThanThreshold'
        ? v < t
        : v <= t;

const OP_TEXT: Record<ComparisonOperator, string> = {
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  GreaterThanThreshold: 'greater than',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

/**
 * The periods an evaluation at `nowMs` looks at, newest first: the last `evaluationPeriods`
 * periods ending with the one that holds `nowMs`, or ending with the one before when the current
 * period has no data yet (its datapoints are still on their way; CloudWatch does not count a
 * period that just began as missing either).
 */
export function evaluationWindow(
  rule: AlarmRule,
  nowMs: number,
  buckets: ReadonlyMap<number, Aggregate>,
): number[] {
  const periodMs = Math.max(60, rule.periodSeconds) * 1000;
  let newest = Math.floor(nowMs / periodMs) * periodMs;
  if (!buckets.has(newest)) newest -= periodMs;
  return Array.from({ length: rule.evaluationPeriods }, (_, i) => newest - i * periodMs);
}

/**
 * M-out-of-N evaluation: ALARM when at least `datapointsToAlarm` of the window's periods breach
 * the threshold (missing periods count as TreatMissingData says); INSUFFICIENT_DATA when every
 * period is missing (`missing`), the current state kept (`ignore`); OK otherwise.
 */
export function evaluateAlarm(
  rule: AlarmRule,
  nowMs: number,
  buckets: ReadonlyMap<number, Aggregate>,
  current: AlarmState,
): Evaluation {
  const window = evaluationWindow(rule, nowMs, buckets);
  const recent = window.map((p) => {
    const a = buckets.get(p);
    return a ? statisticOf(a, rule.statistic) : undefined;
  });
  let breaching = 0;
  let present = 0;
  for (const v of recent) {
    if (v === undefined) {
      if (rule.treatMissingData === 'breaching') {
        breaching++;
        present++;
      } else if (rule.treatMissingData === 'notBreaching') present++;
      continue;
    }
    present++;
    if (breaches(v, rule.comparisonOperator, rule.threshold)) breaching++;
  }
  const shown = recent
    .filter((v): v is number => v !== undefined)
    .map((v) => Number(v.toPrecision(6)));
  const describe = `[${shown.join(', ')}] (${recent.length} period(s) of ${rule.periodSeconds} s, ${recent.length - shown.length} missing)`;
  if (breaching >= rule.datapointsToAlarm) {
    return {
      state: 'ALARM',
      recent,
      reason: `Threshold Crossed: ${breaching} out of the last ${rule.evaluationPeriods} datapoints ${describe} were ${OP_TEXT[rule.comparisonOperator]} the threshold (${rule.threshold}) (minimum ${rule.datapointsToAlarm} datapoints for OK -> ALARM transition).`,
    };
  }
  if (present === 0) {
    if (rule.treatMissingData === 'ignore')
      return { state: current, recent, reason: 'Missing data ignored: the state is kept.' };
    return {
      state: 'INSUFFICIENT_DATA',
      recent,
      reason: `Insufficient Data: ${rule.evaluationPeriods} datapoint(s) were unknown.`,
    };
  }
  return {
    state: 'OK',
    recent,
    reason: `Threshold Crossed: ${breaching} out of the last ${rule.evaluationPeriods} datapoints ${describe} were ${OP_TEXT[rule.comparisonOperator]} the threshold (${rule.threshold}) (fewer than ${rule.datapointsToAlarm} needed for ALARM).`,
  };
}
