export { createS3Api, type S3Api, type S3ApiDeps } from './s3-api.js';
export { S3_ERRORS, s3ErrorStatus, type S3ErrorCode } from './errors.js';
