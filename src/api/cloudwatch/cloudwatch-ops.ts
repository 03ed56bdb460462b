// CloudWatch's operation table (AWS JSON 1.0): the shapes of eleven operations and their
// validation, as the other protocols' *-ops.ts files hold theirs; over 500 lines because the
// metric and alarm operations share one set of wire helpers kept beside them.
import {
  dimensionsKey,
  ComparisonOperators,
  Statistics,
  TreatMissingDataValues,
  statisticOf,
  type Aggregate,
  type AlarmRecord,
  type AlarmRule,
  type Metrics,
  type MetricId,
  type Statistic,
} from '../../metrics/index.js';
import type { OperationTable } from '../sagemaker/protocol.js';
import { cloudWatchError } from './errors.js';

/**
 * The CloudWatch subset SageMaker users touch (AWS JSON 1.0, `X-Amz-Target:
 * GraniteServiceVersion20100801.<Op>`, signing name `monitoring`): metrics (GetMetricStatistics,
 * GetMetricData, ListMetrics, PutMetricData) and metric alarms (PutMetricAlarm, DescribeAlarms,
 * DescribeAlarmsForMetric, DeleteAlarms, SetAlarmState, DescribeAlarmHistory). Timestamps are
 * epoch seconds on the wire, as botocore's JSON protocol sends them.
 */

export const TRAINING_NAMESPACE = '/aws/sagemaker/TrainingJobs';
const MAX_DATAPOINTS = 1440;
const LIST_WINDOW_MS = 14 * 24 * 3600 * 1000;
const MAX_ALARMS = 5000;

interface WireDimension {
  Name: string;
  Value?: string;
}

const UNITS: Readonly<Record<string, string>> = {
  ModelLatency: 'Microseconds',
  OverheadLatency: 'Microseconds',
};
const unitOf = (metricName: string) => UNITS[metricName] ?? 'None';

const toMs = (t: number | string): number => (typeof t === 'number' ? t * 1000 : Date.parse(t));
const toSeconds = (ms: number) => ms / 1000;

const dimensionsFrom = (d: readonly WireDimension[] | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const x of d ?? []) {
    if (x.Value === undefined)
      throw cloudWatchError(
        'MissingRequiredParameterException',
        `The parameter Dimensions.member.Value is required for dimension '${x.Name}'.`,
      );
    out[x.Name] = x.Value;
  }
  return out;
};
const dimensionsTo = (d: Readonly<Record<string, string>>) =>
  Object.entries(d).map(([Name, Value]) => ({ Name, Value }));

/** CloudWatch's Period rule: 1, 5, 10, 30 or a multiple of 60 seconds. */
function checkPeriod(period: number | undefined, field = 'Period'): number {
  if (period === undefined)
    throw cloudWatchError(
      'MissingRequiredParameterException',
      `The parameter ${field} is required.`,
    );
  if (![1, 5, 10, 30].includes(period) && (period < 60 || period % 60 !== 0)) {
    throw cloudWatchError(
      'InvalidParameterValueException',
      `The parameter ${field} must be 1, 5, 10, 30 or a multiple of 60.`,
    );
  }
  return period;
}

const offsetToken = (n: number) => Buffer.from(`o:${n}`).toString('base64');
function offsetFrom(token: string | undefined): number {
  if (token === undefined) return 0;
  const m = /^o:(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
  if (!m) throw cloudWatchError('InvalidNextToken', `The NextToken '${token}' is not valid.`);
  return Number(m[1]);
}

export function cloudWatchOperations(deps: {
  metrics: Metrics;
  /** A training job's metric series (for `/aws/sagemaker/TrainingJobs`, dimension Host=`{job}/algo-1`). */
  trainingSeries?: (
    job: string,
  ) => Promise<Record<string, { timestampMs: number; value: number }[]> | undefined>;
}): OperationTable {
  const { metrics } = deps;

  /** Period aggregates of a metric: the store's, or a training job's series. */
  const aggregates = async (
    id: MetricId,
    startMs: number,
    endMs: number,
    period: number,
  ): Promise<Map<number, Aggregate>> => {
    if (id.namespace !== TRAINING_NAMESPACE) return metrics.store.query(id, startMs, endMs, period);
    const out = new Map<number, Aggregate>();
    const host = id.dimensions.Host;
    if (!host || !deps.trainingSeries || Object.keys(id.dimensions).length !== 1) return out;
    const series =
      (await deps.trainingSeries(host.replace(/\/algo-\d+$/, '')))?.[id.metricName] ?? [];
    const periodMs = period * 1000;
    for (const p of series) {
      if (p.timestampMs < startMs || p.timestampMs >= endMs) continue;
      const b = Math.floor(p.timestampMs / periodMs) * periodMs;
      const a = out.get(b);
      out.set(
        b,
        a
          ? {
              sampleCount: a.sampleCount + 1,
              sum: a.sum + p.value,
              minimum: Math.min(a.minimum, p.value),
              maximum: Math.max(a.maximum, p.value),
            }
          : { sampleCount: 1, sum: p.value, minimum: p.value, maximum: p.value },
      );
    }
    return out;
  };

  const timeRange = (start: number | string, end: number | string, period: number) => {
    const startMs = toMs(start);
    const endMs = toMs(end);
    if (!(startMs < endMs))
      throw cloudWatchError(
        'InvalidParameterValueException',
        'The parameter StartTime must be less than the parameter EndTime.',
      );
    const n = Math.ceil((endMs - startMs) / (period * 1000));
    if (n > MAX_DATAPOINTS) {
      throw cloudWatchError(
        'InvalidParameterCombinationException',
        `You have requested up to ${n} datapoints, which exceeds the limit of ${MAX_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, or decreasing the time range.`,
      );
    }
    return { startMs, endMs };
  };

  const ruleFrom = (input: PutMetricAlarmInput): AlarmRule => {
    if (input.Metrics !== undefined) {
      throw cloudWatchError(
        'InvalidParameterValueException',
        'Apiary evaluates alarms on one metric (MetricName, Namespace, Dimensions); metric math alarms (Metrics) are not supported.',
      );
    }
    if (input.MetricName === undefined)
      throw cloudWatchError(
        'MissingRequiredParameterException',
        'The parameter MetricName is required.',
      );
    if (input.Namespace === undefined)
      throw cloudWatchError(
        'MissingRequiredParameterException',
        'The parameter Namespace is required.',
      );
    if (input.ExtendedStatistic !== undefined) {
      throw cloudWatchError(
        'InvalidParameterValueException',
        `ExtendedStatistic '${input.ExtendedStatistic}' is not supported by Apiary; use Statistic (SampleCount, Average, Sum, Minimum or Maximum).`,
      );
    }
    if (input.Statistic === undefined)
      throw cloudWatchError(
        'MissingRequiredParameterException',
        'The parameter Statistic is required.',
      );
    if (!(Statistics as readonly string[]).includes(input.Statistic)) {
      throw cloudWatchError(
        'InvalidParameterValueException',
        `Statistic '${input.Statistic}' is not valid; use one of ${Statistics.join(', ')}.`,
      );
    }
    const periodSeconds = checkPeriod(input.Period);
    if (input.EvaluationPeriods < 1)
      throw cloudWatchError(
        'InvalidParameterValueException',
        'The parameter EvaluationPeriods must be at least 1.',
      );
    if (periodSeconds * input.EvaluationPeriods > 7 * 24 * 3600) {
      throw cloudWatchError(
        'InvalidParameterCombinationException',
        'Period * EvaluationPeriods must not exceed 604800 seconds (7 days).',
      );
    }
    const datapointsToAlarm = input.DatapointsToAlarm ?? input.EvaluationPeriods;
    if (datapointsToAlarm < 1 || datapointsToAlarm > input.EvaluationPeriods) {
      throw cloudWatchError(
        'InvalidParameterValueException',
        `DatapointsToAlarm (${datapointsToAlarm}) must be between 1 and EvaluationPeriods (${input.EvaluationPeriods}).`,
      );
    }
    if (!(ComparisonOperators as readonly string[]).includes(input.ComparisonOperator)) {
      throw cloudWatchError(
        'InvalidParameterValueException',
        `ComparisonOperator '${input.ComparisonOperator}' is not supported by Apiary; use one of ${ComparisonOperators.join(', ')} (anomaly detection bands are not available).`,
      );
    }
    if (input.Threshold === undefined)
      throw cloudWatchError(
        'MissingRequiredParameterException',
        'The parameter Threshold is required.',
      );
    const treat = input.TreatMissingData ?? 'missing';
    if (!(TreatMissingDataValues as readonly string[]).includes(treat)) {
      throw cloudWatchError(
        'InvalidParameterValueException',
        `TreatMissingData '${treat}' is not valid; use one of ${TreatMissingDataValues.join(', ')}.`,
      );
    }
    return {
      namespace: input.Namespace,
      metricName: input.MetricName,
      dimensions: dimensionsFrom(input.Dimensions),
      statistic: input.Statistic as Statistic,
      periodSeconds,
      evaluationPeriods: input.EvaluationPeriods,
      datapointsToAlarm,
      threshold: input.Threshold,
      comparisonOperator: input.ComparisonOperator as AlarmRule['comparisonOperator'],
      treatMissingData: treat as AlarmRule['treatMissingData'],
    };
  };

  const describeAlarm = (a: AlarmRecord) => ({
    AlarmName: a.name,
    AlarmArn: a.arn,
    ...(a.extra.AlarmDescription !== undefined
      ? { AlarmDescription: a.extra.AlarmDescription }
      : {}),
    AlarmConfigurationUpdatedTimestamp: toSeconds(a.configurationUpdatedMs),
    ActionsEnabled: a.extra.ActionsEnabled ?? true,
    OKActions: a.extra.OKActions ?? [],
    AlarmActions: a.extra.AlarmActions ?? [],
    InsufficientDataActions: a.extra.InsufficientDataActions ?? [],
    StateValue: a.state,
    StateReason: a.stateReason,
    ...(a.stateReasonData ? { StateReasonData: a.stateReasonData } : {}),
    StateUpdatedTimestamp: toSeconds(a.stateUpdatedMs),
    StateTransitionedTimestamp: toSeconds(a.stateUpdatedMs),
    MetricName: a.rule.metricName,
    Namespace: a.rule.namespace,
    Statistic: a.rule.statistic,
    Dimensions: dimensionsTo(a.rule.dimensions),
    Period: a.rule.periodSeconds,
    ...(a.extra.Unit !== undefined ? { Unit: a.extra.Unit } : {}),
    EvaluationPeriods: a.rule.evaluationPeriods,
    DatapointsToAlarm: a.rule.datapointsToAlarm,
    Threshold: a.rule.threshold,
    ComparisonOperator: a.rule.comparisonOperator,
    TreatMissingData: a.rule.treatMissingData,
  });

  const page = <T>(items: readonly T[], token: string | undefined, max: number) => {
    const from = offsetFrom(token);
    const slice = items.slice(from, from + max);
    return { slice, next: from + max < items.length ? offsetToken(from + max) : undefined };
  };

  return {
    async GetMetricStatistics(input: {
      Namespace: string;
      MetricName: string;
      Dimensions?: WireDimension[];
      StartTime: number | string;
      EndTime: number | string;
      Period: number;
      Statistics?: string[];
      ExtendedStatistics?: string[];
      Unit?: string;
    }) {
      if (input.ExtendedStatistics?.length) {
        throw cloudWatchError(
          'InvalidParameterValueException',
          'ExtendedStatistics (percentiles) are not available in Apiary; use Statistics (SampleCount, Average, Sum, Minimum, Maximum).',
        );
      }
      if (!input.Statistics?.length)
        throw cloudWatchError(
          'MissingRequiredParameterException',
          'The parameter Statistics or ExtendedStatistics is required.',
        );
      for (const s of input.Statistics) {
        if (!(Statistics as readonly string[]).includes(s))
          throw cloudWatchError(
            'InvalidParameterValueException',
            `The parameter Statistics.member.1 '${s}' is not valid; use ${Statistics.join(', ')}.`,
          );
      }
      const period = checkPeriod(input.Period);
      const { startMs, endMs } = timeRange(input.StartTime, input.EndTime, period);
      const id = {
        namespace: input.Namespace,
        metricName: input.MetricName,
        dimensions: dimensionsFrom(input.Dimensions),
      };
      const buckets = await aggregates(id, startMs, endMs, period);
      const unit = id.namespace === TRAINING_NAMESPACE ? 'None' : unitOf(id.metricName);
      return {
        Label: input.MetricName,
        Datapoints: [...buckets.entries()]
          .sort(([a], [b]) => a - b)
          .map(([t, agg]) => ({
            Timestamp: toSeconds(t),
            ...Object.fromEntries(
              input.Statistics!.map((s) => [s, statisticOf(agg, s as Statistic)]),
            ),
            Unit: unit,
          })),
      };
    },

    async GetMetricData(input: {
      MetricDataQueries: {
        Id: string;
        MetricStat?: {
          Metric: { Namespace?: string; MetricName?: string; Dimensions?: WireDimension[] };
          Period: number;
          Stat: string;
        };
        Expression?: string;
        Label?: string;
        ReturnData?: boolean;
        Period?: number;
      }[];
      StartTime: number | string;
      EndTime: number | string;
      ScanBy?: 'TimestampDescending' | 'TimestampAscending';
      MaxDatapoints?: number;
      NextToken?: string;
    }) {
      if (input.NextToken !== undefined) offsetFrom(input.NextToken);
      const results = [];
      for (const q of input.MetricDataQueries) {
        if (q.Expression !== undefined || !q.MetricStat) {
          throw cloudWatchError(
            'InvalidParameterValueException',
            `MetricDataQueries '${q.Id}': Apiary answers MetricStat queries; metric math (Expression) is not supported.`,
          );
        }
        const m = q.MetricStat.Metric;
        if (!m.Namespace || !m.MetricName)
          throw cloudWatchError(
            'MissingRequiredParameterException',
            `MetricDataQueries '${q.Id}': MetricStat.Metric needs Namespace and MetricName.`,
          );
        if (!(Statistics as readonly string[]).includes(q.MetricStat.Stat)) {
          throw cloudWatchError(
            'InvalidParameterValueException',
            `MetricDataQueries '${q.Id}': Stat '${q.MetricStat.Stat}' is not available in Apiary; use ${Statistics.join(', ')}.`,
          );
        }
        const period = checkPeriod(q.MetricStat.Period, 'MetricStat.Period');
        const { startMs, endMs } = timeRange(input.StartTime, input.EndTime, period);
        const buckets = await aggregates(
          {
            namespace: m.Namespace,
            metricName: m.MetricName,
            dimensions: dimensionsFrom(m.Dimensions),
          },
          startMs,
          endMs,
          period,
        );
        const points = [...buckets.entries()].sort(([a], [b]) =>
          input.ScanBy === 'TimestampAscending' ? a - b : b - a,
        );
        if (q.ReturnData === false) continue;
        results.push({
          Id: q.Id,
          Label: q.Label ?? m.MetricName,
          Timestamps: points.map(([t]) => toSeconds(t)),
          Values: points.map(([, a]) => statisticOf(a, q.MetricStat!.Stat as Statistic)),
          StatusCode: 'Complete',
        });
      }
      return { MetricDataResults: results, Messages: [] };
    },

    async ListMetrics(input: {
      Namespace?: string;
      MetricName?: string;
      Dimensions?: { Name: string; Value?: string }[];
      NextToken?: string;
    }) {
      const all = await metrics.store.list(
        {
          namespace: input.Namespace,
          metricName: input.MetricName,
          dimensions: (input.Dimensions ?? []).map((d) => ({ name: d.Name, value: d.Value })),
        },
        Date.now() - LIST_WINDOW_MS,
      );
      const { slice, next } = page(all, input.NextToken, 500);
      return {
        Metrics: slice.map((m) => ({
          Namespace: m.namespace,
          MetricName: m.metricName,
          Dimensions: dimensionsTo(m.dimensions),
        })),
        ...(next ? { NextToken: next } : {}),
      };
    },

    async PutMetricData(input: {
      Namespace: string;
      MetricData: {
        MetricName: string;
        Dimensions?: WireDimension[];
        Timestamp?: number;
        Value?: number;
        Values?: number[];
        Counts?: number[];
      }[];
    }) {
      if (input.Namespace.startsWith('AWS/')) {
        throw cloudWatchError(
          'InvalidParameterValueException',
          `The value ${input.Namespace} for parameter Namespace is invalid: namespaces starting with AWS/ are reserved.`,
        );
      }
      for (const d of input.MetricData) {
        const id = {
          namespace: input.Namespace,
          metricName: d.MetricName,
          dimensions: dimensionsFrom(d.Dimensions),
        };
        const values = d.Values ?? (d.Value !== undefined ? [d.Value] : []);
        values.forEach((v, i) => {
          for (let k = 0; k < (d.Counts?.[i] ?? 1); k++) metrics.store.record(id, v);
        });
      }
      await metrics.store.flush();
      return {};
    },

    async PutMetricAlarm(input: PutMetricAlarmInput) {
      const rule = ruleFrom(input);
      if (
        !(await metrics.alarms.find(input.AlarmName)) &&
        (await metrics.alarms.list()).length >= MAX_ALARMS
      ) {
        throw cloudWatchError(
          'LimitExceededFault',
          `Apiary keeps at most ${MAX_ALARMS} alarms; delete some first.`,
        );
      }
      const {
        AlarmDescription,
        ActionsEnabled,
        OKActions,
        AlarmActions,
        InsufficientDataActions,
        Unit,
      } = input;
      await metrics.alarms.put(input.AlarmName, rule, {
        AlarmDescription,
        ActionsEnabled,
        OKActions,
        AlarmActions,
        InsufficientDataActions,
        Unit,
      });
      return {};
    },

    async DescribeAlarms(input: {
      AlarmNames?: string[];
      AlarmNamePrefix?: string;
      StateValue?: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
      MaxRecords?: number;
      NextToken?: string;
      AlarmTypes?: string[];
    }) {
      if (input.AlarmNames?.length && input.AlarmNamePrefix !== undefined) {
        throw cloudWatchError(
          'InvalidParameterCombinationException',
          'AlarmNames and AlarmNamePrefix cannot be used together.',
        );
      }
      const wantMetric = !input.AlarmTypes || input.AlarmTypes.includes('MetricAlarm');
      const all = wantMetric
        ? await metrics.alarms.list({
            names: input.AlarmNames,
            prefix: input.AlarmNamePrefix,
            state: input.StateValue,
          })
        : [];
      const { slice, next } = page(all, input.NextToken, input.MaxRecords ?? 50);
      return {
        MetricAlarms: slice.map(describeAlarm),
        CompositeAlarms: [],
        ...(next ? { NextToken: next } : {}),
      };
    },

    async DescribeAlarmsForMetric(input: {
      MetricName: string;
      Namespace: string;
      Dimensions?: WireDimension[];
      Statistic?: string;
      Period?: number;
    }) {
      const dims = dimensionsKey(dimensionsFrom(input.Dimensions));
      const all = await metrics.alarms.list();
      return {
        MetricAlarms: all
          .filter(
            (a) => a.rule.metricName === input.MetricName && a.rule.namespace === input.Namespace,
          )
          .filter(
            (a) => input.Dimensions === undefined || dimensionsKey(a.rule.dimensions) === dims,
          )
          .filter((a) => input.Statistic === undefined || a.rule.statistic === input.Statistic)
          .filter((a) => input.Period === undefined || a.rule.periodSeconds === input.Period)
          .map(describeAlarm),
      };
    },

    async DeleteAlarms(input: { AlarmNames: string[] }) {
      const existing = new Set(
        (await metrics.alarms.list({ names: input.AlarmNames })).map((a) => a.name),
      );
      const missing = input.AlarmNames.filter((n) => !existing.has(n));
      if (missing.length > 0)
        throw cloudWatchError(
          'ResourceNotFound',
          `${missing.length} of the alarms to delete do not exist: ${missing.join(', ')}; none was deleted.`,
        );
      await metrics.alarms.delete(input.AlarmNames);
      return {};
    },

    async SetAlarmState(input: {
      AlarmName: string;
      StateValue: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
      StateReason: string;
      StateReasonData?: string;
    }) {
      if (!(await metrics.alarms.find(input.AlarmName)))
        throw cloudWatchError('ResourceNotFound', `Alarm ${input.AlarmName} not found`);
      if (input.StateReasonData !== undefined) {
        try {
          JSON.parse(input.StateReasonData);
        } catch {
          throw cloudWatchError('InvalidFormatFault', 'StateReasonData is not valid JSON.');
        }
      }
      await metrics.alarms.setState(
        input.AlarmName,
        input.StateValue,
        input.StateReason,
        input.StateReasonData,
        true,
      );
      return {};
    },

    async DescribeAlarmHistory(input: {
      AlarmName?: string;
      HistoryItemType?: string;
      StartDate?: number | string;
      EndDate?: number | string;
      MaxRecords?: number;
      NextToken?: string;
      ScanBy?: 'TimestampDescending' | 'TimestampAscending';
    }) {
      const from = offsetFrom(input.NextToken);
      const max = input.MaxRecords ?? 100;
      const items = await metrics.alarms.history({
        name: input.AlarmName,
        type: input.HistoryItemType,
        startMs: input.StartDate === undefined ? undefined : toMs(input.StartDate),
        endMs: input.EndDate === undefined ? undefined : toMs(input.EndDate),
        max: from + max + 1,
        oldestFirst: input.ScanBy === 'TimestampAscending',
      });
      const slice = items.slice(from, from + max);
      return {
        AlarmHistoryItems: slice.map((h) => ({
          AlarmName: h.alarmName,
          AlarmType: 'MetricAlarm',
          Timestamp: toSeconds(h.timestampMs),
          HistoryItemType: h.itemType,
          HistorySummary: h.summary,
          HistoryData: h.data,
        })),
        ...(items.length > from + max ? { NextToken: offsetToken(from + max) } : {}),
      };
    },
  };
}

interface PutMetricAlarmInput {
  AlarmName: string;
  AlarmDescription?: string;
  ActionsEnabled?: boolean;
  OKActions?: string[];
  AlarmActions?: string[];
  InsufficientDataActions?: string[];
  MetricName?: string;
  Namespace?: string;
  Statistic?: string;
  ExtendedStatistic?: string;
  Dimensions?: WireDimension[];
  Period?: number;
  Unit?: string;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  Threshold?: number;
  ComparisonOperator: string;
  TreatMissingData?: string;
  Metrics?: unknown[];
}
