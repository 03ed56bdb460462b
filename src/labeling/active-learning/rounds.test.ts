import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../shared/random.js';
import { MIN_SUPPORT } from './threshold.js';
import {
  firstBatch,
  humanBatchSize,
  roundStates,
  roundTrainingJobName,
  validationShare,
} from './rounds.js';

describe('roundStates', () => {
  it('lets a failed round end without machine labels and keeps Done/Failed terminal', () => {
    expect(roundStates.canTransition('Training', 'Failed')).toBe(true);
    expect(roundStates.canTransition('Predicting', 'Failed')).toBe(true);
    expect(roundStates.canTransition('HumanLabeling', 'Predicting')).toBe(false);
    expect(roundStates.terminalStates).toEqual(['Done', 'Failed']);
  });
});

describe('firstBatch', () => {
  const ids = Array.from({ length: 100 }, (_, i) => i);

  it('draws distinct objects, holds 20 % (at least MIN_SUPPORT) out, and is the same for the same seed', () => {
    const a = firstBatch(ids, 30, seededRandom(1));
    // 20 % of 30 is 6: below the threshold's support, so MIN_SUPPORT are held out.
    expect(a.validation).toHaveLength(MIN_SUPPORT);
    expect(a.train).toHaveLength(30 - MIN_SUPPORT);
    // A larger batch holds out its 20 %; a small one at most half.
    expect(firstBatch(ids, 100, seededRandom(1)).validation).toHaveLength(20);
    expect(firstBatch(ids, 12, seededRandom(1)).validation).toHaveLength(6);
    const all = [...a.train, ...a.validation];
    expect(new Set(all).size).toBe(30);
    expect(all.every((id) => id >= 0 && id < 100)).toBe(true);
    expect(firstBatch(ids, 30, seededRandom(1))).toEqual(a);
    expect(firstBatch(ids, 30, seededRandom(2))).not.toEqual(a);
  });

  it('is not just the first objects of the manifest', () => {
    const { train, validation } = firstBatch(ids, 30, seededRandom(3));
    expect(Math.max(...train, ...validation)).toBeGreaterThan(50);
  });

  it('copes with a batch larger than the pool and with one object', () => {
    const b = firstBatch([7, 8, 9], 10, seededRandom(4));
    expect([...b.train, ...b.validation].sort((x, y) => x - y)).toEqual([7, 8, 9]);
    expect(b.validation).toHaveLength(1);
    expect(firstBatch([5], 1, seededRandom(4))).toEqual({ train: [5], validation: [] });
  });
});

describe('roundTrainingJobName', () => {
  it('is <job>-al-round-N within 63 characters', () => {
    expect(roundTrainingJobName('bees', 2)).toBe('bees-al-round-2');
    const long = roundTrainingJobName('b'.repeat(63), 12);
    expect(long).toHaveLength(63);
    expect(long.endsWith('-al-round-12')).toBe(true);
  });
});

describe('humanBatchSize', () => {
  it('is 10 % of the dataset, at least 25, at most MaxConcurrentTaskCount and the dataset', () => {
    expect(humanBatchSize(1250, 1000)).toBe(125);
    expect(humanBatchSize(60, 1000)).toBe(25);
    expect(humanBatchSize(20, 1000)).toBe(20);
    expect(humanBatchSize(10_000, 200)).toBe(200);
  });

  it('holds out 20 % below 5,000 objects and 10 % from 5,000 on (SageMaker’s validation share)', () => {
    expect(validationShare(1250)).toBe(0.2);
    expect(validationShare(5000)).toBe(0.1);
  });
});
