import { createHmac, timingSafeEqual } from 'node:crypto';
import { deriveSigningKey } from '../sigv4/index.js';
import { S3Error } from './errors.js';

/**
 * Browser POST uploads' policy documents (S3's "POST policy"): the base64 JSON `policy` field with
 * `expiration` and `conditions`, its V4 (`x-amz-signature`) and V2 (`signature`) signatures.
 */

/** One condition of a policy, with its JSON text for the error that names it. */
export type PolicyCondition =
  | {
      readonly op: 'eq' | 'starts-with';
      readonly field: string;
      readonly value: string;
      readonly text: string;
    }
  | {
      readonly op: 'content-length-range';
      readonly min: number;
      readonly max: number;
      readonly text: string;
    };

export interface PostPolicy {
  readonly expirationMs: number;
  readonly conditions: readonly PolicyCondition[];
}

/** Form fields no condition needs to name (AWS: signatures, the file, the policy, `x-ignore-*`). */
const EXEMPT = new Set(['policy', 'x-amz-signature', 'signature', 'awsaccesskeyid', 'file']);

const invalid = (why: string): S3Error =>
  new S3Error('InvalidPolicyDocument', `Invalid Policy: ${why}`);

const deniedBy = (why: string): S3Error =>
  new S3Error('AccessDenied', `Invalid according to Policy: ${why}`);

/**
 * Decodes and validates a policy document.
 * @throws S3Error InvalidPolicyDocument for bad base64/JSON, a missing or invalid expiration or
 * conditions, an unknown condition.
 */
export function parsePolicy(base64: string): PostPolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
  } catch {
    throw invalid('Invalid JSON.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('Invalid JSON.');
  const d = doc as Record<string, unknown>;
  if (d.expiration === undefined) throw invalid('Policy missing expiration.');
  const expirationMs =
    typeof d.expiration === 'string' && /^\d{4}-\d\d-\d\dT/.test(d.expiration)
      ? Date.parse(d.expiration)
      : NaN;
  if (!Number.isFinite(expirationMs)) {
    throw invalid(
      `Invalid 'expiration' value: '${JSON.stringify(d.expiration ?? null).slice(0, 60)}'`,
    );
  }
  if (d.conditions === undefined) throw invalid('Policy missing conditions.');
  if (!Array.isArray(d.conditions)) throw invalid("Invalid 'conditions' value: must be a list.");
  const conditions: PolicyCondition[] = [];
  for (const c of d.conditions as unknown[]) {
    const text = JSON.stringify(c) ?? 'null';
    if (Array.isArray(c)) {
      const op = String(c[0]).toLowerCase();
      if (op === 'content-length-range') {
        const [min, max] = [Number(c[1]), Number(c[2])];
        if (
          c.length !== 3 ||
          !Number.isInteger(min) ||
          !Number.isInteger(max) ||
          min < 0 ||
          max < min
        ) {
          throw invalid(`Invalid content-length-range condition: ${text.slice(0, 200)}`);
        }
        conditions.push({ op, min, max, text });
        continue;
      }
      if ((op !== 'eq' && op !== 'starts-with') || c.length !== 3) {
        throw invalid(`Invalid Condition: ${text.slice(0, 200)}`);
      }
      if (typeof c[1] !== 'string' || !c[1].startsWith('$') || typeof c[2] !== 'string') {
        throw invalid(`Invalid Condition: ${text.slice(0, 200)}`);
      }
      conditions.push({ op, field: c[1].slice(1).toLowerCase(), value: c[2], text });
    } else if (typeof c === 'object' && c !== null) {
      const entries = Object.entries(c);
      if (entries.length !== 1 || typeof entries[0]![1] !== 'string') {
        throw invalid(`Invalid Simple-Condition: ${text.slice(0, 200)}`);
      }
      const [field, value] = entries[0] as [string, string];
      conditions.push({ op: 'eq', field: field.toLowerCase(), value, text });
    } else {
      throw invalid(`Invalid Condition: ${text.slice(0, 200)}`);
    }
  }
  return { expirationMs, conditions };
}

/** The size bounds a policy puts on the file (`content-length-range`). */
export interface SizeRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Checks the form against the policy: not expired, every condition holds (`bucket` is the
 * request's bucket, `key` the key after `${filename}`), every field is named by a condition.
 * @returns the content-length-range to enforce while the file streams (undefined: none).
 * @throws S3Error AccessDenied "Invalid according to Policy: …".
 */
export function checkPolicy(
  policy: PostPolicy,
  fields: ReadonlyMap<string, string>,
  bucket: string,
  nowMs: number,
): SizeRange | undefined {
  if (nowMs > policy.expirationMs) throw deniedBy('Policy expired.');
  const value = (field: string): string | undefined =>
    field === 'bucket' ? bucket : fields.get(field);
  let range: SizeRange | undefined;
  const named = new Set<string>();
  for (const c of policy.conditions) {
    if (c.op === 'content-length-range') {
      range = { min: c.min, max: c.max };
      continue;
    }
    named.add(c.field);
    const v = value(c.field);
    const ok =
      c.op === 'eq' ? v === c.value : c.value === '' || (v !== undefined && v.startsWith(c.value));
    if (!ok) throw deniedBy(`Policy Condition failed: ${c.text}`);
  }
  for (const name of fields.keys()) {
    if (EXEMPT.has(name) || name.startsWith('x-ignore-') || named.has(name)) continue;
    // A checksum field only makes the upload stricter (the file must match it); AWS accepts one
    // the policy does not name (ceph's test_post_object_upload_checksum, not marked fails_on_aws).
    if (name.startsWith('x-amz-checksum-')) continue;
    throw deniedBy(`Extra input fields: ${name}`);
  }
  return range;
}

const equalText = (a: string, b: string): boolean => {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
};

/** A V4 POST signature: `x-amz-credential` parsed, and the check of `x-amz-signature`. */
export interface PostSignature {
  readonly accessKeyId: string;
  /** True when `secret` signed the policy as the form says. */
  matches(secret: string): boolean;
}

/**
 * The signature scheme of a form with a policy: V4 (`x-amz-algorithm`, `x-amz-credential`,
 * `x-amz-date`, `x-amz-signature`) or V2 (`AWSAccessKeyId`, `signature`).
 * @throws S3Error InvalidArgument / InvalidRequest when the fields are missing or malformed.
 */
export function postSignature(
  fields: ReadonlyMap<string, string>,
  policyB64: string,
): PostSignature {
  const v4sig = fields.get('x-amz-signature');
  if (v4sig !== undefined || fields.has('x-amz-credential') || fields.has('x-amz-algorithm')) {
    const algorithm = fields.get('x-amz-algorithm');
    if (algorithm !== 'AWS4-HMAC-SHA256') {
      throw new S3Error(
        'InvalidArgument',
        `Invalid argument: x-amz-algorithm must be AWS4-HMAC-SHA256, got '${(algorithm ?? '').slice(0, 40)}'.`,
        { ArgumentName: 'x-amz-algorithm', ArgumentValue: (algorithm ?? '').slice(0, 40) },
      );
    }
    const credential = fields.get('x-amz-credential') ?? '';
    const parts = credential.split('/');
    if (
      parts.length !== 5 ||
      parts[0] === '' ||
      !/^\d{8}$/.test(parts[1]!) ||
      parts[4] !== 'aws4_request'
    ) {
      throw new S3Error(
        'InvalidArgument',
        `Invalid argument: x-amz-credential must be <key>/<yyyymmdd>/<region>/s3/aws4_request, got '${credential.slice(0, 120)}'.`,
        { ArgumentName: 'x-amz-credential', ArgumentValue: credential.slice(0, 120) },
      );
    }
    if (v4sig === undefined || fields.get('x-amz-date') === undefined) {
      throw new S3Error(
        'InvalidArgument',
        `Bucket POST must contain the field '${v4sig === undefined ? 'x-amz-signature' : 'x-amz-date'}'.`,
        { ArgumentName: v4sig === undefined ? 'x-amz-signature' : 'x-amz-date' },
      );
    }
    const [accessKeyId, date, region, service] = parts as [string, string, string, string];
    return {
      accessKeyId,
      matches: (secret) =>
        equalText(
          createHmac('sha256', deriveSigningKey(secret, date, region, service))
            .update(policyB64, 'utf8')
            .digest('hex'),
          v4sig.toLowerCase(),
        ),
    };
  }
  const accessKeyId = fields.get('awsaccesskeyid');
  const signature = fields.get('signature');
  if (accessKeyId === undefined || signature === undefined) {
    throw new S3Error(
      'InvalidArgument',
      `Bucket POST must contain a field named '${accessKeyId === undefined ? 'AWSAccessKeyId' : 'signature'}' when it has a policy.`,
      { ArgumentName: accessKeyId === undefined ? 'AWSAccessKeyId' : 'signature' },
    );
  }
  return {
    accessKeyId,
    matches: (secret) =>
      equalText(createHmac('sha1', secret).update(policyB64, 'utf8').digest('base64'), signature),
  };
}
