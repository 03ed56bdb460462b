import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
} from 'fastify';
import type { ObjectInfo, ObjectStore } from '../../objects/index.js';
import { bucketPolicyDeniesRoot, type BucketDenyEnv } from '../bucket-deny.js';
import { readJsonBody, sendApiJson } from './http.js';
import { ConsoleError, sendConsoleError } from './errors.js';
import { textOf } from '../../shared/text.js';

const MAX_KEYS = 1000;
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Raster types a browser may show inline; anything else (HTML, SVG, scripts) is a download. */
const INLINE_TYPES = new Set([
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
  'image/bmp',
  'text/plain',
  'application/json',
  'application/x-ndjson',
]);

export const objectView = (o: ObjectInfo) => ({
  key: o.key,
  size: o.size,
  etag: o.etag,
  contentType: o.contentType,
  lastModifiedMs: o.lastModifiedMs,
});

function requireKey(req: FastifyRequest): string {
  const key = (req.query as Record<string, unknown>).key;
  if (typeof key !== 'string' || key === '')
    throw new ConsoleError('ValidationError', 'Pass the object key as ?key=<key>');
  if (Buffer.byteLength(key) > 1024)
    throw new ConsoleError(
      'KeyTooLongError',
      `The key is ${Buffer.byteLength(key)} bytes long; the maximum is 1024`,
    );
  return key;
}

function bucketOf(req: FastifyRequest): string {
  return (req.params as { bucket: string }).bucket;
}

async function requireBucket(objects: ObjectStore, bucket: string): Promise<void> {
  if (!(await objects.getBucket(bucket)))
    throw new ConsoleError('NoSuchBucket', `The bucket '${bucket}' does not exist`);
}

function intParam(raw: unknown, name: string, min: number, max: number, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConsoleError(
      'ValidationError',
      `${name} must be an integer between ${min} and ${max}; got '${textOf(raw)}'`,
    );
  return n;
}

/** One action on a bucket (key absent) or an object, in AWS's names (`s3:GetObject`, …). */
export interface ConsoleS3Action {
  readonly action: string;
  readonly bucket: string;
  readonly key?: string;
  /** ListBucket's `s3:prefix`. */
  readonly prefix?: string;
}

/** Refuses what a bucket policy denies the account; see {@link bucketPolicyGuard}. */
export type BucketPolicyGuard = (
  req: FastifyRequest,
  ...actions: readonly ConsoleS3Action[]
) => Promise<void>;

/**
 * Console admins act for the account (the root key), so what a bucket policy explicitly denies
 * the root key on the S3 API it denies here too (the same judgement, api/bucket-deny.ts): throws
 * 403 `AccessDenied` naming the first denied action. All actions are checked before the caller
 * does any, so a Deny leaves nothing half-done.
 */
export function bucketPolicyGuard(env: BucketDenyEnv): BucketPolicyGuard {
  return async (req, ...actions) => {
    for (const a of actions) {
      const resource =
        a.key === undefined ? `arn:aws:s3:::${a.bucket}` : `arn:aws:s3:::${a.bucket}/${a.key}`;
      const denied = await bucketPolicyDeniesRoot(env, a.bucket, {
        action: a.action,
        resource,
        // The client's address as the S3 API takes it (Fastify's, behind a trusted proxy too).
        sourceIp: req.ip,
        ...(a.prefix !== undefined ? { prefix: a.prefix } : {}),
      });
      if (denied) {
        throw new ConsoleError(
          'AccessDenied',
          `The bucket policy of '${a.bucket}' denies ${a.action} on ${resource}`,
        );
      }
    }
  };
}

/**
 * The console's views of the object store (the same store the S3 API serves; no HTTP hop):
 * buckets, one level of a prefix with server-side paging, streamed uploads, previews and deletes.
 */
export function registerS3Views(
  app: FastifyInstance,
  objects: ObjectStore,
  policies: BucketDenyEnv,
  guard: preHandlerAsyncHookHandler,
): void {
  const obey = bucketPolicyGuard(policies);
  const route = (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  ) =>
    app.route({
      method,
      url,
      preHandler: guard,
      handler: async (req, reply) => {
        try {
          return await handler(req, reply);
        } catch (err) {
          return sendConsoleError(reply, err);
        }
      },
    });

  route('GET', '/_apiary/api/s3/buckets', async (_req, reply) => {
    const buckets = await objects.listBuckets();
    return sendApiJson(reply, {
      buckets: buckets.map((b) => ({ name: b.name, createdAtMs: b.createdAtMs })),
    });
  });

  route('POST', '/_apiary/api/s3/buckets', async (req, reply) => {
    const { name } = ((await readJsonBody(req, 16 * 1024)) ?? {}) as { name?: unknown };
    if (typeof name !== 'string' || !BUCKET_RE.test(name) || name.includes('..')) {
      throw new ConsoleError(
        'InvalidBucketName',
        `The bucket name '${String(name).slice(0, 80)}' is not valid: use 3-63 lower-case letters, digits, dots and hyphens, beginning and ending with a letter or digit`,
      );
    }
    if (await objects.getBucket(name))
      throw new ConsoleError('BucketAlreadyOwnedByYou', `The bucket '${name}' already exists`);
    await objects.createBucket(name);
    // A new incarnation has no policy: forget one cached for an earlier bucket of this name.
    policies.access.forgetPolicy(name);
    return sendApiJson(reply, { name }, 201);
  });

  route('DELETE', '/_apiary/api/s3/buckets/:bucket', async (req, reply) => {
    const bucket = bucketOf(req);
    // Judged on the policy as stored now (as the S3 API's DeleteBucket is), not a cached copy.
    policies.access.forgetPolicy(bucket);
    await obey(req, { action: 's3:DeleteBucket', bucket });
    await requireBucket(objects, bucket);
    const inside = await objects.listObjects(bucket, { maxKeys: 1 });
    if (inside.objects.length > 0) {
      throw new ConsoleError(
        'BucketNotEmpty',
        `The bucket '${bucket}' is not empty: delete its objects first`,
      );
    }
    await objects.deleteBucket(bucket);
    policies.access.forgetPolicy(bucket);
    return sendApiJson(reply, {});
  });

  route('GET', '/_apiary/api/s3/buckets/:bucket/objects', async (req, reply) => {
    const bucket = bucketOf(req);
    const q = req.query as Record<string, string | undefined>;
    await obey(req, { action: 's3:ListBucket', bucket, prefix: q.prefix ?? '' });
    await requireBucket(objects, bucket);
    const maxKeys = intParam(q.maxKeys, 'maxKeys', 1, MAX_KEYS, 100);
    const delimiter = q.delimiter === undefined ? '/' : q.delimiter;
    const r = await objects.listObjects(bucket, {
      prefix: q.prefix ?? '',
      ...(delimiter ? { delimiter } : {}),
      ...(q.startAfter ? { startAfter: q.startAfter } : {}),
      maxKeys,
    });
    return sendApiJson(reply, {
      bucket,
      prefix: q.prefix ?? '',
      objects: r.objects.map(objectView),
      commonPrefixes: r.commonPrefixes,
      isTruncated: r.isTruncated,
      ...(r.isTruncated && r.nextMarker ? { nextMarker: r.nextMarker } : {}),
    });
  });

  // Upload: the body streams straight into the object store (no buffering), one object per request.
  route('PUT', '/_apiary/api/s3/buckets/:bucket/object', async (req, reply) => {
    const bucket = bucketOf(req);
    const key = requireKey(req);
    await obey(req, { action: 's3:PutObject', bucket, key });
    await requireBucket(objects, bucket);
    const type = req.headers['content-type'];
    const info = await objects.putObject(bucket, key, req.raw, {
      contentType: typeof type === 'string' && type !== '' ? type : 'application/octet-stream',
    });
    return sendApiJson(reply, objectView(info), 201);
  });

  route('GET', '/_apiary/api/s3/buckets/:bucket/object', async (req, reply) => {
    const bucket = bucketOf(req);
    const key = requireKey(req);
    await obey(req, { action: 's3:GetObject', bucket, key });
    await requireBucket(objects, bucket);
    const got = await objects.getObject(bucket, key);
    if (!got)
      throw new ConsoleError('NoSuchKey', `The object s3://${bucket}/${key} does not exist`);
    const type = got.info.contentType.split(';')[0]!.trim().toLowerCase();
    const download =
      (req.query as Record<string, unknown>).download !== undefined || !INLINE_TYPES.has(type);
    const filename =
      key
        .split('/')
        .pop()!
        .replace(/[^\w.-]+/g, '_') || 'object';
    return (
      reply
        .code(200)
        .header(
          'content-type',
          download && !INLINE_TYPES.has(type) ? 'application/octet-stream' : got.info.contentType,
        )
        .header('content-length', String(got.info.size))
        .header('etag', got.info.etag)
        .header('cache-control', 'private, no-cache')
        .header('x-content-type-options', 'nosniff')
        // User content never runs as a page of this origin.
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header(
          'content-disposition',
          `${download ? 'attachment' : 'inline'}; filename="${filename}"`,
        )
        .send(got.body)
    );
  });

  route('DELETE', '/_apiary/api/s3/buckets/:bucket/object', async (req, reply) => {
    const bucket = bucketOf(req);
    const key = requireKey(req);
    await obey(req, { action: 's3:DeleteObject', bucket, key });
    await requireBucket(objects, bucket);
    await objects.deleteObject(bucket, key);
    return sendApiJson(reply, {});
  });
}
