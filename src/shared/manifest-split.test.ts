import { describe, expect, it } from 'vitest';
import { splitManifest } from './manifest-split.js';

const manifest =
  Array.from({ length: 500 }, (_, i) => JSON.stringify({ 'source-ref': `s3://b/${i}.jpg` })).join(
    '\n',
  ) + '\n';

describe('splitManifest', () => {
  it('splits 500 lines 400/100 and keeps every line exactly once', () => {
    const s = splitManifest(manifest, { seed: 7 });
    expect(s.trainCount).toBe(400);
    expect(s.validationCount).toBe(100);
    const all = (s.train + s.validation).trim().split('\n').sort();
    expect(all).toEqual(manifest.trim().split('\n').sort());
  });

  it('is reproducible for a seed and differs across seeds', () => {
    expect(splitManifest(manifest, { seed: 1 })).toEqual(splitManifest(manifest, { seed: 1 }));
    expect(splitManifest(manifest, { seed: 1 }).train).not.toEqual(
      splitManifest(manifest, { seed: 2 }).train,
    );
  });

  it('handles an empty manifest and a single line', () => {
    expect(splitManifest('', {})).toMatchObject({
      trainCount: 0,
      validationCount: 0,
      train: '',
      validation: '',
    });
    expect(splitManifest('{"a":1}\n', {})).toMatchObject({ trainCount: 1, validationCount: 0 });
  });

  it('rejects a fraction outside (0, 1)', () => {
    expect(() => splitManifest(manifest, { trainFraction: 1 })).toThrow(/between 0 and 1/);
  });
});
