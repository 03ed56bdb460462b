import { useMemo } from 'react';
import Box from '@cloudscape-design/components/box';
import ColumnLayout from '@cloudscape-design/components/column-layout';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import BarChart from '@cloudscape-design/components/bar-chart';
import LineChart from '@cloudscape-design/components/line-chart';
import SpaceBetween from '@cloudscape-design/components/space-between';
import StatusIndicator from '@cloudscape-design/components/status-indicator';
import Table from '@cloudscape-design/components/table';
import { useLiveOne } from '../../app/live.js';
import { formatTime } from '../../lib/format.js';

interface TrafficPoint {
  atMs: number;
  newPercent: number;
  phase: string;
}

interface Deployment {
  id: string;
  configName: string;
  kind: string;
  startedAtMs: number;
  endedAtMs?: number;
  outcome: 'InProgress' | 'Completed' | 'RolledBack' | 'RollbackFailed' | 'Interrupted';
  reason?: string;
  timeline: TrafficPoint[];
  alarms: { name: string; state: string; reason: string }[];
}

const OUTCOME: Record<
  Deployment['outcome'],
  'in-progress' | 'success' | 'warning' | 'error' | 'stopped'
> = {
  InProgress: 'in-progress',
  Completed: 'success',
  RolledBack: 'warning',
  RollbackFailed: 'error',
  Interrupted: 'stopped',
};
const ALARM: Record<string, 'success' | 'error' | 'pending' | 'stopped'> = {
  OK: 'success',
  ALARM: 'error',
  INSUFFICIENT_DATA: 'pending',
};

/** Traffic per fleet over the deployment: a step line per fleet, in seconds since the shift began. */
function TrafficChart({ d }: { d: Deployment }) {
  const t0 = d.timeline[0]?.atMs ?? d.startedAtMs;
  // A running deployment's chart ends at its last change (the live stream redraws it as it moves).
  const sec = (ms: number) => Math.round((ms - t0) / 100) / 10;
  const end = Math.max(1, sec(d.endedAtMs ?? d.timeline.at(-1)?.atMs ?? t0));
  const steps = (f: (p: TrafficPoint) => number) => {
    const out: { x: number; y: number }[] = [];
    for (const p of d.timeline) {
      const x = sec(p.atMs);
      if (out.length > 0) out.push({ x, y: out.at(-1)!.y });
      out.push({ x, y: f(p) });
    }
    // A rollback sends everything back to the old fleet at the end.
    const last =
      d.outcome === 'RolledBack' || d.outcome === 'Interrupted'
        ? 0
        : (d.timeline.at(-1)?.newPercent ?? 0);
    if (out.length > 0)
      out.push(
        { x: end, y: out.at(-1)!.y },
        { x: end, y: f({ atMs: 0, phase: '', newPercent: last }) },
      );
    return out;
  };
  return (
    <LineChart
      series={[
        { title: 'New fleet', type: 'line', data: steps((p) => p.newPercent) },
        { title: 'Old fleet', type: 'line', data: steps((p) => 100 - p.newPercent) },
      ]}
      xDomain={[0, end]}
      yDomain={[0, 100]}
      xTitle="Seconds since the new fleet was ready"
      yTitle="% of traffic"
      ariaLabel="Traffic per fleet over the deployment"
      height={180}
      hideFilter
      xScaleType="linear"
      empty={<Box>The new fleet is starting.</Box>}
    />
  );
}

/** The endpoint's UpdateEndpoint deployments, live: traffic per fleet, alarm states, the outcome and its reason. */
export function EndpointDeployments({ endpoint }: { endpoint: string }) {
  const watch = useMemo(
    () => ({ op: 'ApiaryEndpointDeployments', input: { EndpointName: endpoint } }),
    [endpoint],
  );
  const value = useLiveOne<{ Deployments: Deployment[] }>(watch);
  const deployments = value?.output?.Deployments ?? [];
  const latest = deployments[0];
  return (
    <Container
      header={
        <Header
          variant="h2"
          description="Blue/green updates of this endpoint: the share of traffic each fleet got, the rollback alarms and how each update ended. Live."
        >
          Deployments
        </Header>
      }
    >
      {!latest ? (
        <Box color="text-body-secondary">
          {value?.error ? value.error.message : 'No update yet.'}
        </Box>
      ) : (
        <SpaceBetween size="m">
          <TrafficChart d={latest} />
          <Table
            variant="embedded"
            wrapLines
            items={deployments}
            trackBy="id"
            ariaLabels={{ tableLabel: 'Deployments' }}
            columnDefinitions={[
              {
                id: 'started',
                header: 'Started',
                isRowHeader: true,
                cell: (d) => formatTime(d.startedAtMs / 1000),
              },
              { id: 'config', header: 'To config', cell: (d) => d.configName },
              { id: 'kind', header: 'Traffic routing', cell: (d) => d.kind },
              {
                id: 'traffic',
                header: 'New fleet now',
                cell: (d) =>
                  d.outcome === 'InProgress'
                    ? `${d.timeline.at(-1)?.newPercent ?? 0}% (${d.timeline.at(-1)?.phase ?? 'starting'})`
                    : '-',
              },
              {
                id: 'outcome',
                header: 'Outcome',
                cell: (d) => (
                  <StatusIndicator type={OUTCOME[d.outcome]}>{d.outcome}</StatusIndicator>
                ),
              },
              {
                id: 'alarms',
                header: 'Rollback alarms',
                cell: (d) =>
                  d.alarms.length === 0 ? (
                    '-'
                  ) : (
                    <SpaceBetween size="xxs">
                      {d.alarms.map((a) => (
                        <StatusIndicator
                          key={a.name}
                          type={ALARM[a.state] ?? 'stopped'}
                        >{`${a.name}: ${a.state}`}</StatusIndicator>
                      ))}
                    </SpaceBetween>
                  ),
              },
              { id: 'reason', header: 'Reason', cell: (d) => d.reason ?? '-' },
            ]}
          />
        </SpaceBetween>
      )}
    </Container>
  );
}

const CHARTS: readonly [key: string, title: string, scale: number, unit: string][] = [
  ['Invocations:Sum', 'Invocations per minute', 1, 'requests'],
  ['Invocation5XXErrors:Sum', '5XX errors per minute', 1, 'errors'],
  ['Invocation4XXErrors:Sum', '4XX errors per minute', 1, 'errors'],
  ['ModelLatency:Average', 'Model latency (average)', 1 / 1000, 'ms'],
];

const MINUTES = 15;
const hhmm = (ms: number) => new Date(ms).toTimeString().slice(0, 5);

/** The endpoint's CloudWatch metrics (AWS/SageMaker, one bar per minute), one series per variant. */
export function EndpointCloudWatch({ endpoint }: { endpoint: string }) {
  const watch = useMemo(
    () => ({ op: 'ApiaryEndpointCloudWatch', input: { EndpointName: endpoint, Minutes: MINUTES } }),
    [endpoint],
  );
  const value = useLiveOne<{
    StartMs: number;
    Variants: Record<string, Record<string, { t: number; v: number }[]>>;
  }>(watch);
  const variants = Object.entries(value?.output?.Variants ?? {});
  const first = Math.floor((value?.output?.StartMs ?? 0) / 60_000) * 60_000 + 60_000;
  const minutes = Array.from({ length: MINUTES }, (_, i) => hhmm(first + i * 60_000));
  return (
    <Container
      header={
        <Header
          variant="h2"
          description={`The AWS/SageMaker metrics CloudWatch's GetMetricData answers for this endpoint, per minute over the last ${MINUTES} minutes, per variant.`}
        >
          CloudWatch metrics
        </Header>
      }
    >
      {variants.length === 0 ? (
        <Box color="text-body-secondary">
          {value?.error ? value.error.message : 'No datapoints yet: invoke the endpoint.'}
        </Box>
      ) : (
        <ColumnLayout columns={2}>
          {CHARTS.map(([key, title, scale, unit]) => (
            <BarChart
              key={key}
              series={variants.map(([variant, m]) => ({
                title: variant,
                type: 'bar' as const,
                data: (m[key] ?? [])
                  .filter((p) => p.t >= first)
                  .map((p) => ({ x: hhmm(p.t), y: p.v * scale })),
              }))}
              xDomain={minutes}
              xScaleType="categorical"
              xTitle="Minute"
              yTitle={unit}
              ariaLabel={title}
              height={160}
              hideFilter
              empty={<Box>No data</Box>}
              i18nStrings={{
                xTickFormatter: (x) => (minutes.indexOf(String(x)) % 5 === 4 ? String(x) : ''),
              }}
              legendTitle={title}
            />
          ))}
        </ColumnLayout>
      )}
    </Container>
  );
}
