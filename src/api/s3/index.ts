export { createS3Api, type S3Api, type S3ApiDeps } from './s3-api.js';
