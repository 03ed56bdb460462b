import type { Kysely } from 'kysely';
import type { Clock } from '../shared/clock.js';
import type { Db, MigrationSet } from './database.js';
import { LeaseStore, type Lease } from './leases.js';

/**
 * Replicas: every Apiary process that shares the database registers itself here with the URL its
 * peers reach it at, and keeps a heartbeat. With the leases, this is how one replica finds the one
 * that owns an endpoint's fleet or a running training job, to forward a call that only the owner
 * can answer.
 */
export interface ReplicaTables {
  replicas: { id: string; url: string; started_at_ms: number; heartbeat_ms: number };
}

/** Schema migrations of the coordinator's tables (replicas and leases). */
export const coordinatorMigrations: MigrationSet = {
  '0003_replicas': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('replicas')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('started_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('heartbeat_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};

/** What the coordinator needs: database, clock, replica id, lease TTL and heartbeat interval. */
export interface CoordinatorOptions {
  readonly db: Db;
  readonly clock: Clock;
  /** Stable across restarts of the same replica (a restart re-takes its own leases at once). */
  readonly replicaId: string;
  /** How long a lease lives without a heartbeat; default 15 s (the takeover time after a kill -9). */
  readonly leaseTtlMs?: number;
  /** Heartbeat period; default a third of the TTL. */
  readonly heartbeatMs?: number;
  readonly onError?: (err: unknown, what: string) => void;
}

/** Work this replica owns: told when it loses it (another replica took over an expired lease). */
export interface OwnedWork {
  /** Called once when the lease is lost; stop the work here without writing its state. */
  readonly lost?: () => void;
}

/** Background work that runs on one replica at a time (the tuning loop, labeling ticks, sweeps). */
export interface SingletonWork {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/**
 * Ownership of background work through leases, with one heartbeat loop per replica. On the
 * embedded SQLite database there is one replica, and every call succeeds at once; on PostgreSQL
 * any number of replicas share the work, and what a dead replica owned is taken over by the next
 * heartbeat of another one after the TTL.
 */
export class Coordinator {
  readonly replicaId: string;
  readonly leaseTtlMs: number;
  private readonly leases: LeaseStore;
  private readonly db: Kysely<ReplicaTables>;
  private readonly owned = new Map<string, OwnedWork>();
  private readonly singletons = new Map<string, { work: SingletonWork; running: boolean }>();
  private readonly scanners: (() => Promise<void>)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private url = '';
  private closed = false;

  constructor(private readonly options: CoordinatorOptions) {
    this.replicaId = options.replicaId;
    this.leaseTtlMs = options.leaseTtlMs ?? 15_000;
    this.leases = new LeaseStore(options.db);
    this.db = options.db as unknown as Kysely<ReplicaTables>;
  }

  private now(): number {
    return this.options.clock.nowMs();
  }

  /** Registers this replica at `url` (what peers forward to) and starts the heartbeat. */
  async start(url: string): Promise<void> {
    this.url = url;
    const now = this.now();
    await this.db
      .insertInto('replicas')
      .values({ id: this.replicaId, url, started_at_ms: now, heartbeat_ms: now })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({ url, started_at_ms: now, heartbeat_ms: now }),
      )
      .execute();
    const every = this.options.heartbeatMs ?? Math.max(50, Math.floor(this.leaseTtlMs / 3));
    this.timer = setInterval(() => void this.heartbeat(), every);
    this.timer.unref();
    await this.heartbeat();
  }

  /**
   * Takes the lease `name` for this replica (free, expired, or already ours after a restart).
   * @returns true when this replica owns the work now.
   */
  async own(name: string, work: OwnedWork = {}): Promise<boolean> {
    if (this.closed) return false;
    const lease = await this.leases.acquire(name, this.replicaId, this.leaseTtlMs, this.now());
    if (!lease) return false;
    this.owned.set(name, work);
    return true;
  }

  /** Whether this replica holds `name` (as of its last heartbeat). */
  owns(name: string): boolean {
    return this.owned.has(name);
  }

  /** Gives the lease up: the work finished here, or this replica shuts down cleanly. */
  async disown(name: string): Promise<void> {
    this.owned.delete(name);
    await this.leases.release(name, this.replicaId);
  }

  /**
   * Who serves `name` now: `self`, another live replica (with the URL to forward to), or nobody
   * (never owned, or its owner's lease expired — the next heartbeat somewhere takes it over).
   */
  async ownerOf(
    name: string,
  ): Promise<
    { kind: 'self' } | { kind: 'peer'; replicaId: string; url: string } | { kind: 'none' }
  > {
    if (this.owned.has(name)) return { kind: 'self' };
    const lease = await this.leases.get(name);
    if (!lease || lease.expiresAtMs <= this.now()) return { kind: 'none' };
    if (lease.holder === this.replicaId) return { kind: 'self' };
    const peer = await this.db
      .selectFrom('replicas')
      .select('url')
      .where('id', '=', lease.holder)
      .executeTakeFirst();
    return peer ? { kind: 'peer', replicaId: lease.holder, url: peer.url } : { kind: 'none' };
  }

  /** Leases under a prefix, for takeover scans. */
  listLeases(prefix: string): Promise<Lease[]> {
    return this.leases.list(prefix);
  }

  /**
   * Runs `work` on the one replica that holds the lease `name`; the others try again at every
   * heartbeat, so it moves to a live replica within a TTL after its holder dies.
   */
  async singleton(name: string, work: SingletonWork): Promise<void> {
    this.singletons.set(name, { work, running: false });
    await this.trySingletons();
  }

  /** Called at every heartbeat after the leases are renewed (takeover of orphaned work). */
  onHeartbeat(scan: () => Promise<void>): void {
    this.scanners.push(scan);
  }

  private async trySingletons(): Promise<void> {
    for (const [name, s] of this.singletons) {
      if (s.running || this.closed) continue;
      if (await this.own(name, { lost: () => void this.stopSingleton(name) })) {
        s.running = true;
        try {
          await s.work.start();
        } catch (err) {
          this.options.onError?.(err, `starting ${name}`);
        }
      }
    }
  }

  private async stopSingleton(name: string): Promise<void> {
    const s = this.singletons.get(name);
    if (!s?.running) return;
    s.running = false;
    try {
      await s.work.stop();
    } catch (err) {
      this.options.onError?.(err, `stopping ${name}`);
    }
  }

  /** One heartbeat: renew what we own, drop what we lost, then look for orphaned work. */
  heartbeat(): Promise<void> {
    this.beating ??= this.beat().finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async beat(): Promise<void> {
    if (this.closed) return;
    try {
      const now = this.now();
      await this.db
        .updateTable('replicas')
        .set({ heartbeat_ms: now, url: this.url })
        .where('id', '=', this.replicaId)
        .execute();
      const lost = await this.leases.renew(
        [...this.owned.keys()],
        this.replicaId,
        this.leaseTtlMs,
        now,
      );
      for (const name of lost) {
        const work = this.owned.get(name);
        this.owned.delete(name);
        try {
          work?.lost?.();
        } catch (err) {
          this.options.onError?.(err, `giving up ${name}`);
        }
      }
      await this.trySingletons();
      for (const scan of this.scanners) {
        if (this.closed) return;
        await scan();
      }
    } catch (err) {
      // The database may be restarting: the leases stay ours until they expire; try again next beat.
      this.options.onError?.(err, 'replica heartbeat');
    }
  }

  /** Stops the heartbeat and the singletons, releases every lease (a clean shutdown hands over at once). */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    await this.beating?.catch(() => undefined);
    for (const name of this.singletons.keys()) await this.stopSingleton(name);
    this.closed = true;
    try {
      // A snapshot: disown() changes the map while we await.
      for (const name of Array.from(this.owned.keys())) await this.disown(name);
      await this.db.deleteFrom('replicas').where('id', '=', this.replicaId).execute();
    } catch (err) {
      this.options.onError?.(err, 'releasing leases');
    }
  }
}
