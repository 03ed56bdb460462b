import type { Kysely } from 'kysely';
import type { MigrationSet } from '../../store/index.js';
import { BucketConfigTable } from '../bucket-config-store.js';
import type { LifecycleRule } from './rules.js';

/** Where bucket lifecycle configurations are kept (the S3 API and the lifecycle sweep). */
export interface BucketLifecycleStore {
  /** The bucket's rules, or undefined when it has none (or the bucket does not exist). */
  get(bucket: string): Promise<readonly LifecycleRule[] | undefined>;
  /** Replaces the rules; false when the bucket does not exist. */
  put(bucket: string, rules: readonly LifecycleRule[]): Promise<boolean>;
  delete(bucket: string): Promise<void>;
  /** Every bucket with a configuration, a page at a time (after `afterBucket`). */
  list(
    afterBucket: string,
    limit: number,
  ): Promise<{ bucket: string; rules: readonly LifecycleRule[] }[]>;
}

/** `s3_bucket_lifecycle` (0160): one row per bucket; the rules as JSON. */
export const bucketLifecycleMigrations: MigrationSet = {
  '0160_s3_bucket_lifecycle': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('s3_bucket_lifecycle')
        .addColumn('bucket', 'text', (c) => c.primaryKey())
        // The bucket's creation time: a bucket deleted and created again starts without rules.
        .addColumn('bucket_created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('rules', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

/** {@link BucketLifecycleStore} in the database, beside the object store's tables. */
export class BucketLifecycleRepository implements BucketLifecycleStore {
  private readonly table: BucketConfigTable<readonly LifecycleRule[]>;
  constructor(db: Kysely<any>) {
    this.table = new BucketConfigTable(db, 's3_bucket_lifecycle');
  }

  get(bucket: string): Promise<readonly LifecycleRule[] | undefined> {
    return this.table.get(bucket);
  }

  list(
    afterBucket: string,
    limit: number,
  ): Promise<{ bucket: string; rules: readonly LifecycleRule[] }[]> {
    return this.table.list(afterBucket, limit);
  }

  put(bucket: string, rules: readonly LifecycleRule[]): Promise<boolean> {
    return this.table.put(bucket, rules);
  }

  delete(bucket: string): Promise<void> {
    return this.table.delete(bucket);
  }
}
