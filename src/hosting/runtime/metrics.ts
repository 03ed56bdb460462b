import { Counter, Histogram, Registry } from 'prom-client';

interface Counts {
  invocations: number;
  errors4xx: number;
  errors5xx: number;
}

export interface VariantCounts extends Counts {
  instances: Record<string, Counts>;
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

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Invocation and error counts by variant and instance, for the console API. */
  async summary(endpoint: string): Promise<Record<string, VariantCounts>> {
    const out: Record<string, VariantCounts> = {};
    const add = async (c: Counter<string>, field: 'invocations' | 'errors4xx' | 'errors5xx') => {
      for (const v of (await c.get()).values) {
        if (v.labels.endpoint !== endpoint) continue;
        const variant = (out[String(v.labels.variant)] ??= { invocations: 0, errors4xx: 0, errors5xx: 0, instances: {} });
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
    return out;
  }

  /** Forgets an endpoint's series once it is deleted. */
  async forget(endpoint: string): Promise<void> {
    for (const m of [this.invocations, this.errors4xx, this.errors5xx, this.modelErrors, this.modelLatency, this.overheadLatency]) {
      const metric = m as unknown as Counter<string>;
      for (const v of (await metric.get()).values) {
        if (v.labels.endpoint !== endpoint) continue;
        const { le: _le, ...labels } = v.labels as Record<string, string | number>;
        metric.remove(labels);
      }
    }
  }
}
