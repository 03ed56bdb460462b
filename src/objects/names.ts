import { ObjectStoreError } from './errors.js';

/** S3 keys are at most 1,024 bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4_RE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** Why `name` breaks S3's bucket naming rules, or undefined when it follows them. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be between 3 and 63 characters long';
  if (!BUCKET_RE.test(name)) {
    return 'may contain only lower-case letters, digits, dots and hyphens, and must begin and end with a letter or digit';
  }
  if (name.includes('..')) return 'must not contain two adjacent periods';
  if (name.includes('.-') || name.includes('-.'))
    return 'must not contain a period next to a hyphen';
  if (IPV4_RE.test(name)) return 'must not be formatted as an IP address';
  for (const p of RESERVED_PREFIXES) if (name.startsWith(p)) return `must not start with '${p}'`;
  for (const s of RESERVED_SUFFIXES) if (name.endsWith(s)) return `must not end with '${s}'`;
  return undefined;
}

/** @throws ObjectStoreError InvalidBucketName naming the rule that `name` breaks. */
export function assertBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem) {
    throw new ObjectStoreError(
      'InvalidBucketName',
      `The specified bucket is not valid: '${name.slice(0, 80)}' ${problem}.`,
      { BucketName: name.slice(0, 255) },
    );
  }
}

/** @throws ObjectStoreError KeyTooLongError (over 1,024 bytes) or InvalidArgument (empty). */
export function assertKey(key: string): void {
  if (key.length === 0) {
    throw new ObjectStoreError(
      'InvalidArgument',
      'Object keys must be at least one character long.',
    );
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new ObjectStoreError(
      'KeyTooLongError',
      `Your key is too long: ${bytes} bytes of UTF-8; the maximum is ${MAX_KEY_BYTES}.`,
      { Size: String(bytes), MaxSizeAllowed: String(MAX_KEY_BYTES) },
    );
  }
}

/**
 * The smallest string greater than every string that starts with `prefix`, in code-point (= UTF-8
 * byte) order; undefined when none exists. Lets a listing skip a whole common prefix in one query.
 */
export function prefixSuccessor(prefix: string): string | undefined {
  const cps = Array.from(prefix);
  while (cps.length > 0) {
    const last = cps.pop()!.codePointAt(0)!;
    let next = last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return cps.join('') + String.fromCodePoint(next);
  }
  return undefined;
}
