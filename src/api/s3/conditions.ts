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
 * @throws S3Error NotImplemented for an `If-None-Match` other than `*`: AWS's answer (its API
 *   reference: "Expects the '*' character"; aws-sdk-ruby#3144 shows the 501). Ceph's suite
 *   (test_put_object_if_match) expects an ETag to work too; AWS wins.
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

/** DeleteObject's conditions: `If-Match`, `x-amz-if-match-last-modified-time`, `-size`. */
export function deleteConditions(req: IncomingMessage): {
  readonly ifMatch?: string;
  readonly lastModified?: string;
  readonly size?: string;
} {
  const ifMatch = header(req, 'if-match');
  const lastModified = header(req, 'x-amz-if-match-last-modified-time');
  const size = header(req, 'x-amz-if-match-size');
  return {
    ...(ifMatch !== undefined ? { ifMatch } : {}),
    ...(lastModified !== undefined ? { lastModified } : {}),
    ...(size !== undefined ? { size } : {}),
  };
}

/**
 * Conditional DeleteObject against the current object (undefined: there is none).
 * @throws S3Error NoSuchKey when a condition names an object that does not exist (If-Match: `*`
 *   checks that it exists), PreconditionFailed when one does not hold.
 */
export function checkDeleteConditions(
  c: ReturnType<typeof deleteConditions>,
  info: ObjectInfo | undefined,
  key: string,
): void {
  if (c.ifMatch === undefined && c.lastModified === undefined && c.size === undefined) return;
  if (!info) throw new S3Error('NoSuchKey', undefined, { Key: key });
  if (c.ifMatch !== undefined && !etagMatches(c.ifMatch, info.etag))
    throw preconditionFailed('If-Match');
  if (c.lastModified !== undefined) {
    const ms = Date.parse(c.lastModified);
    if (Number.isNaN(ms) || secondsFloor(ms) !== secondsFloor(info.lastModifiedMs))
      throw preconditionFailed('x-amz-if-match-last-modified-time');
  }
  if (c.size !== undefined && c.size.trim() !== String(info.size))
    throw preconditionFailed('x-amz-if-match-size');
}
