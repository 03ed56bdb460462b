import { describe, expect, it } from 'vitest';
import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import { refuseUnsupported, UNSUPPORTED_HEADERS, UNSUPPORTED_QUERIES } from './unsupported.js';

const ctx = (query: string, headers: Record<string, string> = {}) =>
  ({ query: new URLSearchParams(query), req: { headers } }) as unknown as S3Context;

const refusal = (c: S3Context): { code: string; message: string } | undefined => {
  try {
    refuseUnsupported(c);
    return undefined;
  } catch (e) {
    if (!(e instanceof S3Error)) throw e;
    return { code: e.code, message: e.message };
  }
};

describe('refuseUnsupported', () => {
  it('lists each sub-resource and header once', () => {
    const q = UNSUPPORTED_QUERIES.map((e) => e.query);
    const h = UNSUPPORTED_HEADERS.map((e) => e.header);
    expect(new Set(q).size).toBe(q.length);
    expect(new Set(h).size).toBe(h.length);
  });
  it('names the sub-resource or header and its feature in a 501', () => {
    expect(refusal(ctx('website'))).toMatchObject({ code: 'NotImplemented' });
    expect(refusal(ctx('website'))!.message).toContain("'?website' (static website hosting)");
    expect(refusal(ctx('logging'))!.message).toContain('server access logging');
    expect(refusal(ctx('', { 'x-amz-grant-read': 'id=x' }))).toMatchObject({
      code: 'NotImplemented',
    });
  });
  it('lets through what asks for nothing beyond what Apiary does', () => {
    // Implemented features are not in the table (versions, tagging, ACLs, policies, CORS, lifecycle).
    for (const q of ['versionId=3', 'versions', 'tagging', 'acl', 'policy', 'cors', 'lifecycle'])
      expect(refusal(ctx(q))).toBeUndefined();
    expect(
      refusal(
        ctx('', {
          'x-amz-acl': 'public-read',
          'x-amz-tagging': 'a=b',
          'x-amz-storage-class': 'STANDARD',
        }),
      ),
    ).toBeUndefined();
    expect(refusal(ctx('', { 'x-amz-object-lock-legal-hold': 'OFF' }))).toBeUndefined();
  });
  it('answers a storage class S3 does not have with InvalidStorageClass', () => {
    expect(refusal(ctx('', { 'x-amz-storage-class': 'CHEAP' }))?.code).toBe('InvalidStorageClass');
    expect(refusal(ctx('', { 'x-amz-storage-class': 'GLACIER' }))?.code).toBe('NotImplemented');
  });
});
