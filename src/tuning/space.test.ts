import { describe, expect, it } from 'vitest';
import { seededRandom } from '../shared/index.js';
import type { ParameterSpec } from './space.js';
import {
  Encoder,
  formatValue,
  fromUnit,
  latinHypercube,
  parseValue,
  resolveScaling,
  sampleConfig,
  toUnit,
} from './space.js';

const lr: ParameterSpec = {
  kind: 'continuous',
  name: 'learning_rate',
  min: 1e-4,
  max: 1e-1,
  scaling: 'Logarithmic',
};
const momentum: ParameterSpec = {
  kind: 'continuous',
  name: 'momentum',
  min: 0.5,
  max: 0.999,
  scaling: 'ReverseLogarithmic',
};
const batch: ParameterSpec = {
  kind: 'integer',
  name: 'mini_batch_size',
  min: 8,
  max: 11,
  scaling: 'Linear',
};
const opt: ParameterSpec = {
  kind: 'categorical',
  name: 'optimizer',
  values: ['sgd', 'adam', 'rmsprop'],
};

describe('search space warping', () => {
  it('maps a logarithmic range so each decade gets the same share of the unit interval', () => {
    expect(toUnit(lr, 1e-4)).toBeCloseTo(0);
    expect(toUnit(lr, 1e-3)).toBeCloseTo(1 / 3);
    expect(toUnit(lr, 1e-2)).toBeCloseTo(2 / 3);
    expect(fromUnit(lr, 0.5)).toBeCloseTo(10 ** -2.5);
  });

  it('maps a reverse-logarithmic range so values crowd towards 1', () => {
    expect(fromUnit(momentum, 0)).toBeCloseTo(0.5);
    expect(fromUnit(momentum, 1)).toBeCloseTo(0.999);
    expect(fromUnit(momentum, 0.5)).toBeGreaterThan(0.95);
    for (const v of [0.5, 0.9, 0.99, 0.999])
      expect(fromUnit(momentum, toUnit(momentum, v))).toBeCloseTo(v, 9);
  });

  it('gives every integer of a linear integer range the same probability', () => {
    const r = seededRandom(1);
    const counts = new Map<number, number>();
    for (let i = 0; i < 8000; i++) {
      const v = Number(sampleConfig([batch], r)['mini_batch_size']);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([8, 9, 10, 11]);
    for (const c of counts.values()) expect(c).toBeGreaterThan(1800);
  });

  it('resolves Auto to logarithmic only for positive ranges spanning two decades', () => {
    expect(resolveScaling({ ...lr, scaling: 'Auto' })).toBe('Logarithmic');
    expect(resolveScaling({ ...momentum, scaling: 'Auto' })).toBe('Linear');
    expect(resolveScaling({ kind: 'integer', name: 'n', min: 0, max: 1000, scaling: 'Auto' })).toBe(
      'Linear',
    );
  });

  it('formats values as the strings a training job receives and parses them back', () => {
    expect(formatValue(lr, 0.00123456789)).toBe('0.00123457');
    expect(formatValue(batch, 9.4)).toBe('9');
    expect(formatValue(opt, 'adam')).toBe('adam');
    expect(parseValue(lr, '0.001')).toBe(0.001);
    expect(parseValue(lr, '2')).toBeUndefined();
    expect(parseValue(opt, 'lbfgs')).toBeUndefined();
  });

  it('one-hot encodes categoricals and decodes onto the lattice', () => {
    const enc = new Encoder([lr, batch, opt]);
    expect(enc.dims).toBe(5);
    const x = enc.encode({ learning_rate: 1e-3, mini_batch_size: 10, optimizer: 'rmsprop' });
    expect(Array.from(x.slice(2))).toEqual([0, 0, 1]);
    const back = enc.decode(Float64Array.from([0.5, 0.49, 0.2, 0.7, 0.1]));
    expect(back).toEqual({
      learning_rate: expect.closeTo(10 ** -2.5, 6),
      mini_batch_size: 9,
      optimizer: 'adam',
    });
  });

  it('puts one Latin hypercube point in each stratum of every numeric range', () => {
    const points = latinHypercube([lr, opt], 6, seededRandom(4));
    const strata = points
      .map((p) => Math.floor(toUnit(lr, Number(p['learning_rate'])) * 6))
      .sort((a, b) => a - b);
    expect(strata).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set(points.map((p) => p['optimizer'])).size).toBe(3);
  });
});
