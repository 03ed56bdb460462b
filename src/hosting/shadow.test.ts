import { describe, expect, it } from 'vitest';
import { boxAgreement, boxesOf } from './shadow.js';
import { serverlessMemoryProblem } from './runtime/serverless.js';

describe('shadow box agreement', () => {
  it('matches boxes of the same label with IoU ≥ 0.5, one to one', () => {
    const a = boxesOf(
      JSON.stringify({
        prediction: [
          [0, 0.9, 0, 0, 0.5, 0.5],
          [1, 0.8, 0.5, 0.5, 1, 1],
        ],
      }),
    )!;
    const same = boxesOf(
      JSON.stringify({
        prediction: [
          [0, 0.7, 0.01, 0, 0.5, 0.5],
          [1, 0.6, 0.5, 0.5, 1, 1],
        ],
      }),
    )!;
    const other = boxesOf(JSON.stringify({ prediction: [[1, 0.9, 0, 0, 0.5, 0.5]] }))!;
    expect(boxAgreement(a, same)).toBe(1);
    expect(boxAgreement(a, other)).toBe(0);
    expect(boxAgreement(a, a.slice(0, 1))).toBe(0.5);
    expect(boxAgreement([], [])).toBe(1);
    expect(boxesOf('not json')).toBeUndefined();
  });
});

describe('ServerlessConfig.MemorySizeInMB', () => {
  it('accepts 1024–6144 in steps of 1024 only', () => {
    for (const ok of [1024, 2048, 6144]) expect(serverlessMemoryProblem('v', ok)).toBeUndefined();
    for (const bad of [1111, 1000, 7168, 0])
      expect(serverlessMemoryProblem('v', bad)).toMatch(/MemorySizeInMB must be one of/);
  });
});
