import type SQLite from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Statements kept per database: the hot queries of every context fit many times over. */
const MAX_STATEMENTS = 512;

/**
 * The SQLite handle Kysely queries through, with a bounded cache of prepared statements keyed by
 * their SQL text. Kysely's driver prepares every query afresh (parse, plan, allocate): on the S3
 * request path that cost more than running the queries. A statement still iterating (a streamed
 * query) is busy; the same SQL then gets a fresh statement of its own.
 */
export function cachedStatements(db: SQLite.Database, max = MAX_STATEMENTS): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare(sql: string): SqliteStatement {
      const hit = cache.get(sql);
      if (hit && !hit.busy) {
        // Most recently used last: the oldest entry is the one evicted.
        cache.delete(sql);
        cache.set(sql, hit);
        return hit as unknown as SqliteStatement;
      }
      const stmt = db.prepare(sql);
      if (!hit) {
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt as unknown as SqliteStatement;
    },
  };
}
