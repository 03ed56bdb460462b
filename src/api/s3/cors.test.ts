import { describe, expect, it } from 'vitest';
import { matchRule, parseCorsConfiguration, wildcardMatch } from './cors.js';

const xml = (rules: string) => Buffer.from(`<CORSConfiguration>${rules}</CORSConfiguration>`);

describe('CORS rules', () => {
  it('parses rules and matches the first one allowing origin, method and every header', () => {
    const rules = parseCorsConfiguration(
      xml(
        '<CORSRule><AllowedOrigin>https://*.a.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>x-amz-*</AllowedHeader><MaxAgeSeconds>5</MaxAgeSeconds></CORSRule>' +
          '<CORSRule><ID>any</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod></CORSRule>',
      ),
    );
    expect(rules[0]).toMatchObject({ allowedHeaders: ['x-amz-*'], maxAgeSeconds: 5 });
    expect(matchRule(rules, 'https://w.a.com', 'PUT', ['x-amz-date'])).toBe(rules[0]);
    expect(matchRule(rules, 'https://w.a.com', 'PUT', ['authorization'])).toBe(undefined);
    expect(matchRule(rules, 'https://w.a.com', 'PUT', [])).toBe(rules[0]);
    expect(matchRule(rules, 'http://b.com', 'PUT')).toBe(rules[1]);
    expect(matchRule(rules, 'http://b.com', 'DELETE')).toBe(undefined);
  });

  it('matches one wildcard; headers case-insensitively', () => {
    expect(wildcardMatch('https://*.a.com', 'https://.a.com')).toBe(true);
    expect(wildcardMatch('https://*.a.com', 'https://a.com')).toBe(false);
    expect(wildcardMatch('X-Amz-*', 'x-amz-meta-a', true)).toBe(true);
  });

  it('refuses what S3 refuses', () => {
    expect(() => parseCorsConfiguration(xml(''))).toThrow(/not well-formed/);
    expect(() =>
      parseCorsConfiguration(
        xml(
          '<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule>',
        ),
      ),
    ).toThrow('Unsupported method is PATCH');
    expect(() =>
      parseCorsConfiguration(xml('<CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>')),
    ).toThrow('at least one AllowedMethod');
  });
});
