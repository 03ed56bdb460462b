import { bucketNameProblem, bucketStamp, isObjectStoreError } from '../../objects/index.js';
import { requestedAcl } from './access-ops.js';
import type { S3Context } from './context.js';
import { S3Error, S3_ERRORS } from './errors.js';
import { parseXml, readSmallBody } from './payload.js';
import { decodeToken, encodeToken, intParam, urlEncodeKey } from './request.js';
import { send, sendXml } from './response.js';
import { escapeXml, isoTime, type XmlNode, type XmlValue } from './xml.js';
import { textOf } from '../../shared/text.js';

/** Bucket-level operations: list/create/head/delete buckets, list and batch-delete objects. */

/** ListBuckets: `max-buckets` (1–10,000), `continuation-token`, `prefix`, `bucket-region`. */
export async function listBuckets(ctx: S3Context): Promise<void> {
  const q = ctx.query;
  const maxBuckets = intParam(q, 'max-buckets', 10_000, 1, 10_000);
  const token = q.get('continuation-token') || undefined;
  const after = token !== undefined ? decodeToken(token) : undefined;
  const prefix = q.get('prefix') ?? '';
  const region = q.get('bucket-region');
  // Every bucket lives in the server's one region: another region lists none.
  const all =
    region !== null && region !== '' && region !== ctx.env.region
      ? []
      : await ctx.env.store.listBuckets();
  const matching = all.filter(
    (b) => b.name.startsWith(prefix) && (after === undefined || b.name > after),
  );
  const page = matching.slice(0, maxBuckets);
  const truncated = matching.length > page.length;
  sendXml(ctx, 'ListAllMyBucketsResult', {
    Owner: ctx.env.owner,
    Buckets: {
      Bucket: page.map((b) => ({
        Name: b.name,
        CreationDate: isoTime(b.createdAtMs),
        BucketRegion: ctx.env.region,
      })),
    },
    ContinuationToken: truncated ? encodeToken(page[page.length - 1]!.name) : undefined,
    Prefix: q.has('prefix') ? prefix : undefined,
  });
}

/**
 * CreateBucket; a `CreateBucketConfiguration` body is checked ({@link checkBucketConfiguration}).
 * Creating a bucket the account already owns answers as AWS does in the server's region: 200 in
 * us-east-1, which also resets the bucket's ACL (to the request's `x-amz-acl`, else private;
 * recorded before the reply), 409 BucketAlreadyOwnedByYou in every other region
 * (botocore's s3 model, BucketAlreadyOwnedByYou: "For legacy compatibility, if you re-create an
 * existing bucket that you already own in the North Virginia Region, Amazon S3 returns 200 OK and
 * resets the bucket access control lists"). Nothing else of the bucket changes: its objects,
 * versioning, policy and other settings stay (ceph's test_bucket_recreate_not_overriding).
 */
export async function createBucket(ctx: S3Context): Promise<void> {
  const acl = requestedAcl(ctx);
  const problem = bucketNameProblem(ctx.bucket);
  if (problem) {
    throw new S3Error(
      'InvalidBucketName',
      `The specified bucket is not valid: '${ctx.bucket.slice(0, 80)}' ${problem}.`,
      { BucketName: ctx.bucket.slice(0, 255) },
    );
  }
  const body = await readSmallBody(ctx);
  if (body.length > 0) checkBucketConfiguration(ctx, parseXml(body, 'CreateBucketConfiguration'));
  let recreated = false;
  try {
    await ctx.env.store.createBucket(ctx.bucket);
  } catch (err) {
    if (!isObjectStoreError(err) || err.code !== 'BucketAlreadyOwnedByYou') throw err;
    if (ctx.env.region !== 'us-east-1') throw err;
    recreated = true;
  }
  // Before the reply: a re-created bucket's ACL is reset to the request's (private when it names
  // none); a new bucket has none recorded (private), so only another ACL is written.
  if (recreated || (acl !== undefined && acl !== 'private')) {
    const info = await ctx.env.store.getBucket(ctx.bucket);
    if (info) {
      await ctx.env.access.putAcl(ctx.bucket, '', bucketStamp(info.createdAtMs), acl ?? 'private');
    }
  }
  send(ctx, 200, { location: `/${ctx.bucket}` });
}

/**
 * CreateBucketConfiguration: every bucket lives in the server's one region, so a
 * `LocationConstraint` naming another region is refused as AWS refuses it at a regional endpoint
 * (400 IllegalLocationConstraintException), never created elsewhere in silence. `us-east-1` named
 * on a us-east-1 server is accepted (AWS would answer InvalidLocationConstraint: the bucket is
 * where it asked to be either way). Directory-bucket and other elements → 501 naming them.
 * @throws S3Error IllegalLocationConstraintException, NotImplemented
 */
function checkBucketConfiguration(ctx: S3Context, config: Record<string, unknown>): void {
  for (const name of Object.keys(config)) {
    if (name !== 'LocationConstraint') {
      throw new S3Error(
        'NotImplemented',
        `A header you provided implies functionality that is not implemented: Apiary does not implement <${name.slice(0, 40)}> in CreateBucketConfiguration (only LocationConstraint).`,
      );
    }
  }
  const wanted = textOf(config.LocationConstraint).trim();
  // 'EU' is S3's old name of eu-west-1.
  const region = wanted === 'EU' ? 'eu-west-1' : wanted;
  if (region !== '' && region !== ctx.env.region) {
    throw new S3Error(
      'IllegalLocationConstraintException',
      `The ${wanted.slice(0, 40)} location constraint is incompatible for the region specific endpoint this request was sent to (${ctx.env.region}).`,
    );
  }
}

/** @throws S3Error NoSuchBucket. */
export async function requireBucket(ctx: S3Context): Promise<void> {
  if (!(await ctx.env.store.getBucket(ctx.bucket))) {
    throw new S3Error('NoSuchBucket', undefined, { BucketName: ctx.bucket });
  }
}

/** HeadBucket: 200 with the region, or 404. */
export async function headBucket(ctx: S3Context): Promise<void> {
  await requireBucket(ctx);
  send(ctx, 200, { 'x-amz-bucket-region': ctx.env.region });
}

/** DeleteBucket (the store refuses a bucket that is not empty). */
export async function deleteBucket(ctx: S3Context): Promise<void> {
  await ctx.env.store.deleteBucket(ctx.bucket);
  send(ctx, 204, {});
}

/** GetBucketLocation: empty for us-east-1, as S3 answers. */
export async function getBucketLocation(ctx: S3Context): Promise<void> {
  await requireBucket(ctx);
  const location = ctx.env.region === 'us-east-1' ? '' : escapeXml(ctx.env.region);
  send(
    ctx,
    200,
    {},
    `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${location}</LocationConstraint>`,
  );
}

/** ListObjects (v1, `marker`) and ListObjectsV2 (`continuation-token`, `start-after`). */
export async function listObjects(ctx: S3Context, v2: boolean): Promise<void> {
  const q = ctx.query;
  const encode = q.get('encoding-type');
  if (encode !== null && encode !== 'url') {
    throw new S3Error(
      'InvalidArgument',
      `Invalid Encoding Method specified in Request: '${encode.slice(0, 40)}'; the only one is 'url'.`,
      { ArgumentName: 'encoding-type' },
    );
  }
  const enc = encode === 'url' ? urlEncodeKey : (s: string) => s;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = intParam(q, 'max-keys', 1000, 0, 1000);
  // An empty continuation-token is no token (AWS accepts it and starts from the beginning).
  const token = v2 ? q.get('continuation-token') || null : null;
  const startAfter = v2 ? q.get('start-after') : q.get('marker');
  const after = token !== null ? decodeToken(token) : startAfter || undefined;
  const page = await ctx.env.store.listObjects(ctx.bucket, {
    prefix,
    ...(delimiter ? { delimiter } : {}),
    ...(after !== undefined ? { startAfter: after } : {}),
    maxKeys,
  });
  const contents: XmlNode[] = page.objects.map((o) => ({
    Key: enc(o.key),
    LastModified: isoTime(o.lastModifiedMs),
    ETag: o.etag,
    Size: o.size,
    Owner: !v2 || q.get('fetch-owner') === 'true' ? ctx.env.owner : undefined,
    StorageClass: 'STANDARD',
  }));
  const next = page.isTruncated ? page.nextMarker : undefined;
  const children: Record<string, XmlValue> = { Name: ctx.bucket, Prefix: enc(prefix) };
  if (v2) {
    children.ContinuationToken = q.has('continuation-token') ? (token ?? '') : undefined;
    children.NextContinuationToken = next !== undefined ? encodeToken(next) : undefined;
    children.StartAfter = startAfter ? enc(startAfter) : undefined;
    children.KeyCount = page.objects.length + page.commonPrefixes.length;
  } else {
    children.Marker = enc(startAfter ?? '');
    children.NextMarker = next !== undefined ? enc(next) : undefined;
  }
  children.MaxKeys = maxKeys;
  children.Delimiter = delimiter ? enc(delimiter) : undefined;
  children.EncodingType = encode ? 'url' : undefined;
  children.IsTruncated = page.isTruncated;
  children.Contents = contents;
  children.CommonPrefixes = page.commonPrefixes.map((p) => ({ Prefix: enc(p) }));
  sendXml(ctx, 'ListBucketResult', children);
}

/** DeleteObjects (`POST ?delete`): 1 to 1,000 keys, `Quiet` leaves out the deleted ones. */
export async function deleteObjects(ctx: S3Context): Promise<void> {
  await requireBucket(ctx);
  const body = await readSmallBody(ctx);
  const del = parseXml(body, 'Delete');
  const objects = (del.Object as Record<string, unknown>[] | undefined) ?? [];
  if (objects.length === 0 || objects.length > 1000) {
    throw new S3Error(
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema: a Delete request names 1 to 1,000 objects.',
    );
  }
  const quiet = textOf(del.Quiet).trim().toLowerCase() === 'true';
  const keys: { key: string; versionId?: string }[] = [];
  const errors: XmlNode[] = [];
  for (const o of objects) {
    const key = typeof o.Key === 'string' ? o.Key : undefined;
    if (key === undefined || key === '') {
      throw new S3Error(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema: every Object needs a Key.',
      );
    }
    // A per-key failure is an <Error> entry of the 200 answer, in the catalog's words.
    if (Buffer.byteLength(key) > 1024) {
      errors.push({
        Key: key,
        Code: 'KeyTooLongError',
        Message: S3_ERRORS.KeyTooLongError.message,
      });
    } else {
      const versionId = textOf(o.VersionId).trim();
      keys.push(versionId ? { key, versionId } : { key });
    }
  }
  const results = await ctx.env.store.deleteObjectVersions(ctx.bucket, keys);
  sendXml(ctx, 'DeleteResult', {
    Deleted: quiet
      ? []
      : results.map((r) => ({
          Key: r.key,
          VersionId: r.versionId,
          DeleteMarker: r.deleteMarker,
          DeleteMarkerVersionId: r.deleteMarkerVersionId,
        })),
    Error: errors,
  });
}
