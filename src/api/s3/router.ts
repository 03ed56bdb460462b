import {
  createBucket,
  deleteBucket,
  deleteObjects,
  getBucketLocation,
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
import * as access from './access-ops.js';
import { getBucketVersioning, listObjectVersions, putBucketVersioning } from './versioning-ops.js';
import {
  deleteBucketTagging,
  deleteObjectTagging,
  getBucketTagging,
  getObjectTagging,
  putBucketTagging,
  putObjectTagging,
} from './tagging-ops.js';
import { getObjectAttributes } from './object-attributes.js';
import { refuseUnsupported } from './unsupported.js';
import { checkExpectedOwner } from './expected-owner.js';
import { deleteBucketCors, getBucketCors, putBucketCors } from './cors.js';
import { deleteBucketEncryption, getBucketEncryption, putBucketEncryption } from './sse-ops.js';
import { deleteBucketLifecycle, getBucketLifecycle, putBucketLifecycle } from './lifecycle-ops.js';

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
 * @throws S3Error NotImplemented for an unsupported sub-resource or header (`unsupported.ts`),
 *   MethodNotAllowed for the rest.
 */
export async function route(ctx: S3Context): Promise<void> {
  // The one access decision of every request, before anything else is revealed.
  await access.authorize(ctx);
  checkExpectedOwner(ctx);
  refuseUnsupported(ctx);
  if (ctx.bucket === '') {
    if (ctx.method === 'GET') return listBuckets(ctx);
    throw methodNotAllowed(ctx.method, 'the service', 'SERVICE');
  }
  if (ctx.key === '') return bucketOp(ctx);
  return objectOp(ctx);
}

/** Bucket policy and ACL sub-resources; undefined when the request is none of them. */
function accessOp(ctx: S3Context): Promise<void> | undefined {
  const q = ctx.query;
  if (q.has('acl')) {
    if (ctx.method === 'PUT') return access.putAcl(ctx);
    if (ctx.method === 'GET') return access.getAcl(ctx);
    return undefined;
  }
  if (ctx.key !== '') return undefined;
  if (q.has('policyStatus') && ctx.method === 'GET') return access.getBucketPolicyStatus(ctx);
  if (q.has('policy')) {
    if (ctx.method === 'PUT') return access.putBucketPolicy(ctx);
    if (ctx.method === 'GET') return access.getBucketPolicy(ctx);
    if (ctx.method === 'DELETE') return access.deleteBucketPolicy(ctx);
  }
  return undefined;
}

async function bucketOp(ctx: S3Context): Promise<void> {
  const q = ctx.query;
  const accessed = accessOp(ctx);
  if (accessed) return accessed;
  if (q.has('cors')) {
    if (ctx.method === 'PUT') return putBucketCors(ctx);
    if (ctx.method === 'GET') return getBucketCors(ctx);
    if (ctx.method === 'DELETE') return deleteBucketCors(ctx);
  }
  if (q.has('encryption')) {
    if (ctx.method === 'PUT') return putBucketEncryption(ctx);
    if (ctx.method === 'GET') return getBucketEncryption(ctx);
    if (ctx.method === 'DELETE') return deleteBucketEncryption(ctx);
  }
  if (q.has('lifecycle')) {
    if (ctx.method === 'PUT') return putBucketLifecycle(ctx);
    if (ctx.method === 'GET') return getBucketLifecycle(ctx);
    if (ctx.method === 'DELETE') return deleteBucketLifecycle(ctx);
  }
  switch (ctx.method) {
    case 'PUT':
      if (q.has('versioning')) return putBucketVersioning(ctx);
      if (q.has('tagging')) return putBucketTagging(ctx);
      return createBucket(ctx);
    case 'HEAD':
      return headBucket(ctx);
    case 'DELETE':
      if (q.has('tagging')) return deleteBucketTagging(ctx);
      return deleteBucket(ctx);
    case 'GET':
      if (q.has('location')) return getBucketLocation(ctx);
      if (q.has('versioning')) return getBucketVersioning(ctx);
      if (q.has('versions')) return listObjectVersions(ctx);
      if (q.has('tagging')) return getBucketTagging(ctx);
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
  const accessed = accessOp(ctx);
  if (accessed) return accessed;
  if (ctx.query.has('tagging')) {
    if (ctx.method === 'GET') return getObjectTagging(ctx);
    if (ctx.method === 'PUT') return putObjectTagging(ctx);
    if (ctx.method === 'DELETE') return deleteObjectTagging(ctx);
  }
  switch (ctx.method) {
    case 'GET':
      if (ctx.query.has('attributes')) return getObjectAttributes(ctx);
      return uploadId !== null ? listParts(ctx, uploadId) : getObject(ctx);
    case 'HEAD':
      return getObject(ctx);
    case 'PUT':
      return uploadId !== null ? uploadPart(ctx, uploadId) : putObject(ctx);
    case 'DELETE':
      return uploadId !== null ? abortUpload(ctx, uploadId) : deleteObject(ctx);
    case 'POST':
      if (ctx.query.has('uploads')) {
        if (access.requestedAcl(ctx) === 'public-read') throw access.multipartAclUnsupported();
        return createUpload(ctx);
      }
      if (uploadId !== null) return completeUpload(ctx, uploadId);
      break;
  }
  throw methodNotAllowed(ctx.method, 'an object', 'OBJECT');
}
