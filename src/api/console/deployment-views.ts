import type { DeploymentRecord } from '../../hosting/index.js';
import {
  SAGEMAKER_NAMESPACE,
  statisticOf,
  type Metrics,
  type Statistic,
} from '../../metrics/index.js';

/** What the endpoint page shows of deployments: the history, with the rollback alarms' states now. */
export async function endpointDeploymentsView(
  log: { list(endpoint: string): Promise<DeploymentRecord[]> },
  metrics: Metrics | undefined,
  endpoint: string,
): Promise<{ Deployments: unknown[] }> {
  const deployments = (await log.list(endpoint)).slice(0, 5);
  const names = [...new Set(deployments.flatMap((d) => d.alarms))];
  const states = metrics
    ? await metrics.alarmStates(names)
    : new Map<string, { state: string; reason: string }>();
  return {
    Deployments: deployments.map((d) => ({
      ...d,
      alarms: d.alarms.map((name) => ({
        name,
        state: states.get(name)?.state ?? 'MISSING',
        reason: states.get(name)?.reason ?? 'No such alarm',
      })),
    })),
  };
}

const CHARTED: readonly [metric: string, stat: Statistic][] = [
  ['Invocations', 'Sum'],
  ['Invocation4XXErrors', 'Sum'],
  ['Invocation5XXErrors', 'Sum'],
  ['ModelLatency', 'Average'],
  ['OverheadLatency', 'Average'],
];

/**
 * The endpoint's CloudWatch metrics per variant over the last `minutes`, one point per minute:
 * the same datapoints GetMetricData answers (the SageMaker console's graphs).
 */
export async function endpointCloudWatchView(
  metrics: Metrics,
  endpoint: string,
  nowMs: number,
  minutes = 60,
) {
  const startMs = nowMs - minutes * 60_000;
  const series = await metrics.store.list(
    { namespace: SAGEMAKER_NAMESPACE, dimensions: [{ name: 'EndpointName', value: endpoint }] },
    startMs,
  );
  const variants = [
    ...new Set(
      series.map((s) => s.dimensions.VariantName).filter((v): v is string => v !== undefined),
    ),
  ].sort();
  const out: Record<string, Record<string, { t: number; v: number }[]>> = {};
  for (const variant of variants) {
    out[variant] = {};
    for (const [metricName, stat] of CHARTED) {
      const buckets = await metrics.store.query(
        {
          namespace: SAGEMAKER_NAMESPACE,
          metricName,
          dimensions: { EndpointName: endpoint, VariantName: variant },
        },
        startMs,
        nowMs + 60_000,
        60,
      );
      out[variant][`${metricName}:${stat}`] = [...buckets.entries()]
        .sort(([a], [b]) => a - b)
        .map(([t, a]) => ({ t, v: statisticOf(a, stat) }));
    }
  }
  return { PeriodSeconds: 60, StartMs: startMs, Variants: out };
}
