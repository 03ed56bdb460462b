import type { ServingManager } from './runtime/serving.js';
import type { VariantCounts } from './runtime/metrics.js';
import type { VariantUsage } from './runtime/variant-server.js';
import type { ShadowComparison } from './shadow.js';

/** One serving endpoint's footprint, for the console's endpoint list. */
export interface EndpointUsage {
  readonly EndpointName: string;
  readonly Variants: number;
  readonly Instances: number;
  readonly MemoryBytes: number;
  /** ONNX Runtime threads of the built-in instances (bring-your-own processes are not counted). */
  readonly Threads: number;
  /** Answered invocations since the server started. */
  readonly Invocations: number;
  readonly LastInvocationTime?: string;
}

/**
 * Per variant of a serving endpoint: invocation/error counts per instance since start, recent
 * latency percentiles, the last invocation, what its running instances hold, and its shadow
 * comparison (the console's endpoint view).
 */
export async function variantMetrics(
  serving: ServingManager,
  endpoint: string,
): Promise<Record<string, VariantCounts & { usage?: VariantUsage; shadow?: ShadowComparison }>> {
  const fleet = serving.fleet(endpoint);
  const usage = new Map(fleet?.variants.map((v) => [v.name, v.server.usage()]) ?? []);
  const counts = await serving.metrics.summary(endpoint, [...usage.keys()]);
  const shadows = new Map(serving.shadows.compare(endpoint).map((s) => [s.shadowVariant, s]));
  return Object.fromEntries(
    Object.entries(counts).map(([variant, c]) => [
      variant,
      { ...c, usage: usage.get(variant), shadow: shadows.get(variant) },
    ]),
  );
}

/**
 * What every serving endpoint holds (instances, memory, threads) and when it was last invoked,
 * so idle endpoints stand out in the console.
 */
export async function servingUsage(serving: ServingManager): Promise<EndpointUsage[]> {
  const out: EndpointUsage[] = [];
  for (const fleet of serving.fleets()) {
    const counts = await serving.metrics.summary(fleet.endpoint);
    let instances = 0;
    let memoryBytes = 0;
    let threads = 0;
    let lastInvocation: string | undefined;
    for (const v of fleet.variants) {
      const u = v.server.usage();
      instances += u.instances.length;
      for (const i of u.instances) {
        memoryBytes += i.memoryBytes;
        threads += i.threads ?? 0;
      }
      const last = counts[v.name]?.lastInvocationTime;
      if (last && (!lastInvocation || last > lastInvocation)) lastInvocation = last;
    }
    const invocations = Object.values(counts).reduce((n, c) => n + c.invocations, 0);
    out.push({
      EndpointName: fleet.endpoint,
      Variants: fleet.variants.length,
      Instances: instances,
      MemoryBytes: memoryBytes,
      Threads: threads,
      Invocations: invocations,
      LastInvocationTime: lastInvocation,
    });
  }
  return out.sort((a, b) => a.EndpointName.localeCompare(b.EndpointName));
}
