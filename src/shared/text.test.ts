import { describe, expect, it } from 'vitest';
import { textOf } from './text.js';

describe('textOf', () => {
  it('writes primitives as String() does and missing values as the fallback', () => {
    expect(textOf('abc')).toBe('abc');
    expect(textOf(42)).toBe('42');
    expect(textOf(false)).toBe('false');
    expect(textOf(undefined, '-')).toBe('-');
    expect(textOf(null)).toBe('');
  });

  it('writes objects and arrays as JSON, never [object Object]', () => {
    expect(textOf({ a: 1 })).toBe('{"a":1}');
    expect(textOf(['x', 2])).toBe('["x",2]');
  });

  it('survives values JSON cannot write', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(textOf(cyclic)).toBe('[object Object]');
  });
});
