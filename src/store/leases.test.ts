import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../test/helpers/postgres.js';
import { LeaseStore, leaseMigrations } from './leases.js';
import { Coordinator, coordinatorMigrations } from './coordinator.js';

// Leases matter most where replicas share PostgreSQL: every case runs on both dialects.
describe.each(DIALECTS)('leases on %s', (dialect) => {
  let database: TestDatabase;

  beforeEach(async () => {
    database = await openTestDatabase(dialect, { ...leaseMigrations, ...coordinatorMigrations });
  });

  afterEach(async () => {
    await database.close();
  });

  /** Two replicas' coordinators on the one database, on a clock the test moves. */
  function twoReplicas(leaseTtlMs: number) {
    const clock = { now: 0, nowMs: () => clock.now };
    const make = (replicaId: string) =>
      new Coordinator({ db: database.db, clock, replicaId, leaseTtlMs, heartbeatMs: 60_000 });
    return { clock, a: make('a'), b: make('b') };
  }

  describe('LeaseStore', () => {
    it('gives a free lease to the first holder and refuses it to another until it expires', async () => {
      const leases = new LeaseStore(database.db);
      const a = await leases.acquire('training-job:x', 'a', 1000, 0);
      expect(a).toMatchObject({ holder: 'a', token: 1, expiresAtMs: 1000 });
      expect(await leases.acquire('training-job:x', 'b', 1000, 500)).toBeUndefined();
      const b = await leases.acquire('training-job:x', 'b', 1000, 1000);
      expect(b).toMatchObject({ holder: 'b', token: 2, expiresAtMs: 2000 });
    });

    it('lets the holder re-take its own lease (a restart) without a new token', async () => {
      const leases = new LeaseStore(database.db);
      await leases.acquire('endpoint:e', 'a', 1000, 0);
      expect(await leases.acquire('endpoint:e', 'a', 1000, 10)).toMatchObject({
        holder: 'a',
        token: 1,
        expiresAtMs: 1010,
      });
    });

    it('renews only the leases the holder still has and names the lost ones', async () => {
      const leases = new LeaseStore(database.db);
      await leases.acquire('l1', 'a', 100, 0);
      await leases.acquire('l2', 'a', 100, 0);
      await leases.acquire('l2', 'b', 100, 200); // expired, taken over
      expect(await leases.renew(['l1', 'l2'], 'a', 100, 210)).toEqual(['l2']);
      expect((await leases.get('l1'))?.expiresAtMs).toBe(310);
    });

    it('releases only its own lease and lists by prefix', async () => {
      const leases = new LeaseStore(database.db);
      await leases.acquire('endpoint:a', 'r1', 100, 0);
      await leases.acquire('endpoint:b', 'r2', 100, 0);
      await leases.acquire('training-job:c', 'r1', 100, 0);
      await leases.release('endpoint:b', 'r1');
      expect((await leases.list('endpoint:')).map((l) => l.name).sort()).toEqual([
        'endpoint:a',
        'endpoint:b',
      ]);
      await leases.release('endpoint:b', 'r2');
      expect((await leases.list('endpoint:')).map((l) => l.name)).toEqual(['endpoint:a']);
    });
  });

  describe('Coordinator', () => {
    it('hands a singleton to the next replica when its holder stops heartbeating', async () => {
      const { clock, a, b } = twoReplicas(1000);
      await a.start('http://a');
      await b.start('http://b');
      const runs: string[] = [];
      await a.singleton('loop:tuning', {
        start: () => void runs.push('a+'),
        stop: () => void runs.push('a-'),
      });
      await b.singleton('loop:tuning', {
        start: () => void runs.push('b+'),
        stop: () => void runs.push('b-'),
      });
      expect(runs).toEqual(['a+']);
      expect(await b.ownerOf('loop:tuning')).toEqual({
        kind: 'peer',
        replicaId: 'a',
        url: 'http://a',
      });

      clock.now = 1500; // a is "killed": no heartbeat; its lease expired
      await b.heartbeat();
      expect(runs).toEqual(['a+', 'b+']);
      expect(await b.ownerOf('loop:tuning')).toEqual({ kind: 'self' });

      await a.heartbeat(); // a comes back and learns it lost the work
      expect(runs).toEqual(['a+', 'b+', 'a-']);
      await a.close();
      await b.close();
      expect(runs).toEqual(['a+', 'b+', 'a-', 'b-']);
    });

    it('says nobody owns work whose lease expired', async () => {
      const { clock, a, b } = twoReplicas(1000);
      await a.start('http://a');
      await b.start('http://b');
      expect(await a.own('endpoint:e')).toBe(true);
      expect(await b.own('endpoint:e')).toBe(false);
      clock.now = 2000;
      expect(await b.ownerOf('endpoint:e')).toEqual({ kind: 'none' });
      expect(await b.own('endpoint:e')).toBe(true);
      await a.close();
      await b.close();
    });
  });
});
