import type { IncomingMessage } from 'node:http';
import type { ObjectInfo, WriteConditions } from '../../objects/index.js';
import { S3Error } from './errors.js';
import { header } from './request.js';

const unquote = (etag: string): string =>
  etag
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');

/** Whether a comma-separated `If-Match`/`If-None-Match` list names `etag` (or is `*`). */
export function etagMatches(list: string, etag: string): boolean {
  const want = unquote(etag);
  return list.split(',').some((t) => t.trim() === '*' || unquote(t) === want);
}

/** An HTTP date in epoch ms; undefined when absent or unparsable (S3 then ignores the header). */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** HTTP dates have whole seconds: compare Last-Modified at that precision. */
const secondsFloor = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** 412 PreconditionFailed naming the header that failed. */
export const preconditionFailed = (condition: string): S3Error =>
  new S3Error(
    'PreconditionFailed',
    `At least one of the pre-conditions you specified did not hold (${condition}).`,
    { Condition: condition },
  );

/**
 * GetObject/HeadObject conditions (RFC 7232 order: If-Match before If-Unmodified-Since,
 * If-None-Match before If-Modified-Since). Returns 'not-modified' for a 304, undefined to serve.
 * @throws S3Error PreconditionFailed.
 */
export function checkReadConditions(
  req: IncomingMessage,
  info: ObjectInfo,
): 'not-modified' | undefined {
  const ifMatch = header(req, 'if-match');
  const ifNoneMatch = header(req, 'if-none-match');
  const ifModifiedSince = parseHttpDate(header(req, 'if-modified-since'));
  const ifUnmodifiedSince = parseHttpDate(header(req, 'if-unmodified-since'));
  const lastModified = secondsFloor(info.lastModifiedMs);
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, info.etag)) throw preconditionFailed('If-Match');
  } else if (ifUnmodifiedSince !== undefined && lastModified > ifUnmodifiedSince) {
    throw preconditionFailed('If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, info.etag)) return 'not-modified';
  } else if (ifModifiedSince !== undefined && lastModified <= ifModifiedSince) {
    return 'not-modified';
  }
  return undefined;
}

/**
 * CopyObject/UploadPartCopy's `x-amz-copy-source-if-*` conditions on the source object.
 * @throws S3Error PreconditionFailed naming the failed header.
 */
export function checkCopySourceConditions(req: IncomingMessage, info: ObjectInfo): void {
  const ifMatch = header(req, 'x-amz-copy-source-if-match');
  const ifNoneMatch = header(req, 'x-amz-copy-source-if-none-match');
  const ims = parseHttpDate(header(req, 'x-amz-copy-source-if-modified-since'));
  const ius = parseHttpDate(header(req, 'x-amz-copy-source-if-unmodified-since'));
  const lm = secondsFloor(info.lastModifiedMs);
  if (ifMatch !== undefined && !etagMatches(ifMatch, info.etag))
    throw preconditionFailed('x-amz-copy-source-If-Match');
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, info.etag))
    throw preconditionFailed('x-amz-copy-source-If-None-Match');
  if (ims !== undefined && lm <= ims)
    throw preconditionFailed('x-amz-copy-source-If-Modified-Since');
  if (ius !== undefined && lm > ius)
    throw preconditionFailed('x-amz-copy-source-If-Unmodified-Since');
}

/**
 * Conditional-write headers for the store (it checks them atomically with the write).
 * @throws S3Error NotImplemented for an `If-None-Match` other than `*`.
 */
export function writeConditions(req: IncomingMessage): WriteConditions {
  const ifNoneMatch = header(req, 'if-none-match');
  const ifMatch = header(req, 'if-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw new S3Error(
      'NotImplemented',
      'If-None-Match on writes supports only "*" (create only).',
      { Header: 'If-None-Match' },
    );
  }
  return {
    ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}),
    ...(ifMatch !== undefined ? { ifMatch } : {}),
  };
}
