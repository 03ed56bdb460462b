import type { Kysely } from 'kysely';
import type { MigrationSet } from '../store/index.js';

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

type Tables = {
  s3_buckets: { name: string; created_at_ms: number };
  s3_bucket_cors: { bucket: string; bucket_created_at_ms: number; rules: string };
};

/** {@link BucketCorsStore} in the database, beside the object store's tables. */
export class BucketCorsRepository implements BucketCorsStore {
  private readonly db: Kysely<Tables>;
  constructor(db: Kysely<any>) {
    this.db = db as Kysely<Tables>;
  }

  async get(bucket: string): Promise<readonly CorsRule[] | undefined> {
    const row = await this.db
      .selectFrom('s3_bucket_cors')
      .innerJoin('s3_buckets', 's3_buckets.name', 's3_bucket_cors.bucket')
      .select([
        's3_bucket_cors.rules',
        's3_bucket_cors.bucket_created_at_ms',
        's3_buckets.created_at_ms',
      ])
      .where('s3_bucket_cors.bucket', '=', bucket)
      .executeTakeFirst();
    if (!row || Number(row.bucket_created_at_ms) !== Number(row.created_at_ms)) return undefined;
    return JSON.parse(row.rules) as CorsRule[];
  }

  async put(bucket: string, rules: readonly CorsRule[]): Promise<boolean> {
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
      .insertInto('s3_bucket_cors')
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
    await this.db.deleteFrom('s3_bucket_cors').where('bucket', '=', bucket).execute();
  }
}
