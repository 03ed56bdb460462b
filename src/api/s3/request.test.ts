import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { S3Error } from './errors.js';
import {
  decodeToken,
  encodeToken,
  intParam,
  locate,
  parseCopySourceRange,
  parseRange,
  storedHeaders,
  userMetadata,
} from './request.js';

const req = (url: string, headers: Record<string, string> = {}) =>
  ({ url, headers }) as unknown as IncomingMessage;

const thrown = (f: () => unknown): S3Error => {
  try {
    f();
  } catch (e) {
    if (e instanceof S3Error) return e;
    throw e;
  }
  throw new Error('expected an S3Error');
};

describe('locate', () => {
  it('reads bucket and key from the path, percent-decoded', () => {
    const l = locate(req('/bees/input/a%20b.jpg?list-type=2', { host: '127.0.0.1:9000' }), [
      '.localhost',
    ]);
    expect([l.bucket, l.key, l.query.get('list-type'), l.resource]).toEqual([
      'bees',
      'input/a b.jpg',
      '2',
      '/bees/input/a b.jpg',
    ]);
  });

  it('reads the bucket from a virtual host under a configured suffix', () => {
    const l = locate(req('/k/x.txt', { host: 'bees.localhost:9000' }), ['.localhost']);
    expect([l.bucket, l.key, l.resource]).toEqual(['bees', 'k/x.txt', '/bees/k/x.txt']);
  });

  it('refuses a path that is not valid percent-encoded UTF-8 with InvalidURI (AWS)', () => {
    const e = thrown(() => locate(req('/bees/%ae%8a-'), []));
    expect([e.code, e.status, e.message]).toEqual([
      'InvalidURI',
      400,
      "Couldn't parse the specified URI.",
    ]);
  });
});

describe('parseRange', () => {
  it('reads first-last, open-ended and suffix ranges, clamped to the object', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
  });

  it('ignores a multi-range or a reversed range: the whole object is served', () => {
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('bytes=9-3', 100)).toBeUndefined();
    expect(parseRange(undefined, 100)).toBeUndefined();
  });

  it('answers a range past the end with 416 InvalidRange and Content-Range bytes */size', () => {
    const e = thrown(() => parseRange('bytes=100-', 100));
    expect([e.code, e.status, e.headers['content-range']]).toEqual([
      'InvalidRange',
      416,
      'bytes */100',
    ]);
    expect(thrown(() => parseRange('bytes=0-0', 0)).code).toBe('InvalidRange');
  });
});

describe('parseCopySourceRange', () => {
  it('accepts bytes=first-last inside the source and refuses anything else', () => {
    expect(parseCopySourceRange('bytes=0-4', 5)).toEqual({ start: 0, end: 4 });
    expect(parseCopySourceRange(undefined, 5)).toBeUndefined();
    // Past the source's end: S3's InvalidRange (ceph's test_multipart_copy_invalid_range).
    expect(thrown(() => parseCopySourceRange('bytes=0-5', 5)).code).toBe('InvalidRange');
    expect(thrown(() => parseCopySourceRange('bytes=4-2', 5)).detail.ArgumentName).toBe(
      'x-amz-copy-source-range',
    );
    expect(thrown(() => parseCopySourceRange('bytes=3-', 5)).code).toBe('InvalidArgument');
  });
});

describe('x-amz-meta-*', () => {
  it('reads UTF-8 bytes (which Node hands over as latin1) back as text', () => {
    const req = {
      headers: { 'x-amz-meta-a': 'Hello World\u00c3\u00a9', 'x-amz-meta-b': 'caf\u00e9' },
    };
    expect(userMetadata(req as never)).toEqual({ a: 'Hello World\u00e9', b: 'caf\u00e9' });
  });
});

describe('query parameters', () => {
  it('round-trips a continuation token and refuses a forged one', () => {
    expect(decodeToken(encodeToken('input/ß.jpg'))).toBe('input/ß.jpg');
    expect(thrown(() => decodeToken('zzz')).message).toBe(
      'The continuation token provided is incorrect.',
    );
  });

  it('caps an integer parameter at its maximum and names a bad one', () => {
    expect(intParam(new URLSearchParams('max-keys=5000'), 'max-keys', 1000, 0, 1000)).toBe(1000);
    expect(intParam(new URLSearchParams(''), 'max-keys', 1000, 0, 1000)).toBe(1000);
    expect(
      thrown(() => intParam(new URLSearchParams('max-keys=-1'), 'max-keys', 1000, 0, 1000)).detail,
    ).toEqual({
      ArgumentName: 'max-keys',
      ArgumentValue: '-1',
    });
  });
});

describe('storedHeaders', () => {
  it('keeps the stored headers and drops aws-chunked from Content-Encoding', () => {
    expect(
      storedHeaders(
        req('/b/k', {
          'content-encoding': 'aws-chunked, gzip',
          'cache-control': 'no-cache',
          'x-other': '1',
        }),
      ),
    ).toEqual({
      'content-encoding': 'gzip',
      'cache-control': 'no-cache',
    });
    expect(storedHeaders(req('/b/k', { 'content-encoding': 'aws-chunked' }))).toEqual({});
  });
});
