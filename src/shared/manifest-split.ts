import { seededRandom } from './random.js';

/**
 * Splits JSON Lines manifest text into train and validation parts, as the tutorial's notebook cell
 * does (shuffle, then 80/20 by default) — but seeded, so the same input and seed always give the
 * same split. Blank lines are dropped; each line is kept byte for byte.
 */
export function splitManifest(
  text: string,
  options: { trainFraction?: number; seed?: number } = {},
): { train: string; validation: string; trainCount: number; validationCount: number } {
  const fraction = options.trainFraction ?? 0.8;
  if (!(fraction > 0 && fraction < 1)) {
    throw new RangeError(`trainFraction must be between 0 and 1 (exclusive); got ${fraction}`);
  }
  const lines = text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '');
  const rng = seededRandom(options.seed ?? 0);
  const order = lines.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const trainCount =
    lines.length < 2
      ? lines.length
      : Math.min(lines.length - 1, Math.max(1, Math.round(lines.length * fraction)));
  const join = (idx: number[]): string => idx.map((i) => lines[i]! + '\n').join('');
  return {
    train: join(order.slice(0, trainCount)),
    validation: join(order.slice(trainCount)),
    trainCount,
    validationCount: lines.length - trainCount,
  };
}
