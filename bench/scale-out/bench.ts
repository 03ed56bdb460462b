/**
 * Scale-out benchmark: one Apiary replica vs two behind a round-robin balancer, both on one
 * throwaway PostgreSQL and one versitygw bucket for the bytes, in the same run on this machine.
 *
 *   npx tsx bench/scale-out/bench.ts
 *
 * Prints (1) requests/s of a mixed API load (S3 PUT and GET of 16 KiB objects, ListObjectsV2,
 * DescribeEndpoint, ListTrainingJobs) at concurrency BENCH_CONCURRENCY (16) for BENCH_SECONDS (10)
 * per layout, and the ratio two/one; (2) the takeover time after a kill -9 of the replica that
 * serves an endpoint: from the kill to the first invocation answered by the other replica, with
 * APIARY_LEASE_TTL_SECONDS=BENCH_LEASE_TTL (5). Not a test: never fails on timing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  ListTrainingJobsCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import pg from 'pg';
import { startPostgresCluster } from '../../test/helpers/postgres.js';
import { startRoundRobinProxy } from '../../test/helpers/round-robin-proxy.js';
import { startVersitygw, type S3TestServer } from '../../test/helpers/s3-servers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const LEASE_TTL = Number(process.env.BENCH_LEASE_TTL ?? 5);
const KEY = 'AKAPBENCHSCALEOUT001';
const SECRET = 'bench-scale-out-secret-000000000000000000';
const ECHO = path.join(ROOT, 'test', 'fixtures', 'echo-serving.mjs');

interface Replica {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  readonly dir: string;
}

async function serve(
  name: string,
  databaseUrl: string,
  blobs: S3TestServer,
  prefix: string,
): Promise<Replica> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-bench-replica-'));
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'apiary'), 'serve'], {
    env: {
      ...process.env,
      APIARY_DATA_DIR: dir,
      APIARY_PORT: '0',
      APIARY_LOG_LEVEL: 'warn',
      APIARY_DATABASE_URL: databaseUrl,
      APIARY_BLOB_STORE: `s3://apiary-blobs/${prefix}`,
      APIARY_BLOB_S3_ENDPOINT: blobs.endpoint,
      APIARY_BLOB_S3_ACCESS_KEY_ID: blobs.accessKeyId,
      APIARY_BLOB_S3_SECRET_ACCESS_KEY: blobs.secretAccessKey,
      APIARY_ROOT_ACCESS_KEY_ID: KEY,
      APIARY_ROOT_SECRET_ACCESS_KEY: SECRET,
      APIARY_REPLICA_ID: name,
      APIARY_LEASE_TTL_SECONDS: String(LEASE_TTL),
      // The sources as they are (a dist/ from an earlier build may be stale).
      APIARY_FROM_SOURCE: '1',
      APIARY_ENDPOINT_CREATE_WAIT_MS: '20000',
      APIARY_SERVING_IMAGES: JSON.stringify({
        'bench/echo:1': { command: [process.execPath, ECHO] },
      }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}: ${out}`)));
  });
  return { name, child, url, dir };
}

async function stop(r: Replica): Promise<void> {
  if (r.child.exitCode === null && r.child.signalCode === null) {
    const exited = new Promise((res) => r.child.once('exit', res));
    r.child.kill('SIGKILL');
    await exited;
  }
  fs.rmSync(r.dir, { recursive: true, force: true });
}

const cfg = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
  forcePathStyle: true,
  maxAttempts: 1,
});

/** The mixed load: a fixed cycle of operations per worker, for SECONDS. */
async function mixedLoad(
  url: string,
  bucket: string,
): Promise<{ ops: number; errors: number; seconds: number }> {
  const s3 = new S3Client(cfg(url));
  const sm = new SageMakerClient(cfg(url));
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const body = Buffer.alloc(16 * 1024, 7);
  for (let i = 0; i < 64; i++)
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `seed/${i}`, Body: body }));
  let ops = 0;
  let errors = 0;
  const start = performance.now();
  const until = start + SECONDS * 1000;
  const worker = async (w: number) => {
    for (let i = 0; performance.now() < until; i++) {
      try {
        switch (i % 5) {
          case 0:
            await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `w${w}/${i}`, Body: body }));
            break;
          case 1: {
            const r = await s3.send(
              new GetObjectCommand({ Bucket: bucket, Key: `seed/${i % 64}` }),
            );
            await r.Body!.transformToByteArray();
            break;
          }
          case 2:
            await s3.send(
              new ListObjectsV2Command({ Bucket: bucket, Prefix: 'seed/', MaxKeys: 100 }),
            );
            break;
          case 3:
            await sm.send(new DescribeEndpointCommand({ EndpointName: 'bench-echo' }));
            break;
          default:
            await sm.send(new ListTrainingJobsCommand({ MaxResults: 20 }));
        }
        ops++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  const seconds = (performance.now() - start) / 1000;
  s3.destroy();
  sm.destroy();
  return { ops, errors, seconds };
}

async function deployEcho(url: string): Promise<void> {
  const sm = new SageMakerClient(cfg(url));
  await sm.send(
    new CreateModelCommand({
      ModelName: 'bench-echo',
      PrimaryContainer: { Image: 'bench/echo:1' },
    }),
  );
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'bench-echo',
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: 'bench-echo',
          InitialInstanceCount: 1,
          InstanceType: 'ml.m5.large',
        },
      ],
    }),
  );
  await sm.send(
    new CreateEndpointCommand({ EndpointName: 'bench-echo', EndpointConfigName: 'bench-echo' }),
  );
  for (;;) {
    const d = await sm.send(new DescribeEndpointCommand({ EndpointName: 'bench-echo' }));
    if (d.EndpointStatus === 'InService') break;
    if (d.EndpointStatus === 'Failed') throw new Error(d.FailureReason);
    await new Promise((r) => setTimeout(r, 200));
  }
  sm.destroy();
}

async function main(): Promise<void> {
  const postgres = await startPostgresCluster();
  const createDatabase = async (name: string): Promise<string> => {
    const admin = new pg.Client({ connectionString: postgres.adminUrl });
    admin.on('error', () => {});
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(postgres.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  const blobs = await startVersitygw();
  await blobs.createBucket('apiary-blobs');
  const rows: string[] = [];
  try {
    // One replica.
    const oneDb = await createDatabase('one');
    const solo = await serve('solo', oneDb, blobs, 'one');
    await deployEcho(solo.url);
    const one = await mixedLoad(solo.url, 'bench-one');
    await stop(solo);

    // Two replicas behind a round-robin balancer.
    const twoDb = await createDatabase('two');
    const a = await serve('replica-a', twoDb, blobs, 'two');
    const b = await serve('replica-b', twoDb, blobs, 'two');
    const lb = await startRoundRobinProxy([a.url, b.url]);
    await deployEcho(lb.url);
    const two = await mixedLoad(lb.url, 'bench-two');

    // Takeover: kill -9 the replica holding the endpoint, invoke through the other until answered.
    const client = new pg.Client({ connectionString: twoDb });
    client.on('error', () => {});
    await client.connect();
    const holder = (
      await client.query<{ holder: string }>(
        "select holder from leases where name = 'endpoint:bench-echo'",
      )
    ).rows[0]?.holder;
    await client.end();
    const [victim, survivor] = holder === a.name ? [a, b] : [b, a];
    const rt = new SageMakerRuntimeClient(cfg(survivor.url));
    const killedAt = performance.now();
    victim.child.kill('SIGKILL');
    let takeoverMs = NaN;
    for (let i = 0; i < 600; i++) {
      try {
        await rt.send(
          new InvokeEndpointCommand({
            EndpointName: 'bench-echo',
            Body: Buffer.from('x'),
            ContentType: 'text/plain',
          }),
        );
        takeoverMs = performance.now() - killedAt;
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    rt.destroy();
    await lb.close();
    await stop(a);
    await stop(b);

    const rps = (r: { ops: number; seconds: number }) => r.ops / r.seconds;
    rows.push('| Layout | requests/s | errors | ratio vs one |', '|---|---|---|---|');
    rows.push(`| one replica | ${rps(one).toFixed(0)} | ${one.errors} | 1.00× |`);
    rows.push(
      `| two replicas + round-robin | ${rps(two).toFixed(0)} | ${two.errors} | ${(rps(two) / rps(one)).toFixed(2)}× |`,
    );
    rows.push('');
    rows.push(
      `Takeover after kill -9 of the endpoint's replica (lease TTL ${LEASE_TTL} s): ${(takeoverMs / 1000).toFixed(1)} s ` +
        `${takeoverMs <= (LEASE_TTL + LEASE_TTL / 3 + 5) * 1000 ? '✓' : '✗'} (target ≤ TTL + one heartbeat + a fleet start, ${(LEASE_TTL + LEASE_TTL / 3 + 5).toFixed(1)} s)`,
    );
    rows.push(
      `Machine: ${os.cpus().length} cores; mixed load: concurrency ${CONCURRENCY}, ${SECONDS} s per layout, PostgreSQL + versitygw on the same machine.`,
    );
  } finally {
    await blobs.stop();
    await postgres.stop();
  }
  console.log(rows.join('\n'));
}

await main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
