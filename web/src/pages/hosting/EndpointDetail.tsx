import { useMemo, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import Link from '@cloudscape-design/components/link';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Table from '@cloudscape-design/components/table';
import Alert from '@cloudscape-design/components/alert';
import { sagemaker } from '../../app/api.js';
import { useLiveOne } from '../../app/live.js';
import { useFlash } from '../../app/flash.js';
import { followHandler, href, type PageProps } from '../../app/router.js';
import ResourceDetail, { Details } from '../../components/ResourceDetail.js';
import StatusBadge from '../../components/StatusBadge.js';
import TestInvocation from '../../components/TestInvocation.js';
import { formatAgo, formatBytes, formatTime, text } from '../../lib/format.js';
import { EndpointCloudWatch, EndpointDeployments } from './EndpointDeployments.js';
import { EndpointExtras, type ExtraVariantMetrics } from './EndpointExtras.js';
import { useNow } from '../../app/useNow.js';

type Variant = Record<string, unknown>;

function Variants({
  endpoint,
  variants,
  editable,
}: {
  endpoint: string;
  variants: Variant[];
  editable: boolean;
}) {
  const flash = useFlash();
  const [editing, setEditing] = useState(false);
  const [weights, setWeights] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const total = variants.reduce((s, v) => s + (Number(v.CurrentWeight ?? v.DesiredWeight) || 0), 0);
  const save = async () => {
    setBusy(true);
    try {
      await sagemaker('UpdateEndpointWeightsAndCapacities', {
        EndpointName: endpoint,
        DesiredWeightsAndCapacities: variants.map((v) => ({
          VariantName: v.VariantName,
          DesiredWeight: Number(weights[String(v.VariantName)] ?? v.CurrentWeight),
        })),
      });
      flash.success(`Updating the weights of ${endpoint}.`);
      setEditing(false);
    } catch (err) {
      flash.error(err, 'Could not update the weights');
    } finally {
      setBusy(false);
    }
  };
  return (
    <Table<Variant>
      header={
        <Header
          variant="h2"
          description="Live: the page follows the endpoint as it changes."
          actions={
            editing ? (
              <SpaceBetween direction="horizontal" size="xs">
                <Button onClick={() => setEditing(false)}>Cancel</Button>
                <Button variant="primary" loading={busy} onClick={() => void save()}>
                  Save weights
                </Button>
              </SpaceBetween>
            ) : (
              <Button
                disabled={!editable || variants.length === 0}
                onClick={() => setEditing(true)}
              >
                Update weights
              </Button>
            )
          }
        >
          Production variants
        </Header>
      }
      items={variants}
      trackBy="VariantName"
      ariaLabels={{ tableLabel: 'Production variants' }}
      columnDefinitions={[
        { id: 'name', header: 'Variant', isRowHeader: true, cell: (v) => String(v.VariantName) },
        {
          id: 'status',
          header: 'Status',
          cell: (v) =>
            (v.VariantStatus as { Status?: string }[] | undefined)
              ?.map((s) => s.Status)
              .join(', ') || '-',
        },
        {
          id: 'instances',
          header: 'Instances (current / desired)',
          cell: (v) => `${text(v.CurrentInstanceCount)} / ${text(v.DesiredInstanceCount)}`,
        },
        {
          id: 'weight',
          header: 'Weight (current / desired)',
          cell: (v) =>
            editing ? (
              <Input
                type="number"
                ariaLabel={`New weight of ${String(v.VariantName)}`}
                value={weights[String(v.VariantName)] ?? text(v.CurrentWeight, '')}
                onChange={(e) =>
                  setWeights({ ...weights, [String(v.VariantName)]: e.detail.value })
                }
              />
            ) : (
              `${text(v.CurrentWeight)} / ${text(v.DesiredWeight)}`
            ),
        },
        {
          id: 'share',
          header: 'Traffic',
          cell: (v) =>
            total > 0
              ? `${Math.round(((Number(v.CurrentWeight ?? v.DesiredWeight) || 0) / total) * 100)}%`
              : '-',
        },
      ]}
      empty={<Box textAlign="center">No variants are deployed yet.</Box>}
    />
  );
}

interface Counts {
  invocations: number;
  errors4xx: number;
  errors5xx: number;
}

interface VariantMetrics extends Counts, Omit<ExtraVariantMetrics, 'usage'> {
  instances?: Record<string, Counts>;
  latency?: {
    samples: number;
    windowSeconds: number;
    p50Ms: number;
    p90Ms: number;
    p99Ms: number;
    meanMs: number;
    modelP50Ms: number;
  };
  lastInvocationTime?: string;
  usage?: {
    kind: 'onnx' | 'container';
    memory: 'process-rss' | 'rss-growth-at-load';
    instances: {
      id: string;
      memoryBytes: number;
      threads?: number;
      cpuSeconds?: number;
      pid?: number;
    }[];
  } & ExtraVariantMetrics['usage'];
}

const ms = (v: number | undefined) =>
  v === undefined ? '-' : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;

/** Live traffic, latency and footprint per variant and instance (what SageMaker's console graphs from CloudWatch). */
function Traffic({ endpoint }: { endpoint: string }) {
  const watch = useMemo(
    () => ({ op: 'ApiaryEndpointMetrics', input: { EndpointName: endpoint } }),
    [endpoint],
  );
  const value = useLiveOne<{ Variants: Record<string, VariantMetrics> }>(watch);
  const variants = Object.entries(value?.output?.Variants ?? {});
  const now = useNow();
  const rows = variants.flatMap(([variant, c]) => [
    { id: variant, what: `${variant}`, ...c, latency: c.latency, last: c.lastInvocationTime },
    ...Object.entries(c.instances ?? {}).map(([inst, ic]) => ({
      id: `${variant}/${inst}`,
      what: `${variant} · ${inst}`,
      ...ic,
      latency: undefined,
      last: undefined,
    })),
  ]);
  const footprint = variants.flatMap(([variant, c]) =>
    (c.usage?.instances ?? []).map((i) => ({
      ...i,
      variant,
      kind: c.usage!.kind,
      memory: c.usage!.memory,
    })),
  );
  return (
    <SpaceBetween size="l">
      <Table
        header={
          <Header
            variant="h2"
            description="Invocations and errors since the server started, per variant and instance; latency over the last 5 minutes (whole request, and the model alone). Live."
          >
            Traffic and latency
          </Header>
        }
        items={rows}
        trackBy="id"
        ariaLabels={{ tableLabel: 'Traffic and latency' }}
        columnDefinitions={[
          { id: 'what', header: 'Variant · instance', isRowHeader: true, cell: (r) => r.what },
          { id: 'inv', header: 'Invocations', cell: (r) => String(r.invocations) },
          { id: '4xx', header: '4xx errors', cell: (r) => String(r.errors4xx) },
          { id: '5xx', header: '5xx errors', cell: (r) => String(r.errors5xx) },
          { id: 'p50', header: 'p50 latency', cell: (r) => ms(r.latency?.p50Ms) },
          { id: 'p99', header: 'p99 latency', cell: (r) => ms(r.latency?.p99Ms) },
          { id: 'model', header: 'Model p50', cell: (r) => ms(r.latency?.modelP50Ms) },
          {
            id: 'last',
            header: 'Last invocation',
            cell: (r) => (r.id.includes('/') ? '' : formatAgo(r.last, now)),
          },
        ]}
        empty={
          <Box textAlign="center">
            {value?.error ? value.error.message : 'The endpoint is not serving.'}
          </Box>
        }
      />
      <Table
        header={
          <Header
            variant="h2"
            description="Memory and CPU the running instances hold, idle or not. Delete an endpoint you no longer use to free them."
          >
            Resources held
          </Header>
        }
        items={footprint}
        trackBy="id"
        ariaLabels={{ tableLabel: 'Resources held' }}
        columnDefinitions={[
          { id: 'inst', header: 'Instance', isRowHeader: true, cell: (r) => r.id },
          {
            id: 'kind',
            header: 'Runtime',
            cell: (r) =>
              r.kind === 'onnx'
                ? 'Built-in (ONNX Runtime)'
                : `Serving process${r.pid ? ` (pid ${r.pid})` : ''}`,
          },
          {
            id: 'mem',
            header: 'Memory',
            cell: (r) =>
              r.memory === 'process-rss'
                ? formatBytes(r.memoryBytes)
                : `≈ ${formatBytes(r.memoryBytes)} (growth at load)`,
          },
          {
            id: 'cpu',
            header: 'CPU',
            cell: (r) =>
              r.threads !== undefined
                ? `${r.threads} thread${r.threads === 1 ? '' : 's'}, no CPU when idle`
                : `${(r.cpuSeconds ?? 0).toFixed(1)} s used so far`,
          },
        ]}
        empty={<Box textAlign="center">No running instances.</Box>}
      />
      <EndpointExtras variants={variants} />
    </SpaceBetween>
  );
}

/** DescribeEndpoint's DataCaptureConfig summary. */
function CaptureDetails({ capture }: { capture: Record<string, unknown> }) {
  return (
    <Details
      title="Data capture"
      columns={4}
      items={[
        { label: 'Status', value: String(capture.CaptureStatus) },
        { label: 'Sampling', value: `${String(capture.CurrentSamplingPercentage)} %` },
        { label: 'Destination', value: String(capture.DestinationS3Uri) },
        { label: 'Layout', value: '{endpoint}/{variant}/yyyy/mm/dd/hh/*.jsonl' },
      ]}
    />
  );
}

export default function EndpointDetail({ params }: PageProps) {
  const name = params.name!;
  return (
    <ResourceDetail
      noun="endpoint"
      name={name}
      describeOp="DescribeEndpoint"
      input={{ EndpointName: name }}
      listPath="/endpoints"
      deleteOp="DeleteEndpoint"
      description={(d) => <StatusBadge status={d.EndpointStatus} />}
    >
      {(d) => (
        <>
          {typeof d.FailureReason === 'string' && (
            <Alert
              type={
                d.EndpointStatus === 'Failed' || d.EndpointStatus === 'UpdateRollbackFailed'
                  ? 'error'
                  : 'warning'
              }
              header={
                d.EndpointStatus === 'Failed'
                  ? 'The endpoint failed'
                  : 'The last update did not complete'
              }
            >
              {d.FailureReason}
            </Alert>
          )}
          <Details
            title="Endpoint settings"
            items={[
              { label: 'Status', value: <StatusBadge status={d.EndpointStatus} /> },
              { label: 'ARN', value: String(d.EndpointArn) },
              {
                label: 'Endpoint configuration',
                value: (
                  <Link
                    href={href(
                      `/endpoint-configs/${encodeURIComponent(String(d.EndpointConfigName))}`,
                    )}
                    onFollow={followHandler}
                  >
                    {String(d.EndpointConfigName)}
                  </Link>
                ),
              },
              { label: 'Creation time', value: formatTime(d.CreationTime) },
              { label: 'Last updated', value: formatTime(d.LastModifiedTime) },
              { label: 'Runtime URL', value: <code>/endpoints/{name}/invocations</code> },
            ]}
          />
          <Variants
            endpoint={name}
            variants={(d.ProductionVariants as Variant[] | undefined) ?? []}
            editable={d.EndpointStatus === 'InService'}
          />
          {d.DataCaptureConfig !== undefined && (
            <CaptureDetails capture={d.DataCaptureConfig as Record<string, unknown>} />
          )}
          <EndpointDeployments endpoint={name} />
          <Traffic endpoint={name} />
          <EndpointCloudWatch endpoint={name} />
          <TestInvocation endpointName={name} inService={d.EndpointStatus === 'InService'} />
        </>
      )}
    </ResourceDetail>
  );
}
