import { AppError, ErrorCodes } from '../shared/errors.js';
import type { EndpointRecord, VariantState } from './endpoints.js';

/** One entry of UpdateEndpointWeightsAndCapacities' DesiredWeightsAndCapacities. */
export interface DesiredWeightAndCapacity {
  readonly variantName: string;
  readonly weight: number | undefined;
  readonly instanceCount: number | undefined;
}

/**
 * The variants an UpdateEndpointWeightsAndCapacities asks for, checked as SageMaker checks them:
 * known variant names, each once, something to change, and no instances removed from a variant
 * that would still get traffic. @throws ValidationException naming the variant.
 */
export function planWeightsAndCapacities(
  record: EndpointRecord,
  desired: readonly DesiredWeightAndCapacity[],
): VariantState[] {
  const seen = new Set<string>();
  for (const d of desired) {
    const v = record.variants.find((x) => x.variantName === d.variantName);
    if (!v) {
      throw new AppError(
        ErrorCodes.Validation,
        `The variant name(s) [${d.variantName}] is/are not present in endpoint "${record.arn}"; its variants are ${record.variants.map((x) => x.variantName).join(', ')}.`,
      );
    }
    if (seen.has(d.variantName))
      throw new AppError(
        ErrorCodes.Validation,
        `The variant name ${d.variantName} appears more than once in DesiredWeightsAndCapacities.`,
      );
    seen.add(d.variantName);
    if (d.weight === undefined && d.instanceCount === undefined) {
      throw new AppError(
        ErrorCodes.Validation,
        `Variant ${d.variantName}: specify DesiredWeight, DesiredInstanceCount or both.`,
      );
    }
    const weight = d.weight ?? v.currentWeight;
    if (d.instanceCount === 0 && weight > 0) {
      throw new AppError(
        ErrorCodes.Validation,
        `Variant ${d.variantName}: DesiredInstanceCount 0 needs DesiredWeight 0, or requests would be routed to a variant with no instances.`,
      );
    }
  }
  const target = record.variants.map((v) => {
    const d = desired.find((x) => x.variantName === v.variantName);
    return d
      ? {
          ...v,
          desiredWeight: d.weight ?? v.currentWeight,
          desiredInstanceCount: d.instanceCount ?? v.currentInstanceCount,
        }
      : v;
  });
  return target;
}

/**
 * UpdateEndpoint's RetainAllVariantProperties: a variant that exists now keeps its weight and
 * instance count, except the properties named in ExcludeRetainedVariantProperties.
 */
export function retainVariantProperties(
  target: readonly VariantState[],
  current: readonly VariantState[],
  excludeRetained: readonly string[],
): VariantState[] {
  return target.map((v) => {
    const old = current.find((o) => o.variantName === v.variantName);
    if (!old) return v;
    return {
      ...v,
      desiredWeight: excludeRetained.includes('DesiredWeight')
        ? v.desiredWeight
        : old.currentWeight,
      desiredInstanceCount: excludeRetained.includes('DesiredInstanceCount')
        ? v.desiredInstanceCount
        : old.currentInstanceCount,
    };
  });
}
