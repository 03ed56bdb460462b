import { seededRandom } from '../../src/shared/index.js';
import type { Random } from '../../src/shared/index.js';
import type { Config, ParameterSpec } from '../../src/tuning/space.js';
import { sampleConfig } from '../../src/tuning/space.js';
import { Hyperband } from '../../src/tuning/strategies/hyperband.js';
import type { Curve } from '../../src/tuning/strategies/hyperband.js';
import { gaussianNoise } from './problems.js';

/**
 * Synthetic learning curves: loss(t) = final(x) + gap(x) · (t^-rate(x) − R^-rate(x)) + noise.
 * High learning rates learn fast but may end worse, so early ranks only partly predict final ranks
 * (curves cross), as in real training.
 */
export const MAX_EPOCHS = 27;
export const CURVE_SPACE: readonly ParameterSpec[] = [
  { kind: 'continuous', name: 'lr', min: 1e-4, max: 1, scaling: 'Logarithmic' },
  { kind: 'integer', name: 'width', min: 16, max: 512, scaling: 'Logarithmic' },
  { kind: 'continuous', name: 'dropout', min: 0, max: 0.7, scaling: 'Linear' },
  { kind: 'categorical', name: 'optimizer', values: ['sgd', 'adam', 'rmsprop'] },
];
const CENTRE: Record<string, number> = { sgd: -1, adam: -3, rmsprop: -2.5 };
const OFFSET: Record<string, number> = { sgd: 0.02, adam: 0, rmsprop: 0.04 };

function curveShape(c: Config) {
  const llr = Math.log10(Number(c['lr']));
  const opt = String(c['optimizer']);
  const dropout = Number(c['dropout']);
  const d = llr - CENTRE[opt]!;
  const final =
    0.1 +
    OFFSET[opt]! +
    0.08 * d * d +
    0.15 * (dropout - 0.3) ** 2 +
    0.02 * (Math.log2(Number(c['width'])) - 7) ** 2;
  const gap = 1 + 0.5 * dropout + 0.3 * Math.abs(d);
  const rate = 0.4 + 0.8 * Math.min(1, Math.max(0, (llr + 4) / 4));
  return { final, gap, rate };
}

export function lossAt(c: Config, epoch: number, noise: Random): number {
  const { final, gap, rate } = curveShape(c);
  return final + gap * (epoch ** -rate - MAX_EPOCHS ** -rate) + 0.005 * gaussianNoise(noise);
}

/** Random search: `trials` full-length trials; returns the best final loss and the epochs used. */
export function randomBaseline(seed: number, trials: number): { best: number; epochs: number } {
  const r = seededRandom(seed * 31 + 1);
  const noise = seededRandom(seed * 31 + 2);
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < trials; i++) {
    const c = sampleConfig(CURVE_SPACE, r);
    let last = 0;
    for (let e = 1; e <= MAX_EPOCHS; e++) last = lossAt(c, e, noise);
    best = Math.min(best, last);
  }
  return { best, epochs: trials * MAX_EPOCHS };
}

/**
 * Hyperband with `parallel` workers advancing one epoch per step each. Returns the epochs spent when
 * any reported loss first reaches `target` (or undefined within `budget`).
 */
export function hyperbandToTarget(
  seed: number,
  target: number,
  budget: number,
  parallel: number,
): number | undefined {
  const hb = new Hyperband({ minResource: 1, maxResource: MAX_EPOCHS, eta: 3 });
  const r = seededRandom(seed * 31 + 3);
  const noise = seededRandom(seed * 31 + 4);
  const curves: { config: Config; curve: { bracket: number; losses: number[] }; done: boolean }[] =
    [];
  const workers: (number | undefined)[] = Array.from({ length: parallel }, () => undefined);
  let epochs = 0;
  while (epochs < budget) {
    for (let w = 0; w < parallel; w++) {
      if (workers[w] === undefined) {
        curves.push({
          config: sampleConfig(CURVE_SPACE, r),
          curve: { bracket: hb.bracketFor(curves.length), losses: [] },
          done: false,
        });
        workers[w] = curves.length - 1;
      }
      const t = curves[workers[w]!]!;
      const loss = lossAt(t.config, t.curve.losses.length + 1, noise);
      t.curve.losses.push(loss);
      epochs++;
      if (loss <= target) return epochs;
      const others: Curve[] = curves.filter((o) => o !== t).map((o) => o.curve);
      if (t.curve.losses.length >= MAX_EPOCHS || hb.decide(t.curve, others).action === 'stop') {
        t.done = true;
        workers[w] = undefined;
      }
    }
  }
  return undefined;
}
