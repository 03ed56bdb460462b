import { textOf } from '../../shared/text.js';
import { requireBucket } from './bucket-ops.js';
import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import { parseXml, readSmallBody } from './payload.js';
import { header } from './request.js';
import { send, sendXml, type Headers } from './response.js';
import { requestedVersion, versionReadError } from './versioning-ops.js';

/** Object tagging (Put/Get/DeleteObjectTagging, `x-amz-tagging`) and bucket tagging. */

/** S3's limits: 10 tags per object, 50 per bucket; keys up to 128 characters, values 256. */
export const MAX_OBJECT_TAGS = 10;
export const MAX_BUCKET_TAGS = 50;
const MAX_TAG_KEY = 128;
const MAX_TAG_VALUE = 256;

const invalidTag = (message: string) => new S3Error('InvalidTag', message);

/** S3 counts a tag's length in Unicode characters (code points), not UTF-16 units. */
const codePoints = (s: string): number => Array.from(s).length;

/** Checks a tag set against S3's rules. @throws S3Error InvalidTag. */
export function validateTags(
  pairs: readonly [string, string][],
  max: number,
): Record<string, string> {
  if (pairs.length > max) throw invalidTag(`Object tags cannot be greater than ${max}.`);
  const tags: Record<string, string> = {};
  for (const [k, v] of pairs) {
    if (k.length === 0 || codePoints(k) > MAX_TAG_KEY)
      throw invalidTag(
        `The TagKey you have provided is invalid: it must be 1 to ${MAX_TAG_KEY} characters.`,
      );
    if (codePoints(v) > MAX_TAG_VALUE)
      throw invalidTag(
        `The TagValue you have provided is invalid: it must be at most ${MAX_TAG_VALUE} characters.`,
      );
    if (k.toLowerCase().startsWith('aws:'))
      throw invalidTag("Your TagKey cannot be prefixed with 'aws:'.");
    if (Object.hasOwn(tags, k))
      throw invalidTag(`Cannot provide multiple Tags with the same key: '${k.slice(0, 128)}'.`);
    tags[k] = v;
  }
  // S3 answers a tag set sorted by key, whatever order it was given in.
  return Object.fromEntries(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The `x-amz-tagging` header (URL query syntax) of a PUT/Create multipart/Copy, if present. */
export function taggingHeader(ctx: S3Context): Record<string, string> | undefined {
  const raw = header(ctx.req, 'x-amz-tagging');
  if (raw === undefined) return undefined;
  return validateTags([...new URLSearchParams(raw).entries()], MAX_OBJECT_TAGS);
}

/** `x-amz-tagging-directive` of a CopyObject: COPY (default) or REPLACE. */
export function taggingDirective(ctx: S3Context): 'COPY' | 'REPLACE' {
  const d = (header(ctx.req, 'x-amz-tagging-directive') ?? 'COPY').toUpperCase();
  if (d !== 'COPY' && d !== 'REPLACE') {
    throw new S3Error(
      'InvalidArgument',
      `Unknown tagging directive '${d.slice(0, 40)}'; use COPY or REPLACE.`,
      { ArgumentName: 'x-amz-tagging-directive' },
    );
  }
  return d;
}

/** `x-amz-tagging-count` for GET/HEAD of an object with tags. */
export function tagCountHeader(
  tags: Readonly<Record<string, string>> | undefined,
  h: Headers,
): Headers {
  const n = tags ? Object.keys(tags).length : 0;
  if (n > 0) h['x-amz-tagging-count'] = n;
  return h;
}

async function readTagSet(ctx: S3Context, max: number): Promise<Record<string, string>> {
  return parseTagging(await readSmallBody(ctx), max);
}

/** A `<Tagging><TagSet>…` document (a request body, or a POST form's `tagging` field). */
export function parseTagging(xml: Buffer, max: number): Record<string, string> {
  const doc = parseXml(xml, 'Tagging');
  const set = doc.TagSet;
  const raw = set && typeof set === 'object' ? (set as Record<string, unknown>).Tag : undefined;
  const list = Array.isArray(raw) ? raw : raw !== undefined ? [raw] : [];
  const pairs: [string, string][] = list.map((t) => {
    const tag = (t ?? {}) as Record<string, unknown>;
    if (tag.Key === undefined) {
      throw new S3Error(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema: every Tag needs a Key.',
      );
    }
    return [textOf(tag.Key), textOf(tag.Value)];
  });
  return validateTags(pairs, max);
}

const tagSetXml = (tags: Readonly<Record<string, string>>) => ({
  TagSet: { Tag: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
});

/** GetObjectTagging (`GET ?tagging`, `?versionId`). */
export async function getObjectTagging(ctx: S3Context): Promise<void> {
  const versionId = requestedVersion(ctx);
  const t = await ctx.env.store
    .getObjectTagging(ctx.bucket, ctx.key, versionId)
    .catch((err: unknown) => Promise.reject(versionReadError(err, versionId)));
  sendXml(
    ctx,
    'Tagging',
    tagSetXml(t.tags),
    t.versionId !== undefined ? { 'x-amz-version-id': t.versionId } : {},
  );
}

/** PutObjectTagging (`PUT ?tagging`): replaces the version's tags. */
export async function putObjectTagging(ctx: S3Context): Promise<void> {
  const versionId = requestedVersion(ctx);
  const tags = await readTagSet(ctx, MAX_OBJECT_TAGS);
  const t = await ctx.env.store
    .putObjectTagging(ctx.bucket, ctx.key, versionId, tags)
    .catch((err: unknown) => Promise.reject(versionReadError(err, versionId)));
  send(ctx, 200, t.versionId !== undefined ? { 'x-amz-version-id': t.versionId } : {});
}

/** DeleteObjectTagging (`DELETE ?tagging`): 204, the version keeps no tags. */
export async function deleteObjectTagging(ctx: S3Context): Promise<void> {
  const versionId = requestedVersion(ctx);
  const t = await ctx.env.store
    .putObjectTagging(ctx.bucket, ctx.key, versionId, {})
    .catch((err: unknown) => Promise.reject(versionReadError(err, versionId)));
  send(ctx, 204, t.versionId !== undefined ? { 'x-amz-version-id': t.versionId } : {});
}

/** GetBucketTagging: NoSuchTagSet when the bucket has none, as S3 answers. */
export async function getBucketTagging(ctx: S3Context): Promise<void> {
  const tags = await ctx.env.store.getBucketTagging(ctx.bucket);
  if (!tags) throw new S3Error('NoSuchTagSet', undefined, { BucketName: ctx.bucket });
  sendXml(ctx, 'Tagging', tagSetXml(tags));
}

/** PutBucketTagging: up to 50 tags. */
export async function putBucketTagging(ctx: S3Context): Promise<void> {
  await requireBucket(ctx);
  const tags = await readTagSet(ctx, MAX_BUCKET_TAGS);
  await ctx.env.store.putBucketTagging(ctx.bucket, tags);
  send(ctx, 204, {});
}

/** DeleteBucketTagging: 204. */
export async function deleteBucketTagging(ctx: S3Context): Promise<void> {
  await ctx.env.store.putBucketTagging(ctx.bucket, undefined);
  send(ctx, 204, {});
}
