import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../store/index.js';
import { objectsMigrations } from '../migrations.js';
import { AccessStore, bucketStamp } from './access-store.js';

/** The policy cache the root key's Deny check reads: two stores on one database are replicas. */
describe('AccessStore.cachedPolicy', () => {
  let dir: string;
  let database: Database;
  let now = 1_000_000;
  let a: AccessStore;
  let b: AccessStore;
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
  const read = (store: AccessStore, bucket: string) => store.cachedPolicy(bucket, (t) => t);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-access-store-'));
    database = await openDatabase({
      dataDir: dir,
      migrations: objectsMigrations,
    });
    const options = { policyTtlMs: 1000, nowMs: () => now };
    a = new AccessStore(database.db, options);
    b = new AccessStore(database.db, options);
  });
  afterAll(async () => {
    await database?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers from the cache within the TTL, on the replica that changed it at once', async () => {
    await createBucket('c', 5);
    expect(await read(a, 'c')).toBeUndefined();
    expect(await read(b, 'c')).toBeUndefined();
    // A hit is the value itself, not a promise: the request path awaits nothing.
    expect(read(b, 'c')).toBeUndefined();
    await a.putPolicy('c', bucketStamp(5), 'P1');
    expect(await read(a, 'c')).toBe('P1');
    // Replica b keeps its copy until the TTL ends, then reads the new policy.
    expect(read(b, 'c')).toBeUndefined();
    now += 1000;
    expect(await read(b, 'c')).toBe('P1');
    expect(read(b, 'c')).toBe('P1');
    await a.deletePolicy('c');
    expect(await read(a, 'c')).toBeUndefined();
    now += 1000;
    expect(await read(b, 'c')).toBeUndefined();
  });

  it("a recreated bucket does not inherit the old incarnation's policy", async () => {
    await createBucket('r', 7);
    await a.putPolicy('r', bucketStamp(7), 'OLD');
    expect(await read(a, 'r')).toBe('OLD');
    await dropBucket('r');
    await createBucket('r', 8);
    a.forgetPolicy('r');
    expect(await read(a, 'r')).toBeUndefined();
    await dropBucket('r');
    a.forgetPolicy('r');
    expect(await read(a, 'r')).toBeUndefined();
  });

  it('a read that overlaps a change made on this replica does not fill the cache', async () => {
    await createBucket('g', 9);
    await a.putPolicy('g', bucketStamp(9), 'V1');
    let parsed = 0;
    // The change lands between the read's query and its filling of the cache.
    const racing = (t: string) => {
      parsed += 1;
      if (parsed === 1) a.forgetPolicy('g');
      return t;
    };
    expect(await a.cachedPolicy('g', racing)).toBe('V1');
    expect(await a.cachedPolicy('g', racing)).toBe('V1');
    expect(parsed).toBe(2);
    // Without a change in between, the second read is a cache hit.
    expect(a.cachedPolicy('g', racing)).toBe('V1');
    expect(parsed).toBe(2);
  });
});
