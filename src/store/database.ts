import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import {
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  type Migration,
  type MigrationProvider,
} from 'kysely';
import { cachedStatements } from './statement-cache.js';

/** Tables every context may use: tags for any resource ARN, and server-wide key/values. */
export interface CoreTables {
  tags: { resource_arn: string; key: string; value: string };
  kv: { key: string; value: string };
}

/** The Kysely handle every repository queries through (SQLite or PostgreSQL). */
export type Db = Kysely<CoreTables>;

/** Migrations keyed by globally ordered names (`0001_core`, `0100_objects_init`…), run in name order. */
export type MigrationSet = Readonly<Record<string, Migration>>;

/** Where the database is (data dir or PostgreSQL URL) and the migrations to apply on open. */
export interface OpenDatabaseOptions {
  /** Data directory; the SQLite file is `<dataDir>/apiary.db`. */
  readonly dataDir: string;
  /** `postgres://…` selects PostgreSQL; empty selects the embedded SQLite file. */
  readonly databaseUrl?: string;
  /** Migrations of every context, keyed by globally ordered names (`0001_core`, `0100_objects_init`…). */
  readonly migrations: MigrationSet;
}

/** Which database engine is in use. */
export type Dialect = 'sqlite' | 'postgres';

/** An open, migrated database: the Kysely handle, its dialect, and close(). */
export interface Database {
  readonly db: Db;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

const coreMigrations: MigrationSet = {
  '0001_core': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('tags')
        .addColumn('resource_arn', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('tags_pk', ['resource_arn', 'key'])
        .execute();
      await db.schema
        .createTable('kv')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

/**
 * Opens the metadata database and runs every pending migration.
 * SQLite runs in WAL mode with a busy timeout; PostgreSQL is picked by `databaseUrl`.
 * @throws Error naming the migration that failed.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  let db: Db;
  let dialect: Dialect;
  if (options.databaseUrl && /^postgres(ql)?:\/\//.test(options.databaseUrl)) {
    const pg = await import('pg');
    const pool = new pg.default.Pool({ connectionString: options.databaseUrl, max: 10 });
    // An idle connection the server ends (restart, admin command) is reported here; without a
    // listener it would crash the process. The pool drops it and the next query connects afresh.
    pool.on('error', () => {});
    db = new Kysely<CoreTables>({ dialect: new PostgresDialect({ pool }) });
    dialect = 'postgres';
  } else {
    fs.mkdirSync(options.dataDir, { recursive: true });
    const file = path.join(options.dataDir, 'apiary.db');
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    db = new Kysely<CoreTables>({
      dialect: new SqliteDialect({ database: cachedStatements(sqlite) }),
    });
    dialect = 'sqlite';
  }
  const all: Record<string, Migration> = { ...coreMigrations, ...options.migrations };
  const provider: MigrationProvider = { getMigrations: async () => all };
  const migrator = new Migrator({ db, provider, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    await db.destroy();
    throw new Error(
      `database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`,
      { cause: error },
    );
  }
  return {
    db,
    dialect,
    close: () => db.destroy(),
  };
}
