import { isIP, BlockList } from 'node:net';
import { hasFullIdentityGrant, type Principal } from './principal.js';

/**
 * Bucket policies: parsing with S3's validation (MalformedPolicy with the reason) and evaluation
 * in AWS's order — an explicit Deny wins, then an Allow (bucket policy, the principal's identity
 * grants or a public-read ACL), else the implicit deny. Pure: no I/O.
 */

/** A policy S3 would refuse: the message is S3's MalformedPolicy reason. */
export class MalformedPolicyError extends Error {
  override readonly name = 'MalformedPolicyError';
}

/** S3's size limit of a bucket policy document. */
export const MAX_POLICY_BYTES = 20 * 1024;

type PrincipalSpec =
  { readonly any: true } | { readonly any: false; readonly aws: readonly string[] };

/** A condition Apiary evaluates: operator, context key, values. */
export interface PolicyCondition {
  readonly operator: ConditionOperator;
  readonly key: ConditionKey;
  readonly values: readonly string[];
}

/** One statement, normalised (single values become lists). */
export interface PolicyStatement {
  readonly sid?: string;
  readonly effect: 'Allow' | 'Deny';
  readonly principal: PrincipalSpec;
  readonly actions: readonly string[];
  readonly notAction: boolean;
  readonly resources: readonly string[];
  readonly notResource: boolean;
  readonly conditions: readonly PolicyCondition[];
}

/** A validated bucket policy. */
export interface BucketPolicy {
  readonly statements: readonly PolicyStatement[];
}

const BASE_OPERATORS = [
  'IpAddress',
  'NotIpAddress',
  'StringEquals',
  'StringNotEquals',
  'StringLike',
  'StringNotLike',
] as const;
/** Each operator, its `…IfExists` form (true when the request lacks the key), and `Null`. */
const CONDITION_OPERATORS = [
  ...BASE_OPERATORS,
  ...BASE_OPERATORS.map((o) => `${o}IfExists` as const),
  'Null',
] as const;
type ConditionOperator = (typeof CONDITION_OPERATORS)[number];
/**
 * Condition keys whose value is the request header of the same name (AWS's S3 condition keys):
 * present only when the request sends the header. `s3:x-amz-copy-source` is `bucket/key`.
 */
export const HEADER_CONDITION_KEYS = [
  's3:x-amz-server-side-encryption',
  's3:x-amz-server-side-encryption-customer-algorithm',
  's3:x-amz-acl',
  's3:x-amz-copy-source',
  's3:x-amz-metadata-directive',
  's3:x-amz-storage-class',
] as const;
/** A condition key read from a request header. */
export type HeaderConditionKey = (typeof HEADER_CONDITION_KEYS)[number];
const CONDITION_KEYS = ['aws:SourceIp', 's3:prefix', ...HEADER_CONDITION_KEYS] as const;
type ConditionKey = (typeof CONDITION_KEYS)[number];
const IP_OPERATORS: readonly string[] = ['IpAddress', 'NotIpAddress'];

const STATEMENT_KEYS = new Set([
  'Sid',
  'Effect',
  'Principal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
]);

const asList = (v: unknown, what: string): string[] => {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || !list.every((x) => typeof x === 'string' && x !== '')) {
    throw new MalformedPolicyError(`${what} must be a non-empty string or list of strings`);
  }
  return list as string[];
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function parsePrincipal(v: unknown, accountId: string): PrincipalSpec {
  if (v === '*') return { any: true };
  if (!isObject(v)) throw new MalformedPolicyError('Invalid principal in policy');
  const aws: string[] = [];
  for (const [k, val] of Object.entries(v)) {
    if (k !== 'AWS') {
      throw new MalformedPolicyError(
        `Invalid principal in policy: Apiary supports only "*" and {"AWS": ...} principals, not "${k}"`,
      );
    }
    for (const p of asList(val, 'Principal.AWS')) {
      if (p === '*') return { any: true };
      const ok =
        /^\d{12}$/.test(p) || /^arn:aws:iam::\d{12}:(root|user\/[A-Za-z0-9._@+=,-]+)$/.test(p);
      if (!ok) throw new MalformedPolicyError('Invalid principal in policy');
      const acct = /^\d{12}$/.test(p) ? p : p.split(':')[4]!;
      if (acct !== accountId) {
        throw new MalformedPolicyError(
          `Invalid principal in policy: ${p} is not of this Apiary's account (${accountId})`,
        );
      }
      aws.push(/^\d{12}$/.test(p) ? `arn:aws:iam::${p}:root` : p);
    }
  }
  if (aws.length === 0) throw new MalformedPolicyError('Invalid principal in policy');
  return { any: false, aws };
}

function parseConditions(v: unknown): PolicyCondition[] {
  if (v === undefined) return [];
  if (!isObject(v)) throw new MalformedPolicyError('Condition must be an object');
  const out: PolicyCondition[] = [];
  for (const [operator, block] of Object.entries(v)) {
    if (!(CONDITION_OPERATORS as readonly string[]).includes(operator)) {
      throw new MalformedPolicyError(
        `Apiary does not support the condition operator ${operator} (supported: ${CONDITION_OPERATORS.join(', ')})`,
      );
    }
    if (!isObject(block)) throw new MalformedPolicyError(`Condition ${operator} must be an object`);
    for (const [key, values] of Object.entries(block)) {
      const known = CONDITION_KEYS.find((k) => k.toLowerCase() === key.toLowerCase());
      if (!known) {
        throw new MalformedPolicyError(
          `Apiary does not support the condition key ${key} (supported: ${CONDITION_KEYS.join(', ')})`,
        );
      }
      const list = Array.isArray(values) ? values : [values];
      if (operator === 'Null') {
        // Null's value says whether the key must be absent ("true") or present ("false").
        const flags = list.map((x) => String(x).toLowerCase());
        if (flags.length !== 1 || (flags[0] !== 'true' && flags[0] !== 'false')) {
          throw new MalformedPolicyError(`Condition Null ${key} takes one value, true or false`);
        }
        out.push({ operator: 'Null', key: known, values: flags });
        continue;
      }
      const isIpOp = IP_OPERATORS.includes(operator.replace(/IfExists$/, ''));
      if (isIpOp !== (known === 'aws:SourceIp')) {
        throw new MalformedPolicyError(
          `Apiary does not support the condition ${operator} on ${key}: IpAddress/NotIpAddress apply to aws:SourceIp, String* to the other keys`,
        );
      }
      if (!list.every((x) => typeof x === 'string')) {
        throw new MalformedPolicyError(`Condition ${operator} ${key} values must be strings`);
      }
      if (isIpOp) for (const cidr of list as string[]) parseCidr(cidr);
      out.push({ operator: operator as ConditionOperator, key: known, values: list as string[] });
    }
  }
  return out;
}

function parseCidr(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', bits] = cidr.split('/');
  const v = isIP(address);
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (v === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new MalformedPolicyError(`Invalid IP address or CIDR in condition: ${cidr}`);
  }
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * Parses and validates a bucket policy document for `bucket` as S3 does.
 * @throws MalformedPolicyError naming what is wrong or what Apiary does not support.
 */
export function parseBucketPolicy(text: string, bucket: string, accountId: string): BucketPolicy {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) {
    throw new MalformedPolicyError(`Policies must be no larger than ${MAX_POLICY_BYTES} bytes`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new MalformedPolicyError("Policies must be valid JSON and the first byte must be '{'");
  }
  if (!isObject(doc)) {
    throw new MalformedPolicyError("Policies must be valid JSON and the first byte must be '{'");
  }
  for (const k of Object.keys(doc)) {
    if (k !== 'Version' && k !== 'Id' && k !== 'Statement') {
      throw new MalformedPolicyError(`Unknown field ${k}`);
    }
  }
  if (doc.Version !== undefined && doc.Version !== '2012-10-17' && doc.Version !== '2008-10-17') {
    throw new MalformedPolicyError('The policy must contain a valid version string');
  }
  const raw = doc.Statement;
  if (raw === undefined) throw new MalformedPolicyError('Missing required field Statement');
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0)
    throw new MalformedPolicyError('Could not parse the policy: Statement is empty!');
  const statements = list.map((s): PolicyStatement => {
    if (!isObject(s)) throw new MalformedPolicyError('Statement must be an object');
    for (const k of Object.keys(s)) {
      if (k === 'NotPrincipal') {
        throw new MalformedPolicyError('Apiary does not support NotPrincipal in bucket policies');
      }
      if (!STATEMENT_KEYS.has(k)) throw new MalformedPolicyError(`Unknown field ${k}`);
    }
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') {
      throw new MalformedPolicyError('Invalid effect: ' + String(s.Effect));
    }
    if (s.Principal === undefined)
      throw new MalformedPolicyError('Missing required field Principal');
    if ((s.Action === undefined) === (s.NotAction === undefined)) {
      throw new MalformedPolicyError('Missing required field Action');
    }
    if ((s.Resource === undefined) === (s.NotResource === undefined)) {
      throw new MalformedPolicyError('Missing required field Resource');
    }
    const actions = asList(s.Action ?? s.NotAction, 'Action');
    for (const a of actions) {
      if (a !== '*' && !/^s3:[A-Za-z*?]+$/.test(a)) {
        throw new MalformedPolicyError('Policy has invalid action');
      }
    }
    const resources = asList(s.Resource ?? s.NotResource, 'Resource');
    for (const r of resources) {
      const m = /^arn:aws:s3:::([^/]+)(\/.*)?$/.exec(r);
      // S3: every resource of a bucket policy must be the bucket or under it.
      if (r !== '*' && (!m || !globMatch(m[1]!, bucket))) {
        throw new MalformedPolicyError('Policy has invalid resource');
      }
    }
    return {
      sid: typeof s.Sid === 'string' ? s.Sid : undefined,
      effect: s.Effect,
      principal: parsePrincipal(s.Principal, accountId),
      actions,
      notAction: s.NotAction !== undefined,
      resources,
      notResource: s.NotResource !== undefined,
      conditions: parseConditions(s.Condition),
    };
  });
  return { statements };
}

/** Compiled wildcard patterns: policies are evaluated per request, their patterns are few. */
const globCache = new Map<string, RegExp>();
const GLOB_CACHE_MAX = 4096;

/** IAM's wildcard match: `*` any run, `?` one character; actions compare case-insensitively. */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) {
    return ignoreCase ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
  }
  const cacheKey = (ignoreCase ? 'i:' : 's:') + pattern;
  let re = globCache.get(cacheKey);
  if (!re) {
    re = new RegExp(
      '^' +
        pattern
          .split('')
          .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
          .join('') +
        '$',
      ignoreCase ? 'is' : 's',
    );
    if (globCache.size >= GLOB_CACHE_MAX) globCache.clear();
    globCache.set(cacheKey, re);
  }
  return re.test(value);
}

/** What one request asks: who, which action, on which resource ARN, from where. */
export interface AccessRequest {
  readonly principal: Principal;
  /** The principal's ARN (`arn:aws:iam::<account>:user/<name>` or `:root`); none for anonymous. */
  readonly principalArn?: string;
  /** e.g. `s3:GetObject`. */
  readonly action: string;
  /** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  readonly resource: string;
  readonly sourceIp?: string;
  /** ListBucket's prefix (`s3:prefix`). */
  readonly prefix?: string;
  /** The header-valued condition keys the request carries (its x-amz-acl, …). */
  readonly headerKeys?: Readonly<Partial<Record<HeaderConditionKey, string>>>;
}

/** The decision and, for a denial, whether a statement denied it explicitly. */
export type AccessDecision = 'allow' | 'explicit-deny' | 'implicit-deny';

const ipMatches = (ip: string | undefined, cidrs: readonly string[]): boolean => {
  if (!ip) return false;
  const bare = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  const family = isIP(bare) === 4 ? 'ipv4' : 'ipv6';
  return cidrs.some((c) => {
    const { address, prefix, family: f } = parseCidr(c);
    if (f !== family) return false;
    const list = new BlockList();
    list.addSubnet(address, prefix, f);
    return list.check(bare, family);
  });
};

function conditionHolds(c: PolicyCondition, r: AccessRequest): boolean {
  const ifExists = c.operator.endsWith('IfExists');
  const op = c.operator.replace(/IfExists$/, '');
  const value =
    c.key === 'aws:SourceIp'
      ? r.sourceIp
      : c.key === 's3:prefix'
        ? r.prefix
        : r.headerKeys?.[c.key];
  if (op === 'Null') return (value === undefined) === (c.values[0] === 'true');
  // A key absent from the request: …IfExists holds; otherwise positive operators fail and
  // negated ones hold (IAM's rule).
  if (value === undefined) return ifExists || op.includes('Not');
  if (c.key === 'aws:SourceIp') {
    const hit = ipMatches(value, c.values);
    return op === 'IpAddress' ? hit : !hit;
  }
  const like = op === 'StringLike' || op === 'StringNotLike';
  const hit = c.values.some((v) => (like ? globMatch(v, value) : v === value));
  return op.includes('Not') ? !hit : hit;
}

function principalMatches(s: PolicyStatement, r: AccessRequest): boolean {
  if (s.principal.any) return true;
  if (r.principal.kind === 'anonymous' || !r.principalArn) return false;
  const accountRoot = r.principalArn.replace(/:(user\/.*)$/, ':root');
  return s.principal.aws.some((p) =>
    p.endsWith(':root')
      ? // The account principal: in a Deny it covers every identity of the account; in an
        // Allow it delegates to their identity grants (AWS), i.e. grants nothing by itself.
        s.effect === 'Deny' && p === accountRoot
      : p === r.principalArn,
  );
}

function statementApplies(s: PolicyStatement, r: AccessRequest): boolean {
  if (!principalMatches(s, r)) return false;
  const actionHit = s.actions.some((a) => a === '*' || globMatch(a, r.action, true));
  if (actionHit === s.notAction) return false;
  const resourceHit = s.resources.some((p) => p === '*' || globMatch(p, r.resource));
  if (resourceHit === s.notResource) return false;
  return s.conditions.every((c) => conditionHolds(c, r));
}

/**
 * What the bucket-owning account's root user may always do, whatever the bucket policy denies
 * (AWS: so that it can never lock itself out of a bucket).
 */
const ROOT_UNDENIABLE = new Set([
  's3:getbucketpolicy',
  's3:putbucketpolicy',
  's3:deletebucketpolicy',
]);

/** True when some statement of the policy is a Deny (the only ones that can refuse root). */
export function hasDeny(policy: BucketPolicy): boolean {
  return policy.statements.some((s) => s.effect === 'Deny');
}

/**
 * AWS's evaluation order for one request: an explicit Deny of the bucket policy wins over
 * everything else — for the root key too, except on Get/Put/DeleteBucketPolicy (AWS: root cannot
 * be locked out); then an Allow of the bucket policy, the principal's identity grants (root,
 * admins, notebooks: everything) or the ACL's public grant; else the implicit deny. For root only
 * Deny statements are read: its identity grant already allows everything.
 */
export function evaluateAccess(
  r: AccessRequest,
  policy: BucketPolicy | undefined,
  aclAllows = false,
): AccessDecision {
  if (r.principal.kind === 'root') {
    if (!policy || ROOT_UNDENIABLE.has(r.action.toLowerCase())) return 'allow';
    const denied = policy.statements.some((s) => s.effect === 'Deny' && statementApplies(s, r));
    return denied ? 'explicit-deny' : 'allow';
  }
  const applying = policy ? policy.statements.filter((s) => statementApplies(s, r)) : [];
  if (applying.some((s) => s.effect === 'Deny')) return 'explicit-deny';
  if (applying.some((s) => s.effect === 'Allow')) return 'allow';
  if (hasFullIdentityGrant(r.principal)) return 'allow';
  return aclAllows ? 'allow' : 'implicit-deny';
}

/** True when some Allow statement grants everyone (`*`) from any address: S3's "public". */
export function isPublic(policy: BucketPolicy): boolean {
  return policy.statements.some(
    (s) =>
      s.effect === 'Allow' &&
      s.principal.any &&
      !s.conditions.some((c) => c.operator.startsWith('IpAddress')),
  );
}
