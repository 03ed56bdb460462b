import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../shared/random.js';
import { pickVariant } from './router.js';

describe('weighted variant routing', () => {
  it('splits 1,000 requests 70/30 within ±5% with a seeded random', () => {
    const random = seededRandom(42);
    const variants = [
      { name: 'Blue', weight: 0.7 },
      { name: 'Green', weight: 0.3 },
    ];
    const counts: Record<string, number> = { Blue: 0, Green: 0 };
    for (let i = 0; i < 1000; i++) counts[pickVariant(variants, random)!.name]! += 1;
    expect(counts.Blue).toBeGreaterThanOrEqual(650);
    expect(counts.Blue).toBeLessThanOrEqual(750);
    expect(counts.Blue! + counts.Green!).toBe(1000);
  });

  it('never picks a zero-weight variant and answers undefined when all are zero', () => {
    const random = seededRandom(1);
    const variants = [
      { name: 'A', weight: 0 },
      { name: 'B', weight: 2 },
    ];
    for (let i = 0; i < 100; i++) expect(pickVariant(variants, random)!.name).toBe('B');
    expect(pickVariant([{ name: 'A', weight: 0 }], random)).toBeUndefined();
  });
});
