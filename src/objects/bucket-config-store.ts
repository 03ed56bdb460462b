import type { Kysely } from 'kysely';

/** A table of one JSON document per bucket (CORS rules, lifecycle rules): its name and columns. */
type ConfigTables<T extends string> = {
  s3_buckets: { name: string; created_at_ms: number };
} & { [K in T]: { bucket: string; bucket_created_at_ms: number; rules: string } };

/**
 * One JSON document per bucket in `table` (columns `bucket` primary key, `bucket_created_at_ms`,
 * `rules`), stamped with the bucket's creation time: a bucket deleted and created again starts
 * without one. The typed get/put/delete/list that `BucketCorsRepository` and
 * `BucketLifecycleRepository` share.
 */
export class BucketConfigTable<D> {
  // Kysely cannot type a table whose name is a parameter: the queries go through this view.
  private readonly db: Kysely<ConfigTables<'t'>>;
  constructor(
    db: Kysely<any>,
    private readonly table: string,
  ) {
    this.db = db as Kysely<ConfigTables<'t'>>;
  }

  private rows() {
    const t = this.table as 't';
    return this.db
      .selectFrom(t)
      .innerJoin('s3_buckets', 's3_buckets.name', `${t}.bucket`)
      .select([
        `${t}.bucket`,
        `${t}.rules`,
        `${t}.bucket_created_at_ms`,
        's3_buckets.created_at_ms',
      ]);
  }

  /** The bucket's document, or undefined when it has none (or the bucket does not exist). */
  async get(bucket: string): Promise<D | undefined> {
    const row = await this.rows()
      .where(`${this.table as 't'}.bucket`, '=', bucket)
      .executeTakeFirst();
    if (!row || Number(row.bucket_created_at_ms) !== Number(row.created_at_ms)) return undefined;
    return JSON.parse(row.rules) as D;
  }

  /** Every bucket with a document, a page at a time (buckets after `afterBucket`, in order). */
  async list(afterBucket: string, limit: number): Promise<{ bucket: string; rules: D }[]> {
    const t = this.table as 't';
    const rows = await this.rows()
      .where(`${t}.bucket`, '>', afterBucket)
      .orderBy(`${t}.bucket`)
      .limit(limit)
      .execute();
    return rows
      .filter((r) => Number(r.bucket_created_at_ms) === Number(r.created_at_ms))
      .map((r) => ({ bucket: r.bucket, rules: JSON.parse(r.rules) as D }));
  }

  /** Replaces the document; false when the bucket does not exist. */
  async put(bucket: string, rules: D): Promise<boolean> {
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
      .insertInto(this.table as 't')
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
    await this.db
      .deleteFrom(this.table as 't')
      .where('bucket', '=', bucket)
      .execute();
  }
}
