import type { Kysely } from 'kysely';
import type { Db } from '../../store/index.js';

/** The canned ACLs Apiary implements. */
export const CANNED_ACLS = ['private', 'public-read'] as const;
export type CannedAcl = (typeof CANNED_ACLS)[number];

type AccessTables = {
  s3_bucket_policies: { bucket: string; stamp: string; policy: string };
  s3_acls: { bucket: string; key: string; stamp: string; canned: string };
  s3_buckets: { name: string; created_at_ms: number };
};

/**
 * How long a replica answers from its cached copy of a bucket's policy (the root key's Deny
 * check, which must not cost a query per request). A change made on this replica applies at
 * once; one made on another replica within this long (AWS too documents policy changes as
 * eventually consistent).
 */
export const POLICY_CACHE_TTL_MS = 1000;
/** Entries kept at most: past it the cache starts over (only names of buckets asked about). */
const POLICY_CACHE_MAX = 10_000;

/** Options of the policy cache: its TTL and the clock it reads (tests step it). */
export interface AccessStoreOptions {
  readonly policyTtlMs?: number;
  readonly nowMs?: () => number;
}

type CachedPolicy = { readonly atMs: number; readonly value: unknown };

/**
 * Where bucket policies and canned ACLs are kept. Each row carries the stamp of what it covers
 * (see migrations.ts); a row whose stamp no longer matches is treated as absent.
 */
export class AccessStore {
  private readonly db: Kysely<AccessTables>;
  private readonly policyTtlMs: number;
  private readonly nowMs: () => number;
  /** bucket → its current policy as `cachedPolicy`'s caller parsed it (undefined: none). */
  private readonly policies = new Map<string, CachedPolicy>();
  /** Bumped by every `forgetPolicy`: a read that started before it does not fill the cache. */
  private generation = 0;
  constructor(db: Db, options: AccessStoreOptions = {}) {
    this.db = db.withTables<AccessTables>() as unknown as Kysely<AccessTables>;
    this.policyTtlMs = options.policyTtlMs ?? POLICY_CACHE_TTL_MS;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /**
   * The policy of the bucket's current incarnation through `parse`, from a per-replica cache
   * ({@link POLICY_CACHE_TTL_MS}); undefined when it has none or the bucket does not exist. One
   * query per bucket per TTL (the policy joined with its bucket's row), none in between. Returns
   * the value itself, not a promise, on a cache hit: the hot path awaits nothing.
   */
  cachedPolicy<T>(
    bucket: string,
    parse: (text: string) => T | undefined,
  ): T | undefined | Promise<T | undefined> {
    const hit = this.policies.get(bucket);
    const now = this.nowMs();
    if (hit && now - hit.atMs < this.policyTtlMs) return hit.value as T | undefined;
    const generation = this.generation;
    return this.db
      .selectFrom('s3_bucket_policies')
      .innerJoin('s3_buckets', 's3_buckets.name', 's3_bucket_policies.bucket')
      .select(['s3_bucket_policies.stamp', 's3_bucket_policies.policy', 's3_buckets.created_at_ms'])
      .where('s3_bucket_policies.bucket', '=', bucket)
      .executeTakeFirst()
      .then((row) => {
        const current = row && row.stamp === bucketStamp(Number(row.created_at_ms));
        const value = current ? parse(row.policy) : undefined;
        if (generation !== this.generation) return value;
        if (this.policies.size >= POLICY_CACHE_MAX) this.policies.clear();
        this.policies.set(bucket, { atMs: now, value });
        return value;
      });
  }

  /** Drops the cached policy of a bucket (this replica changed it, or the bucket itself). */
  forgetPolicy(bucket: string): void {
    this.generation += 1;
    this.policies.delete(bucket);
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
    this.forgetPolicy(bucket);
  }

  async deletePolicy(bucket: string): Promise<void> {
    await this.db.deleteFrom('s3_bucket_policies').where('bucket', '=', bucket).execute();
    this.forgetPolicy(bucket);
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
