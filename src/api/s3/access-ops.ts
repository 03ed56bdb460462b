import {
  bucketStamp,
  CANNED_ACLS,
  evaluateAccess,
  HEADER_CONDITION_KEYS,
  hasFullIdentityGrant,
  isPublic,
  MalformedPolicyError,
  objectStamp,
  parseBucketPolicy,
  principalArn,
  s3ActionOf,
  type AccessDecision,
  type BucketInfo,
  type BucketPolicy,
  type HeaderConditionKey,
  type CannedAcl,
} from '../../objects/index.js';
import { parseStoredPolicy, rootDenied, rootDenyPolicy } from '../bucket-deny.js';
import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import { readSmallBody } from './payload.js';
import { copySource, header } from './request.js';
import { send, sendXml } from './response.js';
import { escapeXml } from './xml.js';

/**
 * Who may do what: the one access check of every S3 request ({@link authorize}), bucket policy
 * operations and canned ACLs (`private`, `public-read`).
 */

const accessDenied = (): S3Error => new S3Error('AccessDenied', 'Access Denied');

/** The bucket's policy; `info` is its row when the caller has already read it. */
async function bucketPolicyOf(
  ctx: S3Context,
  bucket: string,
  info?: BucketInfo,
): Promise<BucketPolicy | undefined> {
  const row = info ?? (await ctx.env.store.getBucket(bucket));
  if (!row) return undefined;
  const text = await ctx.env.access.getPolicy(bucket, bucketStamp(row.createdAtMs));
  return text === undefined ? undefined : parseStoredPolicy(ctx.env.accountId, bucket, text);
}

/** Whether a public-read ACL admits reading this bucket (listing) or object. */
async function aclAllowsRead(
  ctx: S3Context,
  bucket: string,
  key: string,
  action: string,
): Promise<boolean> {
  if (key === '' && action === 's3:ListBucket') {
    const info = await ctx.env.store.getBucket(bucket);
    return (
      !!info &&
      (await ctx.env.access.getAcl(bucket, '', bucketStamp(info.createdAtMs))) === 'public-read'
    );
  }
  if (key !== '' && action === 's3:GetObject') {
    const info = await ctx.env.store.headObject(bucket, key).catch(() => undefined);
    return (
      !!info &&
      (await ctx.env.access.getAcl(bucket, key, objectStamp(info.etag, info.lastModifiedMs))) ===
        'public-read'
    );
  }
  return false;
}

/** The access decision for one action on one resource (policy, identity grants, then the ACL). */
async function decide(
  ctx: S3Context,
  bucket: string,
  key: string,
  a: {
    action: string;
    resource: string;
    prefix?: string;
    headerKeys?: Partial<Record<HeaderConditionKey, string>>;
  },
  info?: BucketInfo,
): Promise<AccessDecision> {
  const p = ctx.principal;
  const policy = bucket === '' ? undefined : await bucketPolicyOf(ctx, bucket, info);
  const request = {
    principal: p,
    principalArn: principalArn(p, ctx.env.accountId),
    ...a,
    sourceIp: ctx.sourceIp,
  };
  let decision = evaluateAccess(request, policy);
  if (
    decision === 'implicit-deny' &&
    bucket !== '' &&
    (await aclAllowsRead(ctx, bucket, key, a.action))
  ) {
    decision = evaluateAccess(request, policy, true);
  }
  return decision;
}

function denied(ctx: S3Context): S3Error {
  // An unsigned request keeps the answer it had before policies existed.
  return ctx.principal.kind === 'anonymous'
    ? new S3Error(
        'AccessDenied',
        'Access Denied: the request carries no AWS Signature Version 4 authentication',
      )
    : accessDenied();
}

async function check(
  ctx: S3Context,
  bucket: string,
  key: string,
  a: { action: string; resource: string; prefix?: string },
): Promise<void> {
  if ((await decide(ctx, bucket, key, a)) !== 'allow') throw denied(ctx);
}

/** The header-valued condition keys (s3:x-amz-acl, …) of the request, for its own action only. */
function headerKeys(ctx: S3Context): Partial<Record<HeaderConditionKey, string>> {
  const out: Partial<Record<HeaderConditionKey, string>> = {};
  for (const k of HEADER_CONDITION_KEYS) {
    const v = header(ctx.req, k.slice(3));
    if (v === undefined) continue;
    if (k === 's3:x-amz-copy-source') {
      // AWS matches `bucket/key` (the header may be URL-encoded, with a leading slash).
      const src = copySource(ctx);
      out[k] = `${src.bucket}/${src.key}`;
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** The source of a CopyObject / UploadPartCopy (a PUT of a key with `x-amz-copy-source`). */
function copySourceOf(ctx: S3Context): { bucket: string; key: string } | undefined {
  return ctx.method === 'PUT' &&
    ctx.key !== '' &&
    header(ctx.req, 'x-amz-copy-source') !== undefined
    ? copySource(ctx)
    : undefined;
}

/**
 * The root key: only an explicit Deny of the bucket policy refuses it (AWS), never on
 * Get/Put/DeleteBucketPolicy. Costs no query for a bucket without a Deny (the cache).
 */
async function authorizeRoot(ctx: S3Context): Promise<void> {
  if (ctx.bucket === '') return;
  if (ctx.key === '' && (ctx.method === 'PUT' || ctx.method === 'DELETE')) {
    // CreateBucket/DeleteBucket (and other bucket writes) may start a new incarnation, which has
    // no policy: this replica re-reads it rather than keep the old one's.
    ctx.env.access.forgetPolicy(ctx.bucket);
  }
  const cached = rootDenyPolicy(ctx.env, ctx.bucket);
  const policy = cached instanceof Promise ? await cached : cached;
  if (
    policy &&
    rootDenied(
      ctx.env,
      policy,
      {
        ...s3ActionOf(ctx.method, ctx.bucket, ctx.key, ctx.query),
        sourceIp: ctx.sourceIp,
        headerKeys: headerKeys(ctx),
      },
      ctx.principal,
    )
  ) {
    throw accessDenied();
  }
  const src = copySourceOf(ctx);
  if (src) {
    const srcCached = rootDenyPolicy(ctx.env, src.bucket);
    const srcPolicy = srcCached instanceof Promise ? await srcCached : srcCached;
    // As for users (`check` below): the source's read is judged without the request's headers.
    const action = {
      action: 's3:GetObject',
      resource: `arn:aws:s3:::${src.bucket}/${src.key}`,
      sourceIp: ctx.sourceIp,
    };
    if (srcPolicy && rootDenied(ctx.env, srcPolicy, action, ctx.principal)) throw accessDenied();
  }
}

/**
 * The access decision of one S3 request (AWS's order, see objects/access/policy.ts): root is
 * refused only by an explicit Deny ({@link authorizeRoot}); others by the bucket policy, their
 * own grants and the ACL. A copy also needs read access to its source. @throws S3Error
 * AccessDenied
 */
export async function authorize(ctx: S3Context): Promise<void> {
  if (ctx.principal.kind === 'root') return authorizeRoot(ctx);
  const asked = s3ActionOf(ctx.method, ctx.bucket, ctx.key, ctx.query);
  // Bucket names are global and public (DNS), so S3 answers a missing bucket with 404
  // NoSuchBucket to every caller, anonymous ones included, before any access decision.
  const info = ctx.bucket === '' ? undefined : await ctx.env.store.getBucket(ctx.bucket);
  if (ctx.bucket !== '' && asked.action !== 's3:CreateBucket' && !info) {
    throw new S3Error('NoSuchBucket', undefined, { BucketName: ctx.bucket });
  }
  const missingObject =
    asked.action === 's3:GetObject' &&
    !hasFullIdentityGrant(ctx.principal) &&
    !(await ctx.env.store.headObject(ctx.bucket, ctx.key).catch(() => undefined));
  const decision = await decide(
    ctx,
    ctx.bucket,
    ctx.key,
    { ...asked, headerKeys: headerKeys(ctx) },
    info,
  );
  // S3 answers a missing object with 404 only to whoever may list the bucket; others get 403,
  // so a read grant on a prefix does not reveal which keys exist. A caller who may list sees the
  // 404 even without a read grant (e.g. a public-read bucket whose object is gone): the listing
  // would show the key is absent anyway. An explicit Deny of the read still answers 403.
  if (missingObject && decision !== 'explicit-deny') {
    // As S3 does, the listing asked for is of the key itself (s3:prefix = the key).
    await check(ctx, ctx.bucket, '', {
      action: 's3:ListBucket',
      resource: `arn:aws:s3:::${ctx.bucket}`,
      prefix: ctx.key,
    });
  } else if (decision !== 'allow') {
    throw denied(ctx);
  }
  const src = copySourceOf(ctx);
  if (src) {
    await check(ctx, src.bucket, src.key, {
      action: 's3:GetObject',
      resource: `arn:aws:s3:::${src.bucket}/${src.key}`,
    });
  }
}

async function requireBucketInfo(ctx: S3Context) {
  const info = await ctx.env.store.getBucket(ctx.bucket);
  if (!info) throw new S3Error('NoSuchBucket', undefined, { BucketName: ctx.bucket });
  return info;
}

/** PutBucketPolicy: validated as S3 does (MalformedPolicy with the reason). */
export async function putBucketPolicy(ctx: S3Context): Promise<void> {
  const info = await requireBucketInfo(ctx);
  const text = (await readSmallBody(ctx)).toString('utf8');
  try {
    parseBucketPolicy(text, ctx.bucket, ctx.env.accountId);
  } catch (err) {
    if (err instanceof MalformedPolicyError) throw new S3Error('MalformedPolicy', err.message);
    throw err;
  }
  await ctx.env.access.putPolicy(ctx.bucket, bucketStamp(info.createdAtMs), text);
  send(ctx, 204, {});
}

async function storedPolicy(ctx: S3Context): Promise<string> {
  const info = await requireBucketInfo(ctx);
  const text = await ctx.env.access.getPolicy(ctx.bucket, bucketStamp(info.createdAtMs));
  if (text === undefined) {
    throw new S3Error('NoSuchBucketPolicy', undefined, { BucketName: ctx.bucket });
  }
  return text;
}

/** GetBucketPolicy: the document as it was put. */
export async function getBucketPolicy(ctx: S3Context): Promise<void> {
  send(ctx, 200, { 'content-type': 'application/json' }, await storedPolicy(ctx));
}

/** DeleteBucketPolicy (204 also when there is none, as S3). */
export async function deleteBucketPolicy(ctx: S3Context): Promise<void> {
  await requireBucketInfo(ctx);
  await ctx.env.access.deletePolicy(ctx.bucket);
  send(ctx, 204, {});
}

/** GetBucketPolicyStatus: IsPublic when an Allow grants everyone from any address. */
export async function getBucketPolicyStatus(ctx: S3Context): Promise<void> {
  const policy = parseBucketPolicy(await storedPolicy(ctx), ctx.bucket, ctx.env.accountId);
  sendXml(ctx, 'PolicyStatus', { IsPublic: isPublic(policy) });
}

// ---- canned ACLs ------------------------------------------------------------------------------

const GRANT_HEADERS = [
  'x-amz-grant-read',
  'x-amz-grant-write',
  'x-amz-grant-read-acp',
  'x-amz-grant-write-acp',
  'x-amz-grant-full-control',
];

/**
 * The canned ACL a request asks for (`x-amz-acl`), or undefined when it names none.
 * @throws S3Error NotImplemented for other canned ACLs and x-amz-grant-* headers
 */
export function requestedAcl(ctx: S3Context): CannedAcl | undefined {
  for (const h of GRANT_HEADERS) {
    if (header(ctx.req, h) !== undefined) {
      throw new S3Error(
        'NotImplemented',
        `A header you provided implies functionality that is not implemented: Apiary supports the canned ACLs ${CANNED_ACLS.join(' and ')} only, not ${h}.`,
        { Header: h },
      );
    }
  }
  const acl = header(ctx.req, 'x-amz-acl');
  if (acl === undefined) return undefined;
  // One account owns every bucket and object, so the grants to "the bucket owner" are what
  // private already gives (AWS accepts bucket-owner-full-control under BucketOwnerEnforced too).
  if (acl === 'bucket-owner-full-control' || acl === 'bucket-owner-read') return 'private';
  if (!(CANNED_ACLS as readonly string[]).includes(acl)) {
    throw new S3Error(
      'NotImplemented',
      `A header you provided implies functionality that is not implemented: Apiary supports the canned ACLs ${CANNED_ACLS.join(' and ')} only, not '${acl}'.`,
      { Header: 'x-amz-acl' },
    );
  }
  return acl as CannedAcl;
}

/**
 * Records the ACL a PutObject or CopyObject asked for, after the write and before its reply, so a
 * client that was answered reads it back; `written` is the version the write made (another write
 * of the key in between does not take its ACL). An object written without one is private: the
 * stamp ties an older public-read ACL to the version it was put on. (CreateBucket records its own.)
 */
export async function applyRequestedAcl(
  ctx: S3Context,
  acl: CannedAcl | undefined,
  written: { readonly etag: string; readonly lastModifiedMs: number },
): Promise<void> {
  if (acl === undefined || acl === 'private') return;
  const stamp = objectStamp(written.etag, written.lastModifiedMs);
  await ctx.env.access.putAcl(ctx.bucket, ctx.key, stamp, acl);
}

async function stampOf(ctx: S3Context): Promise<string> {
  if (ctx.key === '') return bucketStamp((await requireBucketInfo(ctx)).createdAtMs);
  await requireBucketInfo(ctx);
  const info = await ctx.env.store.headObject(ctx.bucket, ctx.key);
  if (!info) throw new S3Error('NoSuchKey', undefined, { Key: ctx.key });
  return objectStamp(info.etag, info.lastModifiedMs);
}

/** PutBucketAcl / PutObjectAcl with `x-amz-acl` (a body AccessControlPolicy: NotImplemented). */
export async function putAcl(ctx: S3Context): Promise<void> {
  const stamp = await stampOf(ctx);
  const acl = requestedAcl(ctx);
  const body = await readSmallBody(ctx);
  if (acl === undefined) {
    throw new S3Error(
      'NotImplemented',
      body.length > 0
        ? 'A header you provided implies functionality that is not implemented: Apiary takes ACLs as a canned x-amz-acl header (private or public-read), not as an AccessControlPolicy body.'
        : 'A header you provided implies functionality that is not implemented: PutAcl needs an x-amz-acl header (private or public-read).',
      { Header: 'x-amz-acl' },
    );
  }
  await ctx.env.access.putAcl(ctx.bucket, ctx.key, stamp, acl);
  send(ctx, 200, {});
}

/** GetBucketAcl / GetObjectAcl: the owner's FULL_CONTROL, plus AllUsers READ for public-read. */
export async function getAcl(ctx: S3Context): Promise<void> {
  const acl = await ctx.env.access.getAcl(ctx.bucket, ctx.key, await stampOf(ctx));
  const owner = ctx.env.owner as { ID: string; DisplayName: string };
  const ownerXml = `<ID>${escapeXml(owner.ID)}</ID><DisplayName>${escapeXml(owner.DisplayName)}</DisplayName>`;
  const xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
  const grants = [
    `<Grant><Grantee ${xsi} xsi:type="CanonicalUser">${ownerXml}</Grantee><Permission>FULL_CONTROL</Permission></Grant>`,
  ];
  if (acl === 'public-read') {
    grants.push(
      `<Grant><Grantee ${xsi} xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>`,
    );
  }
  send(
    ctx,
    200,
    {},
    `<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner>${ownerXml}</Owner><AccessControlList>${grants.join('')}</AccessControlList></AccessControlPolicy>`,
  );
}

/** x-amz-acl public-read on CreateMultipartUpload: not kept until completion (yet). */
export const multipartAclUnsupported = (): S3Error =>
  new S3Error(
    'NotImplemented',
    'A header you provided implies functionality that is not implemented: Apiary does not apply x-amz-acl given to CreateMultipartUpload; complete the upload, then PutObjectAcl.',
    { Header: 'x-amz-acl' },
  );
