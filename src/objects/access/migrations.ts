import type { Kysely } from 'kysely';
import { addColumns, type MigrationSet } from '../../store/index.js';

/** Bucket policies and canned ACLs (s3iam's range 0150–0159). */
export const accessMigrations: MigrationSet = {
  '0150_objects_access': {
    async up(db: Kysely<any>) {
      // `stamp` ties a grant to one incarnation of what it covers (the bucket's creation time,
      // the object version's ETag and time): a recreated bucket or an overwritten object does
      // not inherit an old policy or ACL.
      await db.schema
        .createTable('s3_bucket_policies')
        .addColumn('bucket', 'text', (c) => c.primaryKey())
        .$call((t) => addColumns(t, { stamp: 'text', policy: 'text' }))
        .execute();
      await db.schema
        .createTable('s3_acls')
        .$call((t) => addColumns(t, { bucket: 'text', key: 'text', stamp: 'text', canned: 'text' }))
        .addPrimaryKeyConstraint('s3_acls_pk', ['bucket', 'key'])
        .execute();
    },
  },
};
