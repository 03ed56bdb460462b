export { createS3Api, fromFastify, type S3Api, type S3ApiDeps, type S3Exchange } from './s3-api.js';
export { S3_ERRORS, s3ErrorStatus, type S3ErrorCode } from './errors.js';
