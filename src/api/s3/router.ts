import {
  createBucket,
  deleteBucket,
  deleteObjects,
  getBucketLocation,
  getBucketVersioning,
  headBucket,
  listBuckets,
  listObjects,
} from './bucket-ops.js';
import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import {
  abortUpload,
  completeUpload,
  createUpload,
  listParts,
  listUploads,
  uploadPart,
} from './multipart-ops.js';
import { deleteObject, getObject, putObject } from './object-ops.js';
import { deleteBucketCors, getBucketCors, putBucketCors } from './cors.js';

/** Sub-resources S3 has and Apiary does not implement: a clear 501 instead of a wrong answer. */
const UNSUPPORTED_SUBRESOURCES = [
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'logging',
  'metadataTable',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'session',
  'tagging',
  'torrent',
  'versions',
  'website',
  'renameObject',
] as const;

const methodNotAllowed = (method: string, on: string, resourceType: string): S3Error =>
  new S3Error(
    'MethodNotAllowed',
    `The specified method is not allowed against this resource: ${method} on ${on}.`,
    {
      Method: method,
      ResourceType: resourceType,
    },
  );

/**
 * Picks the operation for a request (service, bucket or object; method; sub-resource) and runs it.
 * @throws S3Error NotImplemented for an unsupported sub-resource, MethodNotAllowed for the rest.
 */
export async function route(ctx: S3Context): Promise<void> {
  for (const name of UNSUPPORTED_SUBRESOURCES) {
    if (ctx.query.has(name)) {
      throw new S3Error(
        'NotImplemented',
        `A header or query you provided implies functionality that is not implemented: '?${name}' is not supported by Apiary.`,
        { Header: name },
      );
    }
  }
  if (ctx.bucket === '') {
    if (ctx.method === 'GET') return listBuckets(ctx);
    throw methodNotAllowed(ctx.method, 'the service', 'SERVICE');
  }
  if (ctx.key === '') return bucketOp(ctx);
  return objectOp(ctx);
}

async function bucketOp(ctx: S3Context): Promise<void> {
  const q = ctx.query;
  if (q.has('cors')) {
    if (ctx.method === 'PUT') return putBucketCors(ctx);
    if (ctx.method === 'GET') return getBucketCors(ctx);
    if (ctx.method === 'DELETE') return deleteBucketCors(ctx);
  }
  switch (ctx.method) {
    case 'PUT':
      return createBucket(ctx);
    case 'HEAD':
      return headBucket(ctx);
    case 'DELETE':
      return deleteBucket(ctx);
    case 'GET':
      if (q.has('location')) return getBucketLocation(ctx);
      if (q.has('versioning')) return getBucketVersioning(ctx);
      if (q.has('uploads')) return listUploads(ctx);
      return listObjects(ctx, q.get('list-type') === '2');
    case 'POST':
      if (q.has('delete')) return deleteObjects(ctx);
      break;
  }
  throw methodNotAllowed(ctx.method, 'a bucket', 'BUCKET');
}

async function objectOp(ctx: S3Context): Promise<void> {
  const uploadId = ctx.query.get('uploadId');
  switch (ctx.method) {
    case 'GET':
      return uploadId !== null ? listParts(ctx, uploadId) : getObject(ctx);
    case 'HEAD':
      return getObject(ctx);
    case 'PUT':
      return uploadId !== null ? uploadPart(ctx, uploadId) : putObject(ctx);
    case 'DELETE':
      return uploadId !== null ? abortUpload(ctx, uploadId) : deleteObject(ctx);
    case 'POST':
      if (ctx.query.has('uploads')) return createUpload(ctx);
      if (uploadId !== null) return completeUpload(ctx, uploadId);
      break;
  }
  throw methodNotAllowed(ctx.method, 'an object', 'OBJECT');
}
