import {
  evaluateAccess,
  hasDeny,
  parseBucketPolicy,
  principalArn,
  type AccessStore,
  type BucketPolicy,
  type HeaderConditionKey,
  type Principal,
} from '../objects/index.js';

/**
 * The one judgement of "does this bucket's policy explicitly deny the account (the root key)
 * this action", shared by the S3 API's root path (s3/access-ops.ts) and the console's S3 and
 * manifest routes, whose admins act for the account. AWS refuses the account root user only by
 * an explicit Deny, never on Get/Put/DeleteBucketPolicy (objects/access/policy.ts).
 */

/** Where a bucket's policy is read from and the account its principals and ARNs name. */
export interface BucketDenyEnv {
  readonly access: AccessStore;
  readonly accountId: string;
}

/** One action on one resource, as a bucket policy judges it. */
export interface DenyQuestion {
  /** AWS's action name, e.g. `s3:DeleteObject`. */
  readonly action: string;
  /** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  readonly resource: string;
  /** ListBucket's `s3:prefix`. */
  readonly prefix?: string;
  /** The header-valued condition keys of the request (its x-amz-acl, …). */
  readonly headerKeys?: Readonly<Partial<Record<HeaderConditionKey, string>>>;
  /** The client's address (aws:SourceIp). */
  readonly sourceIp: string;
}

/** The root key, as the console's admins act. */
export const ROOT: Principal = { kind: 'root' };

/** A stored policy document, parsed; one this version cannot read grants and denies nothing. */
export function parseStoredPolicy(
  accountId: string,
  bucket: string,
  text: string,
): BucketPolicy | undefined {
  try {
    return parseBucketPolicy(text, bucket, accountId);
  } catch {
    // It was valid when it was put (PutBucketPolicy validates).
    return undefined;
  }
}

/**
 * The Deny statements that can refuse the root key in a bucket's policy (undefined: none, the
 * common case), from the access store's per-replica cache: no query per request. A plain value on
 * a cache hit, so a hot path awaits nothing.
 */
export function rootDenyPolicy(
  env: BucketDenyEnv,
  bucket: string,
): BucketPolicy | undefined | Promise<BucketPolicy | undefined> {
  return env.access.cachedPolicy(bucket, (text) => {
    const policy = parseStoredPolicy(env.accountId, bucket, text);
    return policy && hasDeny(policy) ? policy : undefined;
  });
}

/** Whether `policy` (a bucket's Deny statements) explicitly denies `principal` this action. */
export function rootDenied(
  env: BucketDenyEnv,
  policy: BucketPolicy,
  q: DenyQuestion,
  principal: Principal = ROOT,
): boolean {
  const request = {
    principal,
    principalArn: principalArn(principal, env.accountId),
    action: q.action,
    resource: q.resource,
    sourceIp: q.sourceIp,
    ...(q.prefix !== undefined ? { prefix: q.prefix } : {}),
    ...(q.headerKeys ? { headerKeys: q.headerKeys } : {}),
  };
  return evaluateAccess(request, policy) === 'explicit-deny';
}

/**
 * Whether the policy of `bucket` explicitly denies the root key `q` (the cached policy: a bucket
 * without a Deny costs no query).
 */
export async function bucketPolicyDeniesRoot(
  env: BucketDenyEnv,
  bucket: string,
  q: DenyQuestion,
): Promise<boolean> {
  const cached = rootDenyPolicy(env, bucket);
  const policy = cached instanceof Promise ? await cached : cached;
  return !!policy && rootDenied(env, policy, q);
}
