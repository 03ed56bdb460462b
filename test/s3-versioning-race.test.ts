import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Kysely } from 'kysely';
import { startTestServer, sdkConfig, type TestServer } from './helpers/server.js';

/**
 * Version writes racing each other and the first PutBucketVersioning. Meant for PostgreSQL
 * (`APIARY_TEST_DATABASE=postgres`), where transactions run concurrently and the bucket row lock
 * decides; on SQLite the single writer serialises them and the same invariants hold.
 */

let server: TestServer;
let s3: S3Client;
let db: Kysely<any>;

beforeAll(async () => {
  server = await startTestServer();
  s3 = new S3Client({ ...sdkConfig(server), maxAttempts: 1 });
  db = server.apiary.database.db as Kysely<any>;
});
afterAll(async () => {
  s3?.destroy();
  await server?.close();
});

const put = (bucket: string, key: string, body: string) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

describe('versioning races', () => {
  it('a PUT racing the first PutBucketVersioning is versioned or becomes the null version', async () => {
    for (let round = 0; round < 3; round++) {
      const bucket = `race-enable-${round}`;
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const puts = Array.from({ length: 24 }, (_, i) => put(bucket, `k${i}`, `v${i}`));
      await Promise.all([
        ...puts.slice(0, 12),
        s3.send(
          new PutBucketVersioningCommand({
            Bucket: bucket,
            VersioningConfiguration: { Status: 'Enabled' },
          }),
        ),
        ...puts.slice(12),
      ]);
      // Every current object is a version of its key: none was written as if unversioned after
      // versioning had copied the existing objects into s3_versions.
      const rows = await db
        .selectFrom('s3_objects as o')
        .leftJoin('s3_versions as v', (j) =>
          j
            .onRef('v.bucket', '=', 'o.bucket')
            .onRef('v.key', '=', 'o.key')
            .onRef('v.version_id', '=', 'o.version_id'),
        )
        .select(['o.key', 'o.version_id', 'v.version_id as listed'])
        .where('o.bucket', '=', bucket)
        .execute();
      expect(rows).toHaveLength(24);
      expect(rows.filter((r) => r.version_id === null || r.listed === null)).toEqual([]);
    }
  });

  it('concurrent PUTs of one key take distinct version sequence numbers', async () => {
    const bucket = 'race-seq';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: bucket,
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => put(bucket, 'same-key', `body ${i}`)),
    );
    const seqs = await db
      .selectFrom('s3_versions')
      .select('seq')
      .where('bucket', '=', bucket)
      .where('key', '=', 'same-key')
      .execute();
    expect(new Set(results.map((r) => r.VersionId)).size).toBe(24);
    expect(seqs).toHaveLength(24);
    expect(new Set(seqs.map((s) => Number(s.seq))).size).toBe(24);
  });
});
