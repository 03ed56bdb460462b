import type { Kysely } from 'kysely';
import type { Db, MigrationSet } from './database.js';

/**
 * Leases: who owns a piece of background work (a training job's runner, an endpoint's fleet, the
 * tuning loop) when several Apiary replicas share one database. A lease is a row
 * `(name, holder, token, expires_at_ms)`; its holder renews it by heartbeat, and a replica that
 * dies (kill -9) loses it once it expires, so another replica can take the work over.
 *
 * Every change is one conditional UPDATE or INSERT, atomic on SQLite and on PostgreSQL (where two
 * replicas racing for the same row serialise on its row lock and the loser re-reads the winner's
 * row): two replicas never hold one lease at once. `token` grows on every change of holder — a
 * fencing token that lets the owner notice it was replaced.
 */
export interface LeaseTables {
  leases: { name: string; holder: string; token: number; expires_at_ms: number };
}

/** Schema migrations of the leases table. */
export const leaseMigrations: MigrationSet = {
  '0002_leases': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('token', 'bigint', (c) => c.notNull())
        .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};

/** A lease as read back: `expiresAtMs` in the clock of the replicas (they share one). */
export interface Lease {
  readonly name: string;
  readonly holder: string;
  readonly token: number;
  readonly expiresAtMs: number;
}

/** Named, expiring, fenced leases in the database, so that one replica at a time does a piece of work. */
export class LeaseStore {
  private readonly db: Kysely<LeaseTables>;

  constructor(db: Db) {
    this.db = db as unknown as Kysely<LeaseTables>;
  }

  /**
   * Takes `name` for `holder` until `now + ttlMs` when it is free, expired, or already this
   * holder's (then it is renewed). @returns the lease when held afterwards, else undefined.
   */
  async acquire(
    name: string,
    holder: string,
    ttlMs: number,
    now: number,
  ): Promise<Lease | undefined> {
    const expires = now + ttlMs;
    const taken = await this.db
      .updateTable('leases')
      .set((eb) => ({
        holder,
        expires_at_ms: expires,
        token: eb
          .case()
          .when('holder', '=', holder)
          .then(eb.ref('token'))
          .else(eb('token', '+', 1))
          .end(),
      }))
      .where('name', '=', name)
      .where((eb) => eb.or([eb('holder', '=', holder), eb('expires_at_ms', '<=', now)]))
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) === 0) {
      const inserted = await this.db
        .insertInto('leases')
        .values({ name, holder, token: 1, expires_at_ms: expires })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return undefined;
    }
    const row = await this.get(name);
    return row && row.holder === holder ? row : undefined;
  }

  /**
   * Extends every lease in `names` that `holder` still holds. @returns the names it no longer
   * holds (taken over by another replica after they expired): their work must stop here.
   */
  async renew(
    names: readonly string[],
    holder: string,
    ttlMs: number,
    now: number,
  ): Promise<string[]> {
    if (names.length === 0) return [];
    const lost: string[] = [];
    // Chunks keep the statement small; renewals are cheap single-row writes.
    for (let i = 0; i < names.length; i += 200) {
      const chunk = names.slice(i, i + 200);
      await this.db
        .updateTable('leases')
        .set({ expires_at_ms: now + ttlMs })
        .where('name', 'in', chunk)
        .where('holder', '=', holder)
        .execute();
      const held = await this.db
        .selectFrom('leases')
        .select('name')
        .where('name', 'in', chunk)
        .where('holder', '=', holder)
        .execute();
      const still = new Set(held.map((r) => r.name));
      for (const n of chunk) if (!still.has(n)) lost.push(n);
    }
    return lost;
  }

  /** Gives a lease up at once (clean shutdown, finished work), when `holder` still holds it. */
  async release(name: string, holder: string): Promise<void> {
    await this.db
      .deleteFrom('leases')
      .where('name', '=', name)
      .where('holder', '=', holder)
      .execute();
  }

  async get(name: string): Promise<Lease | undefined> {
    const row = await this.db
      .selectFrom('leases')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? toLease(row) : undefined;
  }

  /** Leases whose name starts with `prefix` (e.g. `training-job:`), live or expired. */
  async list(prefix: string): Promise<Lease[]> {
    const rows = await this.db
      .selectFrom('leases')
      .selectAll()
      .where('name', '>=', prefix)
      .where('name', '<', prefix + '\uffff')
      .execute();
    return rows.map(toLease);
  }
}

function toLease(row: LeaseTables['leases']): Lease {
  return {
    name: row.name,
    holder: row.holder,
    token: Number(row.token),
    expiresAtMs: Number(row.expires_at_ms),
  };
}
