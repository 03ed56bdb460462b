import type { Kysely } from 'kysely';
import type { MigrationSet } from '../../store/index.js';
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

type Tables = {
  s3_buckets: { name: string; created_at_ms: number };
  s3_bucket_lifecycle: { bucket: string; bucket_created_at_ms: number; rules: string };
};

/** {@link BucketLifecycleStore} in the database, beside the object store's tables. */
export class BucketLifecycleRepository implements BucketLifecycleStore {
  private readonly db: Kysely<Tables>;
  constructor(db: Kysely<any>) {
    this.db = db as Kysely<Tables>;
  }

  private rows() {
    return this.db
      .selectFrom('s3_bucket_lifecycle')
      .innerJoin('s3_buckets', 's3_buckets.name', 's3_bucket_lifecycle.bucket')
      .select([
        's3_bucket_lifecycle.bucket',
        's3_bucket_lifecycle.rules',
        's3_bucket_lifecycle.bucket_created_at_ms',
        's3_buckets.created_at_ms',
      ]);
  }

  async get(bucket: string): Promise<readonly LifecycleRule[] | undefined> {
    const row = await this.rows()
      .where('s3_bucket_lifecycle.bucket', '=', bucket)
      .executeTakeFirst();
    if (!row || Number(row.bucket_created_at_ms) !== Number(row.created_at_ms)) return undefined;
    return JSON.parse(row.rules) as LifecycleRule[];
  }

  async list(
    afterBucket: string,
    limit: number,
  ): Promise<{ bucket: string; rules: readonly LifecycleRule[] }[]> {
    const rows = await this.rows()
      .where('s3_bucket_lifecycle.bucket', '>', afterBucket)
      .orderBy('s3_bucket_lifecycle.bucket')
      .limit(limit)
      .execute();
    return rows
      .filter((r) => Number(r.bucket_created_at_ms) === Number(r.created_at_ms))
      .map((r) => ({ bucket: r.bucket, rules: JSON.parse(r.rules) as LifecycleRule[] }));
  }

  async put(bucket: string, rules: readonly LifecycleRule[]): Promise<boolean> {
    const b = await this.db
      .selectFrom('s3_buckets')
      .select('created_at_ms')
      .where('name', '=', bucket)
      .executeTakeFirst();
    if (!b) return false;
    const values = {
      bucket,
      bucket_created_at_ms: Number(b.created_at_ms),
      rules: JSON.stringify(rules),
    };
    await this.db
      .insertInto('s3_bucket_lifecycle')
      .values(values)
      .onConflict((oc) =>
        oc.column('bucket').doUpdateSet({
          bucket_created_at_ms: values.bucket_created_at_ms,
          rules: values.rules,
        }),
      )
      .execute();
    return true;
  }

  async delete(bucket: string): Promise<void> {
    await this.db.deleteFrom('s3_bucket_lifecycle').where('bucket', '=', bucket).execute();
  }
}
