import type { ObjectStore } from '../objects/index.js';

/** The part of the object store port the training context uses. */
export type TrainingObjectStore = Pick<
  ObjectStore,
  | 'getBucket'
  | 'headObject'
  | 'getObject'
  | 'getObjectBuffer'
  | 'putObject'
  | 'listObjects'
  | 'deleteObject'
  | 'localPath'
>;
