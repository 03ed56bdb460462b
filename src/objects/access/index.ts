/** Who may do what to buckets and objects: principals, bucket policies, canned ACLs. */
export { hasFullIdentityGrant, principalArn, type Principal } from './principal.js';
export {
  evaluateAccess,
  hasDeny,
  HEADER_CONDITION_KEYS,
  type HeaderConditionKey,
  globMatch,
  isPublic,
  MalformedPolicyError,
  MAX_POLICY_BYTES,
  parseBucketPolicy,
  type AccessDecision,
  type AccessRequest,
  type BucketPolicy,
} from './policy.js';
export { s3ActionOf, type S3Action } from './actions.js';
export {
  AccessStore,
  POLICY_CACHE_TTL_MS,
  type AccessStoreOptions,
  bucketStamp,
  CANNED_ACLS,
  objectStamp,
  type CannedAcl,
} from './access-store.js';
export { accessMigrations } from './migrations.js';
