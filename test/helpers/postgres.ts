import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A throwaway PostgreSQL cluster on loopback (Debian's postgresql-15), one per test run. */
export interface TestPostgres {
  readonly port: number;
  /** Creates an empty database; @returns its `postgres://` URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const BIN = process.env.APIARY_PG_BIN ?? '/usr/lib/postgresql/15/bin';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** initdb + pg_ctl as the `postgres` user in a temp folder; fsync off (tests only). */
export async function startPostgres(): Promise<TestPostgres> {
  if (!fs.existsSync(path.join(BIN, 'initdb'))) {
    throw new Error(`PostgreSQL 15 is not installed (${BIN}/initdb missing): run scripts/install.sh (apt-get install postgresql-15)`);
  }
  const asPostgres = (args: string[]) => {
    const r = spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr || r.stdout}`);
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-pg-'));
  fs.chmodSync(dir, 0o755);
  execFileSync('chown', ['postgres', dir]);
  const data = path.join(dir, 'data');
  asPostgres([path.join(BIN, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  asPostgres([
    path.join(BIN, 'pg_ctl'), '-D', data, '-l', path.join(dir, 'log'), '-w', '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
    'start',
  ]);
  return {
    port,
    async createDatabase(name) {
      asPostgres([path.join(BIN, 'createdb'), '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name]);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      spawnSync('runuser', ['-u', 'postgres', '--', path.join(BIN, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'], { encoding: 'utf8' });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
