/**
 * Before/after of Apiary's S3 path on a shared machine: two already-built Apiary servers (e.g.
 * `bench/out/s3-apiary` and `bench/out/s3-apiary-base`, which `bench/s3/run.ts` builds with
 * BENCH_APIARY_BASE) driven by the same SDK client settings, in small alternating batches (A, B,
 * A, B, …) so that a burst of load elsewhere hits both alike; prints the median server CPU per
 * operation (user + system, all threads) and ops/s of each.
 *
 *   node --import tsx bench/s3/side-by-side.ts bench/out/s3-apiary-base bench/out/s3-apiary
 *   node --import tsx bench/s3/side-by-side.ts /work/main .   (checkouts: each compiled first)
 *
 * BENCH_APIARY_NODE_ARGS: extra Node flags for both servers (e.g. '--cpu-prof --cpu-prof-dir=…').
 * BENCH_BATCHES (default 12) batches of BENCH_BATCH_OPS (default 100; a tenth for 4 MiB) per cell;
 * BENCH_ROWS (a regular expression, e.g. 'PUT 4 MiB'), BENCH_THREADS=1 (CPU split by thread name),
 * BENCH_CHECKSUMS=1 (the SDK's default checksums: a CRC32 with each PUT; default: none, as run.ts).
 * BENCH_SIZES: object sizes in KiB (default '16,4096'); BENCH_ENV_A / BENCH_ENV_B: settings for
 * one side only ('APIARY_S3_INLINE_MAX_BYTES=0 …'), e.g. one checkout against itself under two
 * settings.
 * Not a test: never fails on timing.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  APIARY_CREDENTIALS,
  buildApiary,
  builtApiary,
  startApiaryProcess,
} from './apiary-server.js';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 12);
const BATCH_OPS = Number(process.env.BENCH_BATCH_OPS ?? 100);
const ROWS = new RegExp(process.env.BENCH_ROWS ?? '.');
/** BENCH_THREADS=1: each row's CPU per operation split by thread name as well. */
const THREADS = process.env.BENCH_THREADS === '1';
const SIZES = (process.env.BENCH_SIZES ?? '16,4096').split(',').map((k) => Number(k) * 1024);
const labelOf = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`;
/** 'K=V K=V' → an env record. */
const sideEnv = (spec: string | undefined): Record<string, string> =>
  Object.fromEntries(
    (spec ?? '')
      .split(' ')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-sbs-'));
const credentials = { ...APIARY_CREDENTIALS };

/**
 * CPU time of a process in ms, summed over its threads from /proc/<pid>/task/<tid>/schedstat
 * (nanoseconds: /proc/<pid>/stat counts 10 ms ticks, too coarse for a batch of small requests).
 * Threads that ended since the last reading are missed: libuv's pool and V8's helpers live as
 * long as the process.
 */
function cpuMs(pid: number): number {
  let ms = 0;
  for (const v of Object.values(cpuByThread(pid))) ms += v;
  return ms;
}

/** CPU ms per thread name (`node` is the main thread; libuv's pool, V8's helpers…). */
function cpuByThread(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(
        fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0],
      );
      const name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out[name] = (out[name] ?? 0) + ns / 1e6;
    } catch {
      // The thread ended while we looked.
    }
  }
  return out;
}

interface Side {
  readonly name: string;
  readonly child: ChildProcess;
  readonly client: S3Client;
}

/**
 * Starts the Apiary in `dir`: a build (`dir/dist/cli/main.js`, e.g. bench/out/s3-apiary) or a
 * checkout, compiled first into bench/out/sbs-<name>.
 */
async function start(dir: string, name: string): Promise<Side> {
  const entry = builtApiary(dir) ?? (await buildApiary(path.resolve(dir), `sbs-${name}`));
  const { endpoint, child } = await startApiaryProcess(entry, {
    name,
    dataDir: path.join(work, name),
    nodeArgs: (process.env.BENCH_APIARY_NODE_ARGS ?? '').split(' ').filter(Boolean),
    env: sideEnv(process.env[`BENCH_ENV_${name}`]),
  });
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    credentials,
    forcePathStyle: true,
    maxAttempts: 1,
    // BENCH_CHECKSUMS=1: the SDK's defaults (a CRC32 with every PUT, checked on GET).
    ...(process.env.BENCH_CHECKSUMS === '1'
      ? {}
      : {
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }),
  });
  await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  return { name, child, client };
}

const median = (xs: number[]) => {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
};

async function batch(
  s: Side,
  ops: number,
  conc: number,
  op: (c: S3Client, w: number, i: number) => Promise<void>,
): Promise<{ cpuUs: number; opsPerS: number; threads: Record<string, number> }> {
  const cpu0 = cpuMs(s.child.pid!);
  const threads0 = cpuByThread(s.child.pid!);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: conc }, async (_, w) => {
      while (next < ops) await op(s.client, w, next++);
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const threads: Record<string, number> = {};
  for (const [name, ms] of Object.entries(cpuByThread(s.child.pid!)))
    threads[name] = ((ms - (threads0[name] ?? 0)) * 1000) / ops;
  return { cpuUs: ((cpuMs(s.child.pid!) - cpu0) * 1000) / ops, opsPerS: ops / secs, threads };
}

async function main() {
  const [a, b] = process.argv.slice(2);
  if (!a || !b) throw new Error('usage: side-by-side.ts <built dir A> <built dir B>');
  const sides: Side[] = [];
  const lines = [
    `side by side — load ${os.loadavg()[0]!.toFixed(1)}, ${BATCHES} alternating batches per cell; A = ${a} ${process.env.BENCH_ENV_A ?? ''}, B = ${b} ${process.env.BENCH_ENV_B ?? ''}`,
    '',
    '| row | A CPU µs/op | B CPU µs/op | B ÷ A | A ops/s | B ops/s |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  try {
    sides.push(await start(a, 'A'));
    sides.push(await start(b, 'B'));
    for (const size of SIZES) {
      const label = labelOf(size);
      const body = Buffer.alloc(size, 0x61);
      const ops = size > 1024 * 1024 ? Math.max(6, Math.round(BATCH_OPS / 10)) : BATCH_OPS;
      for (const conc of [1, 16]) {
        const cells = {
          PUT: (c: S3Client, w: number, i: number) =>
            c
              .send(
                new PutObjectCommand({
                  Bucket: 'bench',
                  Key: `o/${label}/${w}/${i % 20}`,
                  Body: body,
                }),
              )
              .then(() => undefined),
          GET: async (c: S3Client) => {
            const r = await c.send(new GetObjectCommand({ Bucket: 'bench', Key: `o/${label}/g` }));
            await r.Body!.transformToByteArray();
          },
        };
        for (const [verb, op] of Object.entries(cells)) {
          const row = `${verb} ${label} c=${conc}`;
          if (!ROWS.test(row)) continue;
          const got = sides.map(() => ({
            cpu: [] as number[],
            rate: [] as number[],
            threads: {} as Record<string, number[]>,
          }));
          // Warm-up, and the object GET reads, on both.
          for (const s of sides) {
            await s.client.send(
              new PutObjectCommand({ Bucket: 'bench', Key: `o/${label}/g`, Body: body }),
            );
            await batch(s, Math.max(conc, 4), conc, op);
          }
          for (let i = 0; i < BATCHES; i++) {
            // ABBA order within each pair of batches.
            const order = i % 2 ? [1, 0] : [0, 1];
            for (const k of order) {
              const r = await batch(sides[k]!, ops, conc, op);
              got[k]!.cpu.push(r.cpuUs);
              got[k]!.rate.push(r.opsPerS);
              for (const [name, us] of Object.entries(r.threads))
                (got[k]!.threads[name] ??= []).push(us);
            }
          }
          const [ca, cb] = got.map((g) => median(g.cpu));
          const [ra, rb] = got.map((g) => median(g.rate));
          const line = `| ${verb} ${label} c=${conc} | ${ca!.toFixed(0)} | ${cb!.toFixed(0)} | ${(cb! / ca!).toFixed(2)} | ${ra!.toFixed(1)} | ${rb!.toFixed(1)} |`;
          process.stderr.write(line + '\n');
          lines.push(line);
          if (THREADS) {
            for (const name of Object.keys(got[0]!.threads).sort()) {
              const [ta, tb] = got.map((g) => median(g.threads[name] ?? [0]));
              lines.push(`|   ${name} | ${ta!.toFixed(0)} | ${tb!.toFixed(0)} | | | |`);
            }
          }
        }
      }
    }
    lines.push('', `load at the end ${os.loadavg()[0]!.toFixed(1)}`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    for (const s of sides) {
      s.client.destroy();
      s.child.kill('SIGTERM');
    }
    await new Promise((r) => setTimeout(r, 500));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
