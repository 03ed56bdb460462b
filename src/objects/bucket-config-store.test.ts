import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../store/index.js';
import { BucketConfigTable } from './bucket-config-store.js';
import { objectsMigrations } from './migrations.js';

describe('BucketConfigTable', () => {
  let dir: string;
  let database: Database;
  let table: BucketConfigTable<{ readonly n: number }[]>;
  const createBucket = (name: string, createdAtMs: number) =>
    database.db
      .withTables<{ s3_buckets: { name: string; created_at_ms: number } }>()
      .insertInto('s3_buckets')
      .values({ name, created_at_ms: createdAtMs })
      .execute();
  const dropBucket = (name: string) =>
    database.db
      .withTables<{ s3_buckets: { name: string } }>()
      .deleteFrom('s3_buckets')
      .where('name', '=', name)
      .execute();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-bucket-config-'));
    database = await openDatabase({ dataDir: dir, migrations: objectsMigrations });
    table = new BucketConfigTable(database.db, 's3_bucket_lifecycle');
  });
  afterAll(async () => {
    await database?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('puts, gets, lists in bucket order and deletes a document per bucket', async () => {
    await createBucket('b', 1);
    await createBucket('a', 1);
    expect(await table.put('b', [{ n: 2 }])).toBe(true);
    expect(await table.put('a', [{ n: 1 }])).toBe(true);
    expect(await table.put('a', [{ n: 3 }])).toBe(true);
    expect(await table.get('a')).toEqual([{ n: 3 }]);
    expect(await table.list('', 10)).toEqual([
      { bucket: 'a', rules: [{ n: 3 }] },
      { bucket: 'b', rules: [{ n: 2 }] },
    ]);
    expect(await table.list('a', 1)).toEqual([{ bucket: 'b', rules: [{ n: 2 }] }]);
    await table.delete('b');
    expect(await table.get('b')).toBeUndefined();
  });

  it('refuses a bucket that does not exist, and forgets a bucket deleted and created again', async () => {
    expect(await table.put('nope', [])).toBe(false);
    expect(await table.get('nope')).toBeUndefined();
    await createBucket('again', 1);
    await table.put('again', [{ n: 1 }]);
    await dropBucket('again');
    await createBucket('again', 2);
    expect(await table.get('again')).toBeUndefined();
    expect((await table.list('', 10)).map((r) => r.bucket)).not.toContain('again');
  });
});
