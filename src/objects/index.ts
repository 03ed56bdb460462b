export type {
  ObjectStore,
  ObjectInfo,
  BucketInfo,
  PutObjectOptions,
  ListObjectsOptions,
  ListObjectsResult,
} from './object-store.js';
export { objectsMigrations, createObjectStore } from './placeholder.js';
