import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import { header } from './request.js';

/**
 * `x-amz-expected-bucket-owner` (and CopyObject/UploadPartCopy's
 * `x-amz-source-expected-bucket-owner`): one account owns every bucket, so a request that expects
 * another account answers 403 AccessDenied, as AWS does ("If the account ID that you provide does
 * not match the actual owner of the bucket, the request fails with the HTTP status code 403
 * Forbidden (access denied)": botocore's s3 model, ExpectedBucketOwner).
 * @throws S3Error AccessDenied
 */
export function checkExpectedOwner(ctx: S3Context): void {
  if (ctx.bucket === '') return;
  for (const name of ['x-amz-expected-bucket-owner', 'x-amz-source-expected-bucket-owner']) {
    const expected = header(ctx.req, name);
    if (expected !== undefined && expected.trim() !== ctx.env.accountId) {
      throw new S3Error('AccessDenied', 'Access Denied');
    }
  }
}
