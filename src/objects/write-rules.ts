import { ObjectStoreError } from './errors.js';
import type { WriteConditions } from './object-store.js';

/** An ETag without its quotes (clients send both forms). */
export const unquote = (etag: string): string => etag.trim().replace(/^"(.*)"$/, '$1');

/** S3's conditional writes, checked inside the commit's transaction against the current row. */
export function checkConditions(
  current: { etag: string } | undefined,
  c: WriteConditions,
  key: string,
): void {
  if (c.ifNoneMatch !== undefined) {
    if (
      current &&
      (c.ifNoneMatch.trim() === '*' || unquote(c.ifNoneMatch) === unquote(current.etag))
    ) {
      throw new ObjectStoreError(
        'PreconditionFailed',
        `At least one of the pre-conditions you specified did not hold: '${key}' already exists (If-None-Match).`,
        { Condition: 'If-None-Match' },
      );
    }
  }
  if (c.ifMatch !== undefined) {
    if (!current) {
      throw new ObjectStoreError('NoSuchKey', 'The specified key does not exist.', { Key: key });
    }
    if (c.ifMatch.trim() !== '*' && unquote(c.ifMatch) !== unquote(current.etag)) {
      throw new ObjectStoreError(
        'PreconditionFailed',
        `At least one of the pre-conditions you specified did not hold: the ETag of '${key}' is ${current.etag} (If-Match).`,
        { Condition: 'If-Match' },
      );
    }
  }
}

/** Content-MD5 against the digest of what arrived. @throws InvalidDigest, BadDigest. */
export function md5Check(expectedBase64: string | undefined, actual: Buffer): void {
  if (expectedBase64 === undefined) return;
  const expected = Buffer.from(expectedBase64, 'base64');
  if (expected.length !== 16 || expected.toString('base64') !== expectedBase64.trim()) {
    throw new ObjectStoreError(
      'InvalidDigest',
      'The Content-MD5 you specified is not valid: it must be the base64 of a 16-byte MD5 digest.',
    );
  }
  if (!expected.equals(actual)) {
    throw new ObjectStoreError(
      'BadDigest',
      'The Content-MD5 you specified did not match what we received.',
      {
        ExpectedDigest: expectedBase64,
        CalculatedDigest: actual.toString('base64'),
      },
    );
  }
}
