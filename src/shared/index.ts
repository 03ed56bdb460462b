export * from './errors.js';
export * from './clock.js';
export * from './random.js';
export * from './ids.js';
export * from './arn.js';
export * from './s3-uri.js';
export * from './list-query.js';
export * from './manifest-split.js';
