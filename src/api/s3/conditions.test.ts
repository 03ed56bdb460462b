import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { ObjectInfo } from '../../objects/index.js';
import {
  checkCopySourceConditions,
  checkDeleteConditions,
  checkReadConditions,
  etagMatches,
  writeConditions,
} from './conditions.js';
import { S3Error } from './errors.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const lastModifiedMs = Date.parse('2026-01-02T03:04:05.678Z');
const info = {
  etag: '"abc"',
  lastModifiedMs,
  size: 3,
  contentType: 'text/plain',
  metadata: {},
} as unknown as ObjectInfo;
const httpDate = (ms: number) => new Date(ms).toUTCString();

const failure = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof S3Error)
      return `${e.status} ${e.code} ${e.detail.Condition ?? e.detail.Header}`;
    throw e;
  }
  return 'passed';
};

describe('etagMatches', () => {
  it('matches quoted, unquoted, weak, listed and * ETags', () => {
    expect(
      ['"abc"', 'abc', 'W/"abc"', '"x", "abc"', '*'].map((l) => etagMatches(l, '"abc"')),
    ).toEqual([true, true, true, true, true]);
    expect(etagMatches('"abd"', '"abc"')).toBe(false);
  });
});

describe('checkReadConditions', () => {
  it('fails a mismatched If-Match with 412 even when If-Unmodified-Since would pass', () => {
    expect(
      failure(() =>
        checkReadConditions(
          req({ 'if-match': '"nope"', 'if-unmodified-since': httpDate(lastModifiedMs + 60_000) }),
          info,
        ),
      ),
    ).toBe('412 PreconditionFailed If-Match');
  });

  it('compares dates at whole seconds, as HTTP dates carry them', () => {
    expect(checkReadConditions(req({ 'if-modified-since': httpDate(lastModifiedMs) }), info)).toBe(
      'not-modified',
    );
    expect(
      failure(() =>
        checkReadConditions(req({ 'if-unmodified-since': httpDate(lastModifiedMs - 1000) }), info),
      ),
    ).toBe('412 PreconditionFailed If-Unmodified-Since');
  });

  it('answers not-modified for a matching If-None-Match and lets If-None-Match override If-Modified-Since', () => {
    expect(checkReadConditions(req({ 'if-none-match': '"abc"' }), info)).toBe('not-modified');
    expect(
      checkReadConditions(
        req({ 'if-none-match': '"other"', 'if-modified-since': httpDate(lastModifiedMs) }),
        info,
      ),
    ).toBeUndefined();
  });
});

describe('checkCopySourceConditions', () => {
  it('names the x-amz-copy-source header that failed', () => {
    expect(
      failure(() =>
        checkCopySourceConditions(req({ 'x-amz-copy-source-if-none-match': 'abc' }), info),
      ),
    ).toBe('412 PreconditionFailed x-amz-copy-source-If-None-Match');
    expect(
      failure(() => checkCopySourceConditions(req({ 'x-amz-copy-source-if-match': 'abc' }), info)),
    ).toBe('passed');
  });
});

describe('writeConditions', () => {
  it('passes If-None-Match: * and If-Match to the store and refuses other If-None-Match values', () => {
    expect(writeConditions(req({ 'if-none-match': '*', 'if-match': '"abc"' }))).toEqual({
      ifNoneMatch: '*',
      ifMatch: '"abc"',
    });
    expect(failure(() => writeConditions(req({ 'if-none-match': '"abc"' })))).toBe(
      '501 NotImplemented If-None-Match',
    );
  });
});

describe('conditional DeleteObject', () => {
  const info = {
    bucket: 'b',
    key: 'k',
    size: 3,
    etag: '"abc"',
    contentType: 'text/plain',
    lastModifiedMs: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    metadata: {},
  };
  const code = (f: () => void): string | undefined => {
    try {
      f();
      return undefined;
    } catch (e) {
      return (e as S3Error).code;
    }
  };
  it('deletes when every condition holds, refuses with 412 otherwise', () => {
    const when = new Date(info.lastModifiedMs).toUTCString();
    expect(
      code(() =>
        checkDeleteConditions({ ifMatch: 'abc', lastModified: when, size: '3' }, info, 'k'),
      ),
    ).toBe(undefined);
    expect(code(() => checkDeleteConditions({ ifMatch: '"zzz"' }, info, 'k'))).toBe(
      'PreconditionFailed',
    );
    expect(code(() => checkDeleteConditions({ size: '4' }, info, 'k'))).toBe('PreconditionFailed');
    expect(
      code(() =>
        checkDeleteConditions({ lastModified: 'Thu, 01 Jan 2015 00:00:00 GMT' }, info, 'k'),
      ),
    ).toBe('PreconditionFailed');
  });
  it('answers NoSuchKey for a condition on a missing key, nothing without conditions', () => {
    expect(code(() => checkDeleteConditions({ ifMatch: '*' }, undefined, 'k'))).toBe('NoSuchKey');
    expect(code(() => checkDeleteConditions({}, undefined, 'k'))).toBe(undefined);
  });
});
