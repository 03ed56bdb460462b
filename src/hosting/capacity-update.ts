import type { EndpointRepository, VariantState } from './endpoints.js';
import { settledVariants } from './fleet-plans.js';
import type { ServingManager } from './runtime/serving.js';

/** What applying a weights-and-capacities update needs from the hosting context. */
export interface CapacityUpdateHost {
  readonly serving: ServingManager;
  readonly endpoints: EndpointRepository;
  /** The FailureReason of a failed scale-out. */
  readonly reasonOf: (e: unknown) => string;
}

/**
 * Applies UpdateEndpointWeightsAndCapacities' `target` (planned and recorded as Updating) to the
 * live fleet of `endpoint`, then records InService. Weights that shrink change first and weights
 * that grow last, with the scaling in between, so no request meets a variant without instances. A
 * failed scale-out puts back the old counts and weights and records InService with the reason.
 */
export async function applyWeightsAndCapacities(
  host: CapacityUpdateHost,
  endpoint: string,
  target: readonly VariantState[],
): Promise<void> {
  const { serving, endpoints } = host;
  for (const v of target)
    if (v.desiredWeight <= v.currentWeight)
      serving.setWeight(endpoint, v.variantName, v.desiredWeight);
  try {
    for (const v of target) {
      if (v.desiredInstanceCount !== v.currentInstanceCount)
        await serving.scale(endpoint, v.variantName, v.desiredInstanceCount);
    }
  } catch (e) {
    for (const v of target) {
      await serving.scale(endpoint, v.variantName, v.currentInstanceCount).catch(() => {});
      serving.setWeight(endpoint, v.variantName, v.currentWeight);
    }
    const rolledBack = target.map((v) => ({
      ...v,
      desiredWeight: v.currentWeight,
      desiredInstanceCount: v.currentInstanceCount,
    }));
    await endpoints.update(
      endpoint,
      { status: 'InService', variants: rolledBack, failureReason: host.reasonOf(e) },
      'roll back',
    );
    return;
  }
  for (const v of target) serving.setWeight(endpoint, v.variantName, v.desiredWeight);
  await endpoints.update(
    endpoint,
    { status: 'InService', variants: settledVariants(target) },
    'update',
  );
}
