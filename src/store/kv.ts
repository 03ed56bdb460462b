import type { Db } from './database.js';

/** Small server-wide settings kept in the database (e.g. the signing secret of console sessions). */
export async function kvGet(db: Db, key: string): Promise<string | undefined> {
  const row = await db.selectFrom('kv').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

/** Sets a server-wide setting in the database, replacing any previous value. */
export async function kvPut(db: Db, key: string, value: string): Promise<void> {
  await db
    .insertInto('kv')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}

/**
 * The value of `key`, created once with `make()` when absent (insert-if-absent, so replicas racing
 * at start-up all end with the same value).
 */
export async function kvGetOrCreate(db: Db, key: string, make: () => string): Promise<string> {
  await db
    .insertInto('kv')
    .values({ key, value: make() })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  return (await kvGet(db, key))!;
}
