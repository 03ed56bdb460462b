import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createPostgresDatabase, type PostgresDatabase } from './postgres.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin-proxy.js';
import { startVersitygw, type S3TestServer } from './s3-servers.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** One `apiary serve` process of a replica set. */
export interface Replica {
  readonly name: string;
  readonly dataDir: string;
  child: ChildProcess;
  url: string;
}

export const REPLICA_KEY = 'AKAPSCALEOUTTEST0001';
export const REPLICA_SECRET = 'scale-out-secret-key-for-tests-000000000';

/**
 * Apiary replicas as real processes on one throwaway PostgreSQL database and one versitygw bucket
 * for the bytes, behind a round-robin balancer — the scale-out deployment, on loopback.
 */
export class ReplicaSet {
  readonly replicas: Replica[] = [];
  proxy!: RoundRobinProxy;
  private constructor(
    readonly database: PostgresDatabase,
    readonly blobs: S3TestServer,
    private readonly env: Record<string, string>,
  ) {}

  /** Starts `count` replicas (named replica-a, replica-b, …) with `env` added to each. */
  static async start(count: number, env: Record<string, string> = {}): Promise<ReplicaSet> {
    const database = await createPostgresDatabase();
    const blobs = await startVersitygw();
    await blobs.createBucket('apiary-blobs');
    const set = new ReplicaSet(database, blobs, env);
    for (let i = 0; i < count; i++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-replica-'));
      set.replicas.push(await set.serve(`replica-${String.fromCharCode(97 + i)}`, dir));
    }
    set.proxy = await startRoundRobinProxy(set.replicas.map((r) => r.url));
    return set;
  }

  get databaseUrl(): string {
    return this.database.url;
  }

  private async serve(name: string, dataDir: string): Promise<Replica> {
    const env = {
      ...process.env,
      APIARY_DATA_DIR: dataDir,
      APIARY_PORT: '0',
      APIARY_LOG_LEVEL: 'warn',
      APIARY_DATABASE_URL: this.databaseUrl,
      APIARY_BLOB_STORE: 's3://apiary-blobs/replicas',
      APIARY_BLOB_S3_ENDPOINT: this.blobs.endpoint,
      APIARY_BLOB_S3_ACCESS_KEY_ID: this.blobs.accessKeyId,
      APIARY_BLOB_S3_SECRET_ACCESS_KEY: this.blobs.secretAccessKey,
      APIARY_ROOT_ACCESS_KEY_ID: REPLICA_KEY,
      APIARY_ROOT_SECRET_ACCESS_KEY: REPLICA_SECRET,
      APIARY_REPLICA_ID: name,
      APIARY_LEASE_TTL_SECONDS: '3',
      APIARY_FROM_SOURCE: '1',
      ...this.env,
    };
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'apiary'), 'serve'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`replica ${name} did not start: ${out}`)),
        60_000,
      );
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', (code) => reject(new Error(`replica ${name} exited with ${code}: ${out}`)));
    });
    return { name, dataDir, child, url };
  }

  /** kill -9, and wait until the process is gone. */
  async kill(r: Replica): Promise<void> {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return;
    const exited = new Promise((res) => r.child.once('exit', res));
    r.child.kill('SIGKILL');
    await exited;
  }

  /** Starts a killed replica again as itself (same id and data dir) and puts it back behind the balancer. */
  async revive(r: Replica): Promise<void> {
    const back = await this.serve(r.name, r.dataDir);
    r.child = back.child;
    r.url = back.url;
    await this.proxy.close();
    this.proxy = await startRoundRobinProxy(this.replicas.map((x) => x.url));
  }

  /** The replica that holds a lease now (read from the shared database); `prefix*` matches by prefix. */
  async holderOf(lease: string): Promise<Replica> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      const { rows } = lease.endsWith('*')
        ? await client.query<{ holder: string }>(
            'select holder from leases where starts_with(name, $1)',
            [lease.slice(0, -1)],
          )
        : await client.query<{ holder: string }>('select holder from leases where name = $1', [
            lease,
          ]);
      const r = this.replicas.find((x) => x.name === rows[0]?.holder);
      if (!r) throw new Error(`no replica holds ${lease} (${JSON.stringify(rows)})`);
      return r;
    } finally {
      await client.end();
    }
  }

  /** `apiary <args>` on the shared database (accounts and images live there). */
  async cli(args: string[], stdin = ''): Promise<void> {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'apiary'), ...args], {
      env: {
        ...process.env,
        APIARY_DATA_DIR: this.replicas[0]!.dataDir,
        APIARY_DATABASE_URL: this.databaseUrl,
        APIARY_LOG_LEVEL: 'silent',
        APIARY_FROM_SOURCE: '1',
        APIARY_ROOT_ACCESS_KEY_ID: REPLICA_KEY,
        APIARY_ROOT_SECRET_ACCESS_KEY: REPLICA_SECRET,
      },
      stdio: ['pipe', 'inherit', 'inherit'],
    });
    child.stdin!.end(stdin);
    const exit = await new Promise((res) => child.on('exit', res));
    if (exit !== 0) throw new Error(`apiary ${args.join(' ')} exited with ${String(exit)}`);
  }

  /** AWS SDK client settings for one URL (a replica or the balancer). */
  static config(endpoint: string) {
    return {
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: REPLICA_KEY, secretAccessKey: REPLICA_SECRET },
      forcePathStyle: true,
      maxAttempts: 1,
    };
  }

  /** Environment for the aws CLI, boto3 and the tutorial pointed at `url`. */
  static clientEnv(url: string): NodeJS.ProcessEnv {
    return {
      ...process.env,
      AWS_ACCESS_KEY_ID: REPLICA_KEY,
      AWS_SECRET_ACCESS_KEY: REPLICA_SECRET,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: url,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      APIARY_ENDPOINT_URL: url,
    };
  }

  async close(): Promise<void> {
    await this.proxy?.close();
    for (const r of this.replicas) await this.kill(r);
    await this.blobs.stop();
    await this.database.drop().catch(() => {});
    for (const r of this.replicas) fs.rmSync(r.dataDir, { recursive: true, force: true });
  }
}
