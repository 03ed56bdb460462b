import type { Random } from '../../shared/random.js';

export interface WeightedVariant {
  readonly name: string;
  readonly weight: number;
}

/**
 * Weighted random routing, as SageMaker's: P(variant) = weight / Σ weights over variants with a
 * positive weight. Randomness is injected (seeded in tests). @returns undefined when no variant
 * has a positive weight.
 */
export function pickVariant<T extends WeightedVariant>(
  variants: readonly T[],
  random: Random,
): T | undefined {
  let total = 0;
  for (const v of variants) if (v.weight > 0) total += v.weight;
  if (total <= 0) return undefined;
  let r = random.next() * total;
  let last: T | undefined;
  for (const v of variants) {
    if (v.weight <= 0) continue;
    last = v;
    r -= v.weight;
    if (r < 0) return v;
  }
  return last;
}
