import Box from '@cloudscape-design/components/box';
import Header from '@cloudscape-design/components/header';
import Table from '@cloudscape-design/components/table';
import { Details } from '../../components/ResourceDetail.js';
import { formatBytes, formatTime } from '../../lib/format.js';

/** What the console API adds for multi-model, serverless and shadow variants (src/hosting). */
export interface ExtraVariantMetrics {
  invocations: number;
  errors4xx: number;
  errors5xx: number;
  usage?: {
    models?: {
      targetModel: string;
      bytes: number;
      loadedAt: string;
      lastUsedAt: string;
      invocations: number;
      loadMs: number;
    }[];
    serverless?: {
      warm: boolean;
      memorySizeInMB: number;
      maxConcurrency: number;
      coldStarts: number;
      lastColdStartMs?: number;
      inFlight: number;
    };
  };
  shadow?: {
    shadowVariant: string;
    productionVariant: string;
    requests: number;
    shadowErrors: number;
    skipped: number;
    shadowLatencyMs: { p50?: number; p99?: number };
    productionLatencyMs: { p50?: number; p99?: number };
    compared: number;
    boxAgreement?: number;
    identical: number;
  };
}

const ms = (v: number | undefined) =>
  v === undefined ? '-' : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;

/** Loaded models (multi-model), scale-to-zero state (serverless) and shadow vs production. */
export function EndpointExtras({ variants }: { variants: [string, ExtraVariantMetrics][] }) {
  const models = variants.flatMap(([variant, c]) =>
    (c.usage?.models ?? []).map((m) => ({ ...m, variant })),
  );
  const multi = variants.some(([, c]) => c.usage?.models !== undefined);
  const serverless = variants.filter(([, c]) => c.usage?.serverless);
  const shadows = variants.flatMap(([, c]) => (c.shadow ? [c.shadow] : []));
  return (
    <>
      {multi && (
        <Table
          header={
            <Header
              variant="h2"
              description="Models of the multi-model prefix loaded now, least recently used first; the next one beyond the memory budget unloads the first."
            >
              Loaded models
            </Header>
          }
          items={models}
          trackBy="targetModel"
          ariaLabels={{ tableLabel: 'Loaded models' }}
          columnDefinitions={[
            { id: 'model', header: 'TargetModel', isRowHeader: true, cell: (m) => m.targetModel },
            { id: 'variant', header: 'Variant', cell: (m) => m.variant },
            { id: 'size', header: 'Size', cell: (m) => formatBytes(m.bytes) },
            { id: 'inv', header: 'Invocations', cell: (m) => String(m.invocations) },
            { id: 'load', header: 'Load time', cell: (m) => ms(m.loadMs) },
            {
              id: 'loaded',
              header: 'Loaded',
              cell: (m) => formatTime(Date.parse(m.loadedAt) / 1000),
            },
            {
              id: 'used',
              header: 'Last used',
              cell: (m) => formatTime(Date.parse(m.lastUsedAt) / 1000),
            },
          ]}
          empty={
            <Box textAlign="center">No model loaded yet: invoke with TargetModel to load one.</Box>
          }
        />
      )}
      {serverless.map(([variant, c]) => {
        const s = c.usage!.serverless!;
        return (
          <Details
            key={variant}
            title={`Serverless variant ${variant}`}
            columns={4}
            items={[
              { label: 'State', value: s.warm ? 'Warm (1 instance)' : 'Scaled to zero' },
              {
                label: 'Memory / max concurrency',
                value: `${s.memorySizeInMB} MB / ${s.maxConcurrency}`,
              },
              { label: 'Cold starts', value: String(s.coldStarts) },
              { label: 'Last cold start', value: ms(s.lastColdStartMs) },
            ]}
          />
        );
      })}
      {shadows.length > 0 && (
        <Table
          header={
            <Header
              variant="h2"
              description="The shadow gets a copy of production's requests; its answers are discarded. Latency on the same requests, errors, and how far its boxes agree with production's (same label, IoU ≥ 0.5)."
            >
              Shadow vs production
            </Header>
          }
          items={shadows}
          trackBy="shadowVariant"
          ariaLabels={{ tableLabel: 'Shadow vs production' }}
          // Seven columns: cells wrap so the last ones stay in view at 1,400 px.
          wrapLines
          columnDefinitions={[
            {
              id: 'pair',
              header: 'Shadow · production',
              isRowHeader: true,
              cell: (s) => `${s.shadowVariant} · ${s.productionVariant}`,
            },
            {
              id: 'req',
              header: 'Copied requests',
              cell: (s) => String(s.requests) + (s.skipped ? ` (${s.skipped} skipped)` : ''),
            },
            { id: 'err', header: 'Shadow errors', cell: (s) => String(s.shadowErrors) },
            {
              id: 'p50',
              header: 'p50 shadow / production',
              cell: (s) => `${ms(s.shadowLatencyMs.p50)} / ${ms(s.productionLatencyMs.p50)}`,
            },
            {
              id: 'p99',
              header: 'p99 shadow / production',
              cell: (s) => `${ms(s.shadowLatencyMs.p99)} / ${ms(s.productionLatencyMs.p99)}`,
            },
            {
              id: 'agree',
              header: 'Box agreement',
              cell: (s) =>
                s.boxAgreement === undefined
                  ? '-'
                  : `${(s.boxAgreement * 100).toFixed(1)} % of ${s.compared}`,
            },
            { id: 'same', header: 'Identical answers', cell: (s) => String(s.identical) },
          ]}
        />
      )}
    </>
  );
}
