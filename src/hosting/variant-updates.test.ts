import { describe, expect, it } from 'vitest';
import type { EndpointRecord, VariantState } from './endpoints.js';
import { planWeightsAndCapacities, retainVariantProperties } from './variant-updates.js';

const variant = (name: string, weight: number, count: number): VariantState => ({
  variantName: name,
  modelName: `m-${name}`,
  currentWeight: weight,
  desiredWeight: weight,
  currentInstanceCount: count,
  desiredInstanceCount: count,
  instanceType: 'ml.m5.large',
  image: undefined,
});
const record = {
  arn: 'arn:aws:sagemaker:us-east-1:000000000000:endpoint/ab',
  variants: [variant('A', 0.7, 2), variant('B', 0.3, 1)],
} as unknown as EndpointRecord;

describe('UpdateEndpointWeightsAndCapacities planning', () => {
  it('changes only the named variants and keeps what is not given', () => {
    const target = planWeightsAndCapacities(record, [
      { variantName: 'B', weight: 0.5, instanceCount: undefined },
    ]);
    expect(target.map((v) => [v.variantName, v.desiredWeight, v.desiredInstanceCount])).toEqual([
      ['A', 0.7, 2],
      ['B', 0.5, 1],
    ]);
  });

  it('refuses unknown and repeated variants, empty entries and instances removed under traffic', () => {
    const bad = (d: Parameters<typeof planWeightsAndCapacities>[1]) => () =>
      planWeightsAndCapacities(record, d);
    expect(bad([{ variantName: 'C', weight: 1, instanceCount: undefined }])).toThrow(
      /\[C\] is\/are not present.*its variants are A, B/,
    );
    expect(
      bad([
        { variantName: 'A', weight: 1, instanceCount: undefined },
        { variantName: 'A', weight: 0, instanceCount: undefined },
      ]),
    ).toThrow(/appears more than once/);
    expect(bad([{ variantName: 'A', weight: undefined, instanceCount: undefined }])).toThrow(
      /specify DesiredWeight, DesiredInstanceCount or both/,
    );
    expect(bad([{ variantName: 'A', weight: undefined, instanceCount: 0 }])).toThrow(
      /DesiredInstanceCount 0 needs DesiredWeight 0/,
    );
    expect(
      planWeightsAndCapacities(record, [{ variantName: 'A', weight: 0, instanceCount: 0 }])[0],
    ).toMatchObject({ desiredWeight: 0, desiredInstanceCount: 0 });
  });
});

describe('RetainAllVariantProperties', () => {
  it('keeps the current weight and count of existing variants unless excluded', () => {
    const fresh = [variant('A', 1, 5), variant('C', 1, 1)];
    expect(
      retainVariantProperties(fresh, record.variants, []).map((v) => [
        v.variantName,
        v.desiredWeight,
        v.desiredInstanceCount,
      ]),
    ).toEqual([
      ['A', 0.7, 2],
      ['C', 1, 1],
    ]);
    expect(
      retainVariantProperties(fresh, record.variants, ['DesiredInstanceCount'])[0],
    ).toMatchObject({ desiredWeight: 0.7, desiredInstanceCount: 5 });
  });
});
