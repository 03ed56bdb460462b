import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * Real S3 servers for the external blob store's tests: versitygw (built once by
 * scripts/versitygw.sh into a cache outside the repository) and moto's server.
 */
export interface S3TestServer {
  readonly name: 'versitygw' | 'moto';
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** A client for the server itself (creating buckets, looking behind Apiary's back). */
  client(): S3Client;
  createBucket(bucket: string): Promise<void>;
  /** Kills the server (SIGKILL): the external store is gone mid-way. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null)
      throw new Error(`${what} exited with code ${child.exitCode} before it listened`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not listen on port ${port}`);
}

/** The versitygw binary, built on first use; fails with how to install Go when it is missing. */
export function versitygwBinary(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      path.join(ROOT, 'scripts/versitygw.sh'),
      { timeout: 15 * 60_000 },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(
              `scripts/versitygw.sh could not provide versitygw (exit ${err.code}): ${stderr.trim()}\n` +
                'The external blob store is tested against versitygw built from the Go module proxy: install Go ' +
                '(https://go.dev/doc/install, or apt-get install golang-go) and run the tests again.',
            ),
          );
        } else resolve(stdout.trim().split('\n').pop()!);
      },
    );
  });
}

function killChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function server(
  name: S3TestServer['name'],
  port: number,
  keys: { accessKeyId: string; secretAccessKey: string },
  launch: () => ChildProcess,
  cleanup: () => void,
): S3TestServer & { start(): Promise<void> } {
  let child: ChildProcess | undefined;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = () =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: keys,
      maxAttempts: 1,
    });
  const start = async () => {
    child = launch();
    await waitForPort(port, child, name);
  };
  return {
    name,
    endpoint,
    ...keys,
    client,
    start,
    async createBucket(bucket) {
      const c = client();
      try {
        await c.send(new CreateBucketCommand({ Bucket: bucket }));
      } finally {
        c.destroy();
      }
    },
    kill: () => killChild(child),
    restart: start,
    async stop() {
      await killChild(child);
      cleanup();
    },
  };
}

/** versitygw's posix backend over a temp directory, on a free loopback port. */
export async function startVersitygw(): Promise<S3TestServer> {
  const bin = await versitygwBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-vgw-'));
  const port = await freePort();
  const keys = {
    accessKeyId: 'vgwtestaccesskey0001',
    secretAccessKey: 'vgw-test-secret-key-0123456789',
  };
  const s = server(
    'versitygw',
    port,
    keys,
    () =>
      spawn(
        bin,
        [
          '--access',
          keys.accessKeyId,
          '--secret',
          keys.secretAccessKey,
          '--port',
          `127.0.0.1:${port}`,
          'posix',
          dir,
        ],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      ),
    () => fs.rmSync(dir, { recursive: true, force: true }),
  );
  await s.start();
  return s;
}

/** moto's S3 server (Python, on the machine): in memory, any credentials. */
export async function startMoto(): Promise<S3TestServer> {
  const port = await freePort();
  const keys = { accessKeyId: 'motoaccesskey000001', secretAccessKey: 'moto-secret' };
  const s = server(
    'moto',
    port,
    keys,
    () =>
      spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
        stdio: ['ignore', 'ignore', 'ignore'],
      }),
    () => undefined,
  );
  await s.start();
  return s;
}
