import { describe, expect, it } from 'vitest';
import {
  EMPTY_SHA256,
  parseSigV4,
  SigV4Error,
  verifySigV4,
  awsUriEncode,
  type SignedRequest,
} from './sigv4.js';

// The worked example of AWS's Signature Version 4 documentation (IAM ListUsers, 2015-08-30).
const secret = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const example: SignedRequest = {
  method: 'GET',
  rawUrl: '/?Action=ListUsers&Version=2010-05-08',
  rawHeaders: [
    'Host',
    'iam.amazonaws.com',
    'Content-Type',
    'application/x-www-form-urlencoded; charset=utf-8',
    'X-Amz-Date',
    '20150830T123600Z',
    'Authorization',
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
  ],
};
const at = Date.UTC(2015, 7, 30, 12, 36, 0);
const lookupSecret = (id: string) => (id === 'AKIDEXAMPLE' ? secret : undefined);

describe('SigV4 verification', () => {
  it("accepts AWS's documented example signature", () => {
    const auth = parseSigV4(example)!;
    const verified = verifySigV4(example, auth, {
      lookupSecret,
      payloadHash: EMPTY_SHA256,
      nowMs: at,
    });
    expect(verified.scope).toBe('20150830/us-east-1/iam/aws4_request');
  });

  it('rejects the same request with a wrong secret', () => {
    const auth = parseSigV4(example)!;
    expect(() =>
      verifySigV4(example, auth, {
        lookupSecret: () => 'wrong',
        payloadHash: EMPTY_SHA256,
        nowMs: at,
      }),
    ).toThrow(expect.objectContaining({ kind: 'BadSignature' }));
  });

  it('rejects a request dated more than 15 minutes from the server clock', () => {
    const auth = parseSigV4(example)!;
    expect(() =>
      verifySigV4(example, auth, {
        lookupSecret,
        payloadHash: EMPTY_SHA256,
        nowMs: at + 16 * 60_000,
      }),
    ).toThrow(expect.objectContaining({ kind: 'Skewed' }));
    // 14 minutes is inside the window (the signature is then checked and is valid).
    expect(() =>
      verifySigV4(example, auth, {
        lookupSecret,
        payloadHash: EMPTY_SHA256,
        nowMs: at + 14 * 60_000,
      }),
    ).not.toThrow();
  });

  it('rejects an unknown access key', () => {
    const auth = parseSigV4(example)!;
    expect(() =>
      verifySigV4(example, auth, {
        lookupSecret: () => undefined,
        payloadHash: EMPTY_SHA256,
        nowMs: at,
      }),
    ).toThrow(expect.objectContaining({ kind: 'UnknownKey' }));
  });

  it('refuses a request that carries both a signed header and query signing parameters', () => {
    for (const param of [
      'X-Amz-Algorithm=AWS4-HMAC-SHA256',
      'X-Amz-Credential=x',
      'X-Amz-Signature=00',
    ]) {
      const both: SignedRequest = {
        ...example,
        rawUrl: `${example.rawUrl}${example.rawUrl.includes('?') ? '&' : '?'}${param}`,
      };
      expect(() => parseSigV4(both)).toThrow(
        expect.objectContaining({
          kind: 'Malformed',
          message: expect.stringMatching(/^Only one auth mechanism allowed/),
        }),
      );
    }
  });

  it('rejects SignedHeaders without host and a scope date that differs from X-Amz-Date', () => {
    const noHost: SignedRequest = {
      ...example,
      rawHeaders: example.rawHeaders.map((h) =>
        h.startsWith('AWS4')
          ? h.replace('content-type;host;x-amz-date', 'content-type;x-amz-date')
          : h,
      ),
    };
    expect(() =>
      verifySigV4(noHost, parseSigV4(noHost)!, {
        lookupSecret,
        payloadHash: EMPTY_SHA256,
        nowMs: at,
      }),
    ).toThrow(/'host' must be among the signed headers/);
    const otherDay: SignedRequest = {
      ...example,
      rawHeaders: example.rawHeaders.map((h) =>
        h.startsWith('AWS4') ? h.replace('/20150830/', '/20150829/') : h,
      ),
    };
    expect(() =>
      verifySigV4(otherDay, parseSigV4(otherDay)!, {
        lookupSecret,
        payloadHash: EMPTY_SHA256,
        nowMs: at,
      }),
    ).toThrow(SigV4Error);
  });

  it('reports a missing Credential part as malformed', () => {
    const broken: SignedRequest = {
      ...example,
      rawHeaders: [
        'Host',
        'x',
        'X-Amz-Date',
        '20150830T123600Z',
        'Authorization',
        'AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00',
      ],
    };
    expect(() => parseSigV4(broken)).toThrow(expect.objectContaining({ kind: 'Malformed' }));
  });

  it('returns undefined for requests without any SigV4 authentication', () => {
    expect(parseSigV4({ method: 'GET', rawUrl: '/', rawHeaders: ['Host', 'x'] })).toBeUndefined();
  });

  it('URI-encodes as AWS defines it', () => {
    expect(awsUriEncode('a b/c~d*é', true)).toBe('a%20b/c~d%2A%C3%A9');
    expect(awsUriEncode('a/b', false)).toBe('a%2Fb');
  });
});
