import { describe, expect, it } from 'vitest';
import { parseSigV2Presigned, verifySigV2Presigned } from './sigv2.js';
import { SigV4Error, type SignedRequest } from './sigv4.js';

// The worked example of S3's query-string authentication (Signature Version 2) documentation.
const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const url =
  '/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620';
const example = (over: Partial<SignedRequest> = {}): SignedRequest => ({
  method: 'GET',
  rawUrl: url,
  rawHeaders: ['Host', 'johnsmith.s3.amazonaws.com'],
  ...over,
});
const before = 1175139620 * 1000 - 60_000;
const options = {
  lookupSecret: (id: string) => (id === 'AKIAIOSFODNN7EXAMPLE' ? secret : undefined),
  nowMs: before,
  region: 'us-east-1',
};
const verify = (req: SignedRequest, nowMs = before) =>
  verifySigV2Presigned(req, parseSigV2Presigned(req)!, { ...options, nowMs });
const kind = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof SigV4Error) return `${e.kind}: ${e.message}`;
    throw e;
  }
  return 'accepted';
};

describe('SigV2 presigned URLs', () => {
  it("accepts S3's documented virtual-host example as an unsigned-payload presigned request", () => {
    const v = verify(example());
    expect(v).toMatchObject({
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      presigned: true,
      service: 's3',
    });
    expect(v.contentSha256).toBe('UNSIGNED-PAYLOAD');
  });

  it('accepts the same resource path style (bucket in the path)', () => {
    const req = example({ rawUrl: '/johnsmith' + url, rawHeaders: ['Host', 'localhost:9000'] });
    expect(kind(() => verify(req))).toBe('accepted');
  });

  it('refuses another method, another key and a changed sub-resource', () => {
    expect(kind(() => verify(example({ method: 'PUT' })))).toMatch(/^BadSignature/);
    expect(kind(() => verify(example({ method: 'HEAD' })))).toMatch(/^BadSignature/);
    expect(kind(() => verify(example({ rawUrl: url.replace('puppy', 'kitten') })))).toMatch(
      /^BadSignature/,
    );
    expect(kind(() => verify(example({ rawUrl: url + '&acl' })))).toMatch(/^BadSignature/);
  });

  it('refuses an expired URL, one valid for more than 7 days, and a non-numeric Expires', () => {
    expect(kind(() => verify(example(), 1175139621 * 1000))).toBe('Expired: Request has expired');
    expect(kind(() => verify(example(), 1175139620 * 1000 - 8 * 86_400_000))).toMatch(
      /^BadExpires: Expires must be at most 604800 seconds/,
    );
    const bad = example({ rawUrl: url.replace('Expires=1175139620', 'Expires=tomorrow') });
    expect(kind(() => verify(bad))).toMatch(/^BadExpires: Expires must be a time in seconds/);
  });

  it('refuses an unknown access key', () => {
    const req = example({ rawUrl: url.replace('AKIAIOSFODNN7EXAMPLE', 'AKIDUNKNOWN') });
    expect(kind(() => verify(req))).toMatch(/^UnknownKey/);
  });

  it('says which parameters an incomplete V2 query lacks, and ignores requests without one', () => {
    const req = example({ rawUrl: '/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE' });
    expect(kind(() => parseSigV2Presigned(req))).toMatch(
      /requires the AWSAccessKeyId, Signature and Expires/,
    );
    expect(
      parseSigV2Presigned(example({ rawUrl: '/photos/puppy.jpg?list-type=2' })),
    ).toBeUndefined();
  });
});
