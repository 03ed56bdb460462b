import type { Kysely } from 'kysely';
import type { MigrationSet } from '../store/index.js';
import { BucketConfigTable } from './bucket-config-store.js';

/** One CORS rule of a bucket, as S3's `CORSRule` holds it. */
export interface CorsRule {
  readonly id?: string;
  readonly allowedOrigins: readonly string[];
  readonly allowedMethods: readonly string[];
  readonly allowedHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds?: number;
}

/** Where bucket CORS configurations are kept (the S3 API's Put/Get/DeleteBucketCors and preflights). */
export interface BucketCorsStore {
  /** The bucket's rules, or undefined when it has none (or the bucket does not exist). */
  get(bucket: string): Promise<readonly CorsRule[] | undefined>;
  /** Replaces the rules; false when the bucket does not exist. */
  put(bucket: string, rules: readonly CorsRule[]): Promise<boolean>;
  delete(bucket: string): Promise<void>;
}

/** `s3_bucket_cors` (0130): one row per bucket, named for CORS only (s3ver keeps other bucket configs). */
export const bucketCorsMigrations: MigrationSet = {
  '0130_s3_bucket_cors': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('s3_bucket_cors')
        .addColumn('bucket', 'text', (c) => c.primaryKey())
        // The bucket's creation time: a bucket deleted and created again starts without rules.
        .addColumn('bucket_created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('rules', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

/** {@link BucketCorsStore} in the database, beside the object store's tables. */
export class BucketCorsRepository implements BucketCorsStore {
  private readonly table: BucketConfigTable<readonly CorsRule[]>;
  constructor(db: Kysely<any>) {
    this.table = new BucketConfigTable(db, 's3_bucket_cors');
  }

  get(bucket: string): Promise<readonly CorsRule[] | undefined> {
    return this.table.get(bucket);
  }

  put(bucket: string, rules: readonly CorsRule[]): Promise<boolean> {
    return this.table.put(bucket, rules);
  }

  delete(bucket: string): Promise<void> {
    return this.table.delete(bucket);
  }
}
