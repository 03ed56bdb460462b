import { Counter, Histogram, Registry } from 'prom-client';

interface Counts {
  invocations: number;
  errors4xx: number;
  errors5xx: number;
}

/** Latency of the recent successful invocations of one variant, in milliseconds. */
export interface RecentLatency {
  /** Invocations the figures are computed from (at most {@link RECENT_SAMPLES}, within {@link RECENT_WINDOW_MS}). */
  readonly samples: number;
  readonly windowSeconds: number;
  /** Whole request, from arrival at the HTTP edge to the answer (ModelLatency + OverheadLatency). */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** Median time in the model alone. */
  readonly modelP50Ms: number;
}

/** Invocation counters of one variant over the metrics window, with per-instance counts and latency percentiles. */
export interface VariantCounts extends Counts {
  instances: Record<string, Counts>;
  /** Absent until the variant answered an invocation in the window. */
  latency?: RecentLatency;
  /** ISO time of the last invocation routed to the variant (answered or failed), if any. */
  lastInvocationTime?: string;
}

/** The latency window: the last RECENT_SAMPLES invocations, none older than RECENT_WINDOW_MS. */
export const RECENT_SAMPLES = 2048;
export const RECENT_WINDOW_MS = 5 * 60_000;

interface Recent {
  at: number[];
  totalUs: number[];
  modelUs: number[];
  next: number;
  last?: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * SageMaker's per-variant invocation metrics, in Prometheus form (one registry per server, so
 * several servers in one process stay apart). Latencies are in microseconds, as CloudWatch's.
 * `instance` is the instance id (`<variant>-<n>`); errors are counted per variant.
 */
export class ServingMetrics {
  readonly registry = new Registry();
  readonly invocations = new Counter({
    name: 'apiary_endpoint_invocations_total',
    help: 'InvokeEndpoint requests answered by a model instance (SageMaker Invocations)',
    labelNames: ['endpoint', 'variant', 'instance'] as const,
    registers: [this.registry],
  });
  readonly errors4xx = new Counter({
    name: 'apiary_endpoint_invocation_4xx_errors_total',
    help: 'InvokeEndpoint requests that ended in a 4xx answer (SageMaker Invocation4XXErrors); instance "none" when no instance was reached',
    labelNames: ['endpoint', 'variant', 'instance'] as const,
    registers: [this.registry],
  });
  readonly errors5xx = new Counter({
    name: 'apiary_endpoint_invocation_5xx_errors_total',
    help: 'InvokeEndpoint requests that ended in a 5xx answer (SageMaker Invocation5XXErrors); instance "none" when no instance was reached',
    labelNames: ['endpoint', 'variant', 'instance'] as const,
    registers: [this.registry],
  });
  readonly modelErrors = new Counter({
    name: 'apiary_endpoint_invocation_model_errors_total',
    help: 'InvokeEndpoint requests where the model failed (SageMaker InvocationModelErrors)',
    labelNames: ['endpoint', 'variant', 'instance'] as const,
    registers: [this.registry],
  });
  readonly modelLatency = new Histogram({
    name: 'apiary_endpoint_model_latency_microseconds',
    help: 'Time the model took to answer, per instance (SageMaker ModelLatency)',
    labelNames: ['endpoint', 'variant', 'instance'] as const,
    buckets: [1e3, 2.5e3, 5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6, 1e7, 6e7],
    registers: [this.registry],
  });
  readonly overheadLatency = new Histogram({
    name: 'apiary_endpoint_overhead_latency_microseconds',
    help: 'Time Apiary added around the model: decoding, queueing, encoding (SageMaker OverheadLatency)',
    labelNames: ['endpoint', 'variant', 'instance'] as const,
    buckets: [100, 250, 500, 1e3, 2.5e3, 5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 1e6, 1e7],
    registers: [this.registry],
  });

  /** Recent invocations per `endpoint\0variant` (for latency percentiles; the histograms above are cumulative). */
  private readonly recent = new Map<string, Recent>();

  constructor(private readonly now: () => number = Date.now) {}

  private recentOf(endpoint: string, variant: string): Recent {
    const key = `${endpoint}\0${variant}`;
    let r = this.recent.get(key);
    if (!r) this.recent.set(key, (r = { at: [], totalUs: [], modelUs: [], next: 0 }));
    return r;
  }

  /** Notes an answered invocation: its whole latency and the model's share (microseconds). */
  recordAnswered(endpoint: string, variant: string, totalUs: number, modelUs: number): void {
    const r = this.recentOf(endpoint, variant);
    const at = this.now();
    r.last = at;
    const i = r.next;
    r.at[i] = at;
    r.totalUs[i] = totalUs;
    r.modelUs[i] = modelUs;
    r.next = (i + 1) % RECENT_SAMPLES;
  }

  /** Notes an invocation that failed (it counts as activity, not as a latency sample). */
  recordFailed(endpoint: string, variant: string): void {
    this.recentOf(endpoint, variant).last = this.now();
  }

  private recentSummary(
    endpoint: string,
    variant: string,
  ): Pick<VariantCounts, 'latency' | 'lastInvocationTime'> {
    const r = this.recent.get(`${endpoint}\0${variant}`);
    if (!r) return {};
    const since = this.now() - RECENT_WINDOW_MS;
    const total: number[] = [];
    const model: number[] = [];
    for (let i = 0; i < r.at.length; i++) {
      if (r.at[i]! < since) continue;
      total.push(r.totalUs[i]! / 1000);
      model.push(r.modelUs[i]! / 1000);
    }
    const out: Pick<VariantCounts, 'latency' | 'lastInvocationTime'> =
      r.last === undefined ? {} : { lastInvocationTime: new Date(r.last).toISOString() };
    if (total.length === 0) return out;
    total.sort((a, b) => a - b);
    model.sort((a, b) => a - b);
    const round = (ms: number) => Math.round(ms * 100) / 100;
    return {
      ...out,
      latency: {
        samples: total.length,
        windowSeconds: RECENT_WINDOW_MS / 1000,
        p50Ms: round(quantile(total, 0.5)),
        p90Ms: round(quantile(total, 0.9)),
        p99Ms: round(quantile(total, 0.99)),
        meanMs: round(total.reduce((a, b) => a + b, 0) / total.length),
        modelP50Ms: round(quantile(model, 0.5)),
      },
    };
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Invocation and error counts by variant and instance since the server started, with the recent
   * latency percentiles and the last invocation, for the console API. `variants` names variants
   * to include even before their first invocation.
   */
  async summary(
    endpoint: string,
    variants: readonly string[] = [],
  ): Promise<Record<string, VariantCounts>> {
    const out: Record<string, VariantCounts> = {};
    for (const v of variants)
      out[v] = { invocations: 0, errors4xx: 0, errors5xx: 0, instances: {} };
    const add = async (c: Counter<string>, field: 'invocations' | 'errors4xx' | 'errors5xx') => {
      for (const v of (await c.get()).values) {
        if (v.labels.endpoint !== endpoint) continue;
        const variant = (out[String(v.labels.variant)] ??= {
          invocations: 0,
          errors4xx: 0,
          errors5xx: 0,
          instances: {},
        });
        variant[field] += v.value;
        const id = String(v.labels.instance ?? 'none');
        if (id === 'none') continue;
        const inst = (variant.instances[id] ??= { invocations: 0, errors4xx: 0, errors5xx: 0 });
        inst[field] += v.value;
      }
    };
    await add(this.invocations, 'invocations');
    await add(this.errors4xx, 'errors4xx');
    await add(this.errors5xx, 'errors5xx');
    for (const [variant, counts] of Object.entries(out))
      Object.assign(counts, this.recentSummary(endpoint, variant));
    return out;
  }

  /** Forgets an endpoint's series once it is deleted. */
  async forget(endpoint: string): Promise<void> {
    for (const key of this.recent.keys())
      if (key.startsWith(`${endpoint}\0`)) this.recent.delete(key);
    for (const m of [
      this.invocations,
      this.errors4xx,
      this.errors5xx,
      this.modelErrors,
      this.modelLatency,
      this.overheadLatency,
    ]) {
      const metric = m as unknown as Counter<string>;
      for (const v of (await metric.get()).values) {
        if (v.labels.endpoint !== endpoint) continue;
        const { le: _le, ...labels } = v.labels as Record<string, string | number>;
        metric.remove(labels);
      }
    }
  }
}
