import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type Database, type MigrationSet } from '../../src/store/index.js';

const run = promisify(execFile);

/** Where Debian's `postgresql-15` puts its binaries (scripts/install.sh installs the package). */
export const POSTGRES_BIN = process.env.APIARY_TEST_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

/** A throwaway PostgreSQL cluster: temp dir, loopback port, fsync off, trust auth on loopback. */
export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`, for creating and dropping databases. */
  readonly adminUrl: string;
  /** Stops the server (fast shutdown: connections are cut), keeping its data; `start` brings it back on the same port. */
  halt(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A fresh database of the shared cluster; `drop` removes it (closing any connection left). */
export interface PostgresDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** Whether PostgreSQL's binaries are installed where the helpers look. */
export const postgresInstalled = (): boolean => fs.existsSync(path.join(POSTGRES_BIN, 'initdb'));

/**
 * Runs a PostgreSQL binary: as the `postgres` user when we are root (initdb and the server refuse
 * to run as root), as ourselves otherwise.
 */
async function pgBin(tool: string, args: readonly string[]): Promise<void> {
  const bin = path.join(POSTGRES_BIN, tool);
  if (!fs.existsSync(bin)) {
    throw new Error(
      `${bin} is missing: install PostgreSQL 15 (scripts/install.sh installs Debian's postgresql-15) ` +
        `or point APIARY_TEST_POSTGRES_BIN at its bin folder`,
    );
  }
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', bin, ...args]]
    : [bin, [...args]];
  await run(cmd, argv, { env: { ...process.env, LC_ALL: 'C' } });
}

/**
 * Starts a throwaway cluster (well under a second). `initdb` with the C locale, so text sorts
 * by bytes as SQLite's does; data and socket in one temp folder removed by `stop`.
 */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-pg-'));
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const uid = Number(stdout.trim());
    const { stdout: gidOut } = await run('id', ['-g', 'postgres']);
    fs.chownSync(dir, uid, Number(gidOut.trim()));
  }
  const data = path.join(dir, 'data');
  await pgBin('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '--locale=C',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    '-h 127.0.0.1',
    `-k ${dir}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
  ].join(' ');
  await pgBin('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', 'start']);
  let stopped = false;
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async halt() {
      await pgBin('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    async start() {
      await pgBin('pg_ctl', [
        '-D',
        data,
        '-o',
        options,
        '-l',
        path.join(dir, 'log'),
        '-w',
        'start',
      ]);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await pgBin('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by test/global-setup.ts when PostgreSQL 15 is installed. */
    postgresAdminUrl: string | undefined;
  }
}

/** The admin URL of the run's throwaway cluster, which test/global-setup.ts owns. */
function adminUrl(): string {
  const url = inject('postgresAdminUrl');
  if (!url) {
    throw new Error(
      `no PostgreSQL test cluster: ${path.join(POSTGRES_BIN, 'initdb')} is missing; install ` +
        `PostgreSQL 15 (scripts/install.sh installs Debian's postgresql-15) and run the tests ` +
        `through vitest.config.ts, whose globalSetup starts the cluster`,
    );
  }
  return url;
}

/** Creates an empty database in the shared throwaway cluster. */
export async function createPostgresDatabase(): Promise<PostgresDatabase> {
  const admin = adminUrl();
  const name = `apiary_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Which database integration tests run on: `APIARY_TEST_DATABASE=postgres` picks PostgreSQL. */
export const testDatabaseDialect = (): 'sqlite' | 'postgres' =>
  process.env.APIARY_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';

/** The dialects every repository contract suite runs on, in the manner of Kysely's own tests. */
export const DIALECTS = ['sqlite', 'postgres'] as const;

/** A migrated test database and what reopens it (the data dir, the PostgreSQL URL). */
export interface TestDatabase extends Database {
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
}

/**
 * Opens a fresh, migrated metadata database of a dialect: a SQLite file in a temp dir, or a new
 * database in the run's PostgreSQL cluster. `close` destroys it.
 */
export async function openTestDatabase(
  dialect: (typeof DIALECTS)[number],
  migrations: MigrationSet,
): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-db-'));
  const postgres = dialect === 'postgres' ? await createPostgresDatabase() : undefined;
  const database = await openDatabase({ dataDir, databaseUrl: postgres?.url, migrations });
  return {
    ...database,
    dataDir,
    databaseUrl: postgres?.url,
    async close() {
      await database.close();
      await postgres?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
