import { describe, expect, it } from 'vitest';
import { text } from './format.js';

describe('text', () => {
  it('shows primitives as they are and missing fields as the fallback', () => {
    expect(text('ml.m5.large')).toBe('ml.m5.large');
    expect(text(0.7)).toBe('0.7');
    expect(text(undefined)).toBe('-');
    expect(text(null, '')).toBe('');
  });

  it('shows objects as JSON, never [object Object]', () => {
    expect(text({ MaxRuntimeInSeconds: 60 })).toBe('{"MaxRuntimeInSeconds":60}');
  });
});
