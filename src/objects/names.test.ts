import { describe, expect, it } from 'vitest';
import { assertKey, bucketNameProblem, prefixSuccessor } from './names.js';

describe('bucket names', () => {
  it.each(['abc', 'my-bucket.data', 'a'.repeat(63), '123', 'a-b.c'])('accepts %j', (name) => {
    expect(bucketNameProblem(name)).toBeUndefined();
  });
  it.each([
    ['ab', 'must be between 3 and 63 characters long'],
    ['a'.repeat(64), 'must be between 3 and 63 characters long'],
    ['Upper', 'may contain only'],
    ['a_b', 'may contain only'],
    ['-ab', 'may contain only'],
    ['a..b', 'two adjacent periods'],
    ['a.-b', 'period next to a hyphen'],
    ['192.168.5.4', 'IP address'],
    ['xn--abc', "must not start with 'xn--'"],
    ['abc-s3alias', "must not end with '-s3alias'"],
  ])('refuses %j: %s', (name, why) => {
    expect(bucketNameProblem(name)).toContain(why);
  });
});

describe('keys', () => {
  it('allows 1,024 bytes of UTF-8 and refuses 1,025', () => {
    expect(() => assertKey('é'.repeat(512))).not.toThrow();
    expect(() => assertKey('é'.repeat(512) + 'x')).toThrow(/1025 bytes/);
    expect(() => assertKey('')).toThrow(/at least one character/);
  });
});

describe('prefixSuccessor', () => {
  it('is the smallest string after every string with the prefix', () => {
    expect(prefixSuccessor('a/')).toBe('a0');
    expect(prefixSuccessor('a\u{10FFFF}')).toBe('b');
    expect(prefixSuccessor('\u{10FFFF}')).toBeUndefined();
    expect(prefixSuccessor('a\uD7FF')).toBe('a\uE000');
  });
  it('orders after all extensions in UTF-8 byte order', () => {
    const p = 'dir/🐝';
    const succ = Buffer.from(prefixSuccessor(p)!);
    for (const ext of ['', 'x', '\u{10FFFF}', '\uFFFF\uFFFF']) {
      expect(Buffer.compare(Buffer.from(p + ext), succ)).toBe(-1);
    }
  });
});
