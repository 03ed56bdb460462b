import { describe, expect, it } from 'vitest';
import { checkPolicy, parsePolicy } from './post-policy.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64');
const NOW = Date.parse('2026-01-01T00:00:00Z');
const policy = parsePolicy(
  b64({
    expiration: '2026-01-01T01:00:00Z',
    conditions: [
      { bucket: 'b' },
      ['starts-with', '$key', 'up/'],
      ['eq', '$Content-Type', 'image/png'],
      ['content-length-range', 1, 100],
    ],
  }),
);

describe('POST policies', () => {
  it('passes a form meeting every condition and returns the size range', () => {
    const fields = new Map([
      ['key', 'up/a.png'],
      ['content-type', 'image/png'],
      ['policy', 'p'],
      ['x-ignore-me', '1'],
    ]);
    expect(checkPolicy(policy, fields, 'b', NOW)).toEqual({ min: 1, max: 100 });
  });

  it('names the failed condition, an extra field, an expired policy', () => {
    const ok = new Map([
      ['key', 'up/a.png'],
      ['content-type', 'image/png'],
    ]);
    expect(() => checkPolicy(policy, new Map([...ok, ['key', 'x']]), 'b', NOW)).toThrow(
      'Invalid according to Policy: Policy Condition failed: ["starts-with","$key","up/"]',
    );
    expect(() => checkPolicy(policy, new Map([...ok, ['acl', 'private']]), 'b', NOW)).toThrow(
      'Extra input fields: acl',
    );
    expect(() => checkPolicy(policy, ok, 'other', NOW)).toThrow('{"bucket":"b"}');
    expect(() => checkPolicy(policy, ok, 'b', NOW + 2 * 3_600_000)).toThrow('Policy expired.');
  });

  it('refuses malformed documents as InvalidPolicyDocument', () => {
    expect(() => parsePolicy('!!!')).toThrow('Invalid Policy: Invalid JSON.');
    expect(() => parsePolicy(b64({ conditions: [] }))).toThrow('Policy missing expiration.');
    expect(() => parsePolicy(b64({ expiration: '2026-01-01T00:00:00Z' }))).toThrow(
      'Policy missing conditions.',
    );
    expect(() =>
      parsePolicy(b64({ expiration: '2026-01-01T00:00:00Z', conditions: [['like', '$key', 'a']] })),
    ).toThrow('Invalid Condition');
  });
});
