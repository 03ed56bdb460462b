import type { Kysely } from 'kysely';
import type { Db } from '../../store/index.js';

/** The canned ACLs Apiary implements. */
export const CANNED_ACLS = ['private', 'public-read'] as const;
export type CannedAcl = (typeof CANNED_ACLS)[number];

type AccessTables = {
  s3_bucket_policies: { bucket: string; stamp: string; policy: string };
  s3_acls: { bucket: string; key: string; stamp: string; canned: string };
};

/**
 * Where bucket policies and canned ACLs are kept. Each row carries the stamp of what it covers
 * (see migrations.ts); a row whose stamp no longer matches is treated as absent.
 */
export class AccessStore {
  private readonly db: Kysely<AccessTables>;
  constructor(db: Db) {
    this.db = db.withTables<AccessTables>() as unknown as Kysely<AccessTables>;
  }

  async getPolicy(bucket: string, stamp: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('s3_bucket_policies')
      .selectAll()
      .where('bucket', '=', bucket)
      .executeTakeFirst();
    return row && row.stamp === stamp ? row.policy : undefined;
  }

  async putPolicy(bucket: string, stamp: string, policy: string): Promise<void> {
    await this.db
      .insertInto('s3_bucket_policies')
      .values({ bucket, stamp, policy })
      .onConflict((oc) => oc.column('bucket').doUpdateSet({ stamp, policy }))
      .execute();
  }

  async deletePolicy(bucket: string): Promise<void> {
    await this.db.deleteFrom('s3_bucket_policies').where('bucket', '=', bucket).execute();
  }

  /** The canned ACL of a bucket (`key` '') or object; `private` when none is recorded. */
  async getAcl(bucket: string, key: string, stamp: string): Promise<CannedAcl> {
    const row = await this.db
      .selectFrom('s3_acls')
      .selectAll()
      .where('bucket', '=', bucket)
      .where('key', '=', key)
      .executeTakeFirst();
    return row && row.stamp === stamp ? (row.canned as CannedAcl) : 'private';
  }

  async putAcl(bucket: string, key: string, stamp: string, canned: CannedAcl): Promise<void> {
    if (canned === 'private') {
      await this.db
        .deleteFrom('s3_acls')
        .where('bucket', '=', bucket)
        .where('key', '=', key)
        .execute();
      return;
    }
    await this.db
      .insertInto('s3_acls')
      .values({ bucket, key, stamp, canned })
      .onConflict((oc) => oc.columns(['bucket', 'key']).doUpdateSet({ stamp, canned }))
      .execute();
  }
}

/** The stamp of a bucket incarnation. */
export const bucketStamp = (createdAtMs: number): string => `b:${createdAtMs}`;
/** The stamp of an object version. */
export const objectStamp = (etag: string, lastModifiedMs: number): string =>
  `o:${etag}:${lastModifiedMs}`;
