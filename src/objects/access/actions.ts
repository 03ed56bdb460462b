/**
 * The IAM action and resource ARN of an S3 request (S3's "Actions, resources, and condition keys"
 * table), from its method, bucket, key and query. Pure.
 */

/** Bucket sub-resources and their Get/Put/Delete action names. */
const BUCKET_SUBRESOURCES: Readonly<Record<string, readonly [string, string, string]>> = {
  policy: ['s3:GetBucketPolicy', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy'],
  policyStatus: [
    's3:GetBucketPolicyStatus',
    's3:GetBucketPolicyStatus',
    's3:GetBucketPolicyStatus',
  ],
  acl: ['s3:GetBucketAcl', 's3:PutBucketAcl', 's3:PutBucketAcl'],
  versioning: ['s3:GetBucketVersioning', 's3:PutBucketVersioning', 's3:PutBucketVersioning'],
  tagging: ['s3:GetBucketTagging', 's3:PutBucketTagging', 's3:PutBucketTagging'],
  cors: ['s3:GetBucketCORS', 's3:PutBucketCORS', 's3:PutBucketCORS'],
  encryption: [
    's3:GetEncryptionConfiguration',
    's3:PutEncryptionConfiguration',
    's3:PutEncryptionConfiguration',
  ],
  lifecycle: [
    's3:GetLifecycleConfiguration',
    's3:PutLifecycleConfiguration',
    's3:PutLifecycleConfiguration',
  ],
  location: ['s3:GetBucketLocation', 's3:GetBucketLocation', 's3:GetBucketLocation'],
  ownershipControls: [
    's3:GetBucketOwnershipControls',
    's3:PutBucketOwnershipControls',
    's3:PutBucketOwnershipControls',
  ],
  publicAccessBlock: [
    's3:GetBucketPublicAccessBlock',
    's3:PutBucketPublicAccessBlock',
    's3:PutBucketPublicAccessBlock',
  ],
  versions: ['s3:ListBucketVersions', 's3:ListBucketVersions', 's3:ListBucketVersions'],
  uploads: [
    's3:ListBucketMultipartUploads',
    's3:ListBucketMultipartUploads',
    's3:ListBucketMultipartUploads',
  ],
};

/** What an S3 request asks, for the access decision. */
export interface S3Action {
  readonly action: string;
  readonly resource: string;
  /** ListBucket's `s3:prefix` ('' when the request names none). */
  readonly prefix?: string;
}

const pick = (method: string, names: readonly [string, string, string]): string =>
  method === 'PUT' || method === 'POST' ? names[1] : method === 'DELETE' ? names[2] : names[0];

/** The action of a request; `bucket` '' is the service (ListAllMyBuckets). */
export function s3ActionOf(
  method: string,
  bucket: string,
  key: string,
  query: URLSearchParams,
): S3Action {
  if (bucket === '') return { action: 's3:ListAllMyBuckets', resource: '*' };
  const bucketArn = `arn:aws:s3:::${bucket}`;
  if (key === '') {
    for (const [name, names] of Object.entries(BUCKET_SUBRESOURCES)) {
      if (query.has(name)) return { action: pick(method, names), resource: bucketArn };
    }
    switch (method) {
      case 'PUT':
        return { action: 's3:CreateBucket', resource: bucketArn };
      case 'DELETE':
        return { action: 's3:DeleteBucket', resource: bucketArn };
      // DeleteObjects (?delete) is authorised once, as s3:DeleteObject on the bucket's objects;
      // any other bucket POST is a browser-form upload: s3:PutObject.
      case 'POST':
        return {
          action: query.has('delete') ? 's3:DeleteObject' : 's3:PutObject',
          resource: `${bucketArn}/*`,
        };
      default:
        return { action: 's3:ListBucket', resource: bucketArn, prefix: query.get('prefix') ?? '' };
    }
  }
  const objectArn = `${bucketArn}/${key}`;
  const uploadId = query.has('uploadId');
  const sub = (get: string, put: string, del: string): string =>
    pick(method, [get, put, del] as const);
  if (query.has('acl'))
    return {
      action: sub('s3:GetObjectAcl', 's3:PutObjectAcl', 's3:PutObjectAcl'),
      resource: objectArn,
    };
  if (query.has('tagging')) {
    return {
      action: sub('s3:GetObjectTagging', 's3:PutObjectTagging', 's3:DeleteObjectTagging'),
      resource: objectArn,
    };
  }
  if (query.has('attributes')) return { action: 's3:GetObjectAttributes', resource: objectArn };
  switch (method) {
    case 'GET':
    case 'HEAD':
      return {
        action: uploadId
          ? 's3:ListMultipartUploadParts'
          : query.has('versionId')
            ? 's3:GetObjectVersion'
            : 's3:GetObject',
        resource: objectArn,
      };
    case 'DELETE':
      return {
        action: uploadId
          ? 's3:AbortMultipartUpload'
          : query.has('versionId')
            ? 's3:DeleteObjectVersion'
            : 's3:DeleteObject',
        resource: objectArn,
      };
    default:
      // PUT, CopyObject, UploadPart, Create/CompleteMultipartUpload: all s3:PutObject in IAM.
      return { action: 's3:PutObject', resource: objectArn };
  }
}
