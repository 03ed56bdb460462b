/**
 * Serving benchmark (never a test): Apiary's InvokeEndpoint vs the limit and a peer, same model.
 *
 *   npx tsx bench/serving/main.ts [--seconds 3] [--rounds 3]
 *   BENCH_BASE_ROOT=/work/main npx tsx bench/serving/main.ts   # also that checkout's default
 *
 * - limit: one process calling ONNX Runtime directly on the same model.onnx: sharp decode (the
 *   runtime's own decodeImage) + session.run on the main thread, ORT using every core (same session
 *   options as Apiary's instances), k requests in flight so decoding overlaps inference. No HTTP, no
 *   signing. Note onnxruntime-node's run() executes synchronously on the calling JS thread, so
 *   while it runs this process cannot start the next decode: Apiary, which runs ORT in worker
 *   threads, can beat this "limit" -- read it as "the naive in-process integration".
 * - peer: the same SSDlite in PyTorch eager mode behind a Python ThreadingHTTPServer
 *   (bench/serving/torch_server.py), one inference at a time with all cores.
 * - apiary: `bin/apiary serve` in its own process; InvokeEndpoint through SigV4-signed HTTP requests
 *   (the AWS SDK's signer) at concurrency 1, 8 and 32, for a few instance/thread/batching configs.
 * Also: CreateEndpoint → InService time; the default layout (APIARY_ORT_THREADS=0) against the best
 * config; p99 under the same seeded Poisson arrivals at 70 % of the limit's capacity, sent to the
 * limit and to Apiary's default; and the server's memory growth per instance (file pages counted
 * once) against the model's size. Prints a table with ratios; writes bench/out/serving.txt.
 * Memory per instance by layout and ORT/V8 setting, each in a fresh process: bench/serving/memory.ts.
 * Inputs: 16 synthetic 640×480 bee JPEGs (apiary_od.synthetic), the detector as exported by
 * apiary_od (untrained, seeded: speed does not depend on the weights' quality).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  SageMakerClient,
  CreateModelCommand,
  CreateEndpointConfigCommand,
  CreateEndpointCommand,
  DescribeEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { hostingFixtures } from '../../test/fixtures/hosting.js';
import { extractModelArchive } from '../../src/hosting/runtime/artifact.js';
import { loadDetectorSpec } from '../../src/hosting/runtime/model-spec.js';
import { decodeImage } from '../../src/hosting/runtime/image.js';
import { physKb, smapsRss } from './smaps.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const PYTHON = path.join(ROOT, '.venv/bin/python');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) || fallback : fallback;
};
const SECONDS = arg('--seconds', 3);
const ROUNDS = arg('--rounds', 3);
const CORES = os.cpus().length;
const KEY = 'BENCHACCESSKEY0001';
const SECRET = 'benchsecretbenchsecretbenchsecret0001';
const REGION = 'us-east-1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SHA-256 for the request signer from node:crypto (OpenSSL), as a real client's (boto3's hashlib)
 * would be: the pure-JS @aws-crypto/sha256-js spent the bench process's CPU hashing each JPEG,
 * and on two cores that CPU is taken from the server being measured.
 */
type Bytes = string | ArrayBuffer | ArrayBufferView;
const toBytes = (d: Bytes): string | Uint8Array =>
  typeof d === 'string'
    ? d
    : d instanceof ArrayBuffer
      ? new Uint8Array(d)
      : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
class NodeSha256 {
  private h: Hash | Hmac;
  constructor(private readonly secret?: Bytes) {
    this.h = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined
      ? createHash('sha256')
      : createHmac('sha256', toBytes(this.secret));
  }
  update(data: Bytes): void {
    this.h.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.fresh();
  }
}

interface Result {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** Closed loop: `c` workers each send back-to-back for SECONDS (after a short warm-up). */
async function closedLoop(c: number, call: (i: number) => Promise<boolean>): Promise<Result> {
  const one = (i: number) => call(i).catch(() => false);
  for (let i = 0; i < Math.max(2, c); i++) await one(i);
  const lat: number[] = [];
  let errors = 0;
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        const ok = await one(n++);
        lat.push(performance.now() - s);
        if (!ok) errors++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { rps: (lat.length - errors) / secs, p50: pct(lat, 50), p99: pct(lat, 99), errors };
}

/** Exponential gaps of a Poisson process at `rps`, from a fixed seed: every system gets the same arrivals. */
function poissonSchedule(rps: number, seconds: number, seed = 20): number[] {
  let x = seed >>> 0;
  const rand = () => {
    // xorshift32: small, seeded, good enough for arrival gaps.
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return (x + 0.5) / 4294967296;
  };
  const at: number[] = [];
  for (let t = 0; t < seconds * 1000;) {
    t += (-Math.log(rand()) * 1000) / rps;
    at.push(t);
  }
  return at;
}

/** Open loop: requests at the scheduled times (ms from the start), latency measured from the schedule. */
async function openLoop(
  schedule: readonly number[],
  call: (i: number) => Promise<boolean>,
): Promise<Result> {
  const one = (i: number) => call(i).catch(() => false);
  for (let i = 0; i < 4; i++) await one(i);
  const lat: number[] = [];
  let errors = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  for (const [i, offset] of schedule.entries()) {
    const at = t0 + offset;
    const wait = at - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(
      one(i).then((ok) => {
        lat.push(performance.now() - at);
        if (!ok) errors++;
      }),
    );
  }
  await Promise.all(pending);
  return {
    rps: (lat.length - errors) / ((performance.now() - t0) / 1000),
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    errors,
  };
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitHttp(url: string, ms = 60_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      await fetch(url);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${url} did not come up`);
}

/** A process's resident memory (MiB), each file's pages counted once (see smaps.ts). */
const rssMiB = (pid: number) => {
  try {
    return physKb(smapsRss(pid)) / 1024;
  } catch {
    return NaN;
  }
};

async function main() {
  const lines: string[] = [];
  const say = (s = '') => {
    lines.push(s);
    process.stdout.write(s + '\n');
  };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-bench-serving-'));
  const fixtures = await hostingFixtures();
  const tarball = path.join(fixtures, 'detector.tar.gz');
  const modelDir = path.join(work, 'model');
  await extractModelArchive(fs.createReadStream(tarball), modelDir);
  const spec = await loadDetectorSpec(modelDir);
  await promisify(execFile)(
    PYTHON,
    [
      '-m',
      'apiary_od.synthetic',
      '--out',
      path.join(work, 'bees'),
      '--n',
      '0',
      '--test',
      '16',
      '--size',
      '640',
    ],
    {
      cwd: path.join(ROOT, 'algorithms/object-detection'),
    },
  );
  const images = fs
    .readdirSync(path.join(work, 'bees/test'))
    .sort()
    .map((f) => fs.readFileSync(path.join(work, 'bees/test', f)));
  say(
    `serving benchmark: ${CORES} cores, ${os.cpus()[0]?.model ?? ''}, load average ${os.loadavg()[0]!.toFixed(1)} at start; model ${spec.width}×${spec.height} SSDlite MobileNetV3 (apiary_od export, ${spec.maxDetections} detections), 16 JPEGs of ${images[0]!.length >> 10}-${Math.max(...images.map((b) => b.length)) >> 10} KiB 640 px; ${SECONDS} s per cell, median of ${ROUNDS} interleaved rounds`,
  );

  // Every system stays up and the cells are measured in interleaved rounds (median of ROUNDS), so a
  // burst of load from elsewhere on the machine hits all of them alike.
  type Call = (i: number) => Promise<boolean>;
  const systems: {
    name: string;
    call: Call;
    extra?: { createMs: number; rssBase: number; rssEp: number; instances: number };
    stop: () => void;
  }[] = [];

  // ---- the limit: ORT directly in this process ----
  {
    // Same ORT options as Apiary's instances (all cores, no spin-waiting), on this process's own thread.
    const session = await ort.InferenceSession.create(path.join(modelDir, 'model.onnx'), {
      intraOpNumThreads: CORES,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
    systems.push({
      name: 'limit: ORT in-process (no HTTP)',
      call: async (i) => {
        const img = await decodeImage(images[i % images.length]!, spec, {
          maxInputPixels: 40_000_000,
        });
        await session.run({
          [spec.inputName]: new ort.Tensor('float32', img.tensor, [1, 3, spec.height, spec.width]),
        });
        return true;
      },
      stop: () => void session.release(),
    });
  }

  // ---- the peer: PyTorch eager over HTTP ----
  {
    const port = await freePort();
    const child = spawn(PYTHON, [path.join(ROOT, 'bench/serving/torch_server.py'), String(port)], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitHttp(`http://127.0.0.1:${port}/ping`);
    systems.push({
      name: 'peer: PyTorch eager HTTP server',
      call: async (i) => {
        const r = await fetch(`http://127.0.0.1:${port}/invocations`, {
          method: 'POST',
          body: images[i % images.length],
          headers: { 'content-type': 'image/jpeg' },
        });
        await r.arrayBuffer();
        return r.ok;
      },
      stop: () => child.kill('SIGTERM'),
    });
  }

  // ---- Apiary, one server process per configuration ----
  // Each server starts the way a user starts it, through bin/apiary's shell line (which sets glibc's
  // allocator for `apiary serve`); `viaNode` starts `node bin/apiary` instead, without those settings.
  const configs: {
    name: string;
    instances: number;
    env: Record<string, string>;
    viaNode?: boolean;
    /** Another checkout to start the server from (BENCH_BASE_ROOT). */
    root?: string;
  }[] = [
    { name: 'default (1 instance, APIARY_ORT_THREADS=0)', instances: 1, env: {} },
    {
      name: 'default, glibc malloc defaults',
      instances: 1,
      env: {},
      viaNode: true,
    },
    {
      name: '1 instance × ORT threads=2',
      instances: 1,
      env: { APIARY_ORT_THREADS: String(CORES), APIARY_SERVING_MAX_BATCH: '1' },
    },
    {
      name: '2 instances × ORT threads=1',
      instances: 2,
      env: { APIARY_ORT_THREADS: '1', APIARY_SERVING_MAX_BATCH: '1' },
    },
    {
      name: '2 inst × 1 thread, batch≤4',
      instances: 2,
      env: { APIARY_ORT_THREADS: '1', APIARY_SERVING_MAX_BATCH: '4' },
    },
    {
      name: '1 inst × 2 threads, batch≤4',
      instances: 1,
      env: { APIARY_ORT_THREADS: String(CORES), APIARY_SERVING_MAX_BATCH: '4' },
    },
  ];
  // BENCH_BASE_ROOT=/path/to/another/checkout: also its default layout, started from its own
  // bin/apiary and sources, for a side-by-side before/after under the same load.
  const baseRoot = process.env.BENCH_BASE_ROOT;
  if (baseRoot) {
    configs.push({
      name: `default, ${path.basename(baseRoot)} checkout`,
      instances: 1,
      env: { APIARY_FROM_SOURCE: '1' },
      root: baseRoot,
    });
  }
  // BENCH_CONFIGS=0,3: only those Apiary configs (indexes into the list above; 0 = the default,
  // 6 = BENCH_BASE_ROOT's default).

  const only = process.env.BENCH_CONFIGS?.split(',').map(Number);
  for (const [idx, cfg] of configs.entries()) {
    if (only && !only.includes(idx)) continue;
    const port = await freePort();
    const launcher = path.join(cfg.root ?? ROOT, 'bin/apiary');
    const [cmd, args] = cfg.viaNode
      ? [process.execPath, [launcher, 'serve']]
      : [launcher, ['serve']];
    const child = spawn(cmd, args, {
      env: {
        ...Object.fromEntries(
          Object.entries(process.env).filter(([k]) => !k.startsWith('MALLOC_')),
        ),
        APIARY_PORT: String(port),
        APIARY_DATA_DIR: path.join(work, `apiary-${idx}`),
        APIARY_ROOT_ACCESS_KEY_ID: KEY,
        APIARY_ROOT_SECRET_ACCESS_KEY: SECRET,
        APIARY_LOG_LEVEL: 'warn',
        APIARY_SERVING_QUEUE_PER_INSTANCE: '64',
        ...cfg.env,
      },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const url = `http://127.0.0.1:${port}`;
    await waitHttp(`${url}/_apiary/health`);
    const client = {
      endpoint: url,
      region: REGION,
      credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
      forcePathStyle: true,
    };
    const s3 = new S3Client(client);
    const sm = new SageMakerClient(client);
    await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
    await s3.send(
      new PutObjectCommand({
        Bucket: 'bench',
        Key: 'model.tar.gz',
        Body: fs.readFileSync(tarball),
      }),
    );
    await sm.send(
      new CreateModelCommand({
        ModelName: 'bees',
        PrimaryContainer: {
          Image: '811284229777.dkr.ecr.us-east-1.amazonaws.com/object-detection:1',
          ModelDataUrl: 's3://bench/model.tar.gz',
        },
      }),
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'bees',
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: 'bees',
            InitialInstanceCount: cfg.instances,
            InstanceType: 'ml.m5.large',
          },
        ],
      }),
    );
    await sleep(500);
    const rssBase = rssMiB(child.pid!);
    const t0 = performance.now();
    await sm.send(new CreateEndpointCommand({ EndpointName: 'bees', EndpointConfigName: 'bees' }));
    while (
      (await sm.send(new DescribeEndpointCommand({ EndpointName: 'bees' }))).EndpointStatus !==
      'InService'
    )
      await sleep(20);
    const createMs = performance.now() - t0;
    s3.destroy();
    sm.destroy();
    const signer = new SignatureV4({
      service: 'sagemaker',
      region: REGION,
      credentials: client.credentials,
      sha256: NodeSha256,
    });
    const host = `127.0.0.1:${port}`;
    const extra = { createMs, rssBase, rssEp: NaN, instances: cfg.instances };
    systems.push({
      name: `apiary: ${cfg.name}`,
      call: async (i) => {
        const body = images[i % images.length]!;
        const headers = (
          await signer.sign({
            method: 'POST',
            protocol: 'http:',
            hostname: '127.0.0.1',
            port,
            path: '/endpoints/bees/invocations',
            query: {},
            headers: { host, 'content-type': 'image/jpeg' },
            body,
          })
        ).headers;
        const r = await fetch(`${url}/endpoints/bees/invocations`, {
          method: 'POST',
          body,
          headers,
        });
        await r.arrayBuffer();
        return r.ok;
      },
      extra,
      stop: () => {
        extra.rssEp = rssMiB(child.pid!);
        child.kill('SIGTERM');
      },
    });
  }

  const cells = new Map<string, Result[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of [1, 8, 32]) {
      // The order rotates each round: a system is not always measured right after the same one
      // (e.g. just after PyTorch's threads have had the cores).
      for (const sys of [
        ...systems.slice(round % systems.length),
        ...systems.slice(0, round % systems.length),
      ]) {
        const key = `${sys.name}|${c}`;
        cells.set(key, [...(cells.get(key) ?? []), await closedLoop(c, sys.call)]);
      }
    }
  }
  const median = (name: string, c: number): Result => {
    const rs = [...cells.get(`${name}|${c}`)!].sort((a, b) => a.rps - b.rps);
    return rs[Math.floor(rs.length / 2)]!;
  };
  const res = (name: string) =>
    ({ 1: median(name, 1), 8: median(name, 8), 32: median(name, 32) }) as Record<number, Result>;
  const limit = res(systems[0]!.name);
  const peer = res(systems[1]!.name);
  const apiary = systems
    .slice(2)
    .map((s) => ({ name: s.name.replace('apiary: ', ''), res: res(s.name), sys: s }));
  const bestIdx = apiary.reduce(
    (bi, a, i) => (a.res[8]!.rps > apiary[bi]!.res[8]!.rps ? i : bi),
    0,
  );

  // ---- tail latency: the same Poisson arrivals at 70 % of the limit's capacity, to the limit and
  // to Apiary's default layout (queueing alone sets the tail; the limit shows what it costs) ----
  const b = apiary[bestIdx]!;
  const dflt = apiary[0]!;
  const rate = 0.7 * limit[8]!.rps;
  const schedule = poissonSchedule(rate, Math.max(10, SECONDS * 4));
  const openLimit = await openLoop(schedule, systems[0]!.call);
  const openApiary = await openLoop(schedule, dflt.sys.call);
  const openBest = b === dflt ? openApiary : await openLoop(schedule, b.sys.call);
  // BENCH_BASE_ROOT's default gets the same arrivals (the before/after of the tail).
  const base = apiary.find((a) => a.name.endsWith(' checkout'));
  const openBase = base ? await openLoop(schedule, base.sys.call) : undefined;
  // BENCH_OPEN_PAIRS=N: N more open-loop pairs, default and the base checkout in alternating
  // order (one pair's order can decide it on a shared machine).
  const pairs: string[] = [];
  for (let i = 0; base && i < Number(process.env.BENCH_OPEN_PAIRS ?? 0); i++) {
    const order = i % 2 === 0 ? [base, dflt] : [dflt, base];
    const got = new Map<string, Awaited<ReturnType<typeof openLoop>>>();
    for (const a of order) got.set(a.name, await openLoop(schedule, a.sys.call));
    const d = got.get(dflt.name)!;
    const bs = got.get(base.name)!;
    pairs.push(
      `  pair ${i + 1} (${order[0]!.name} first): default p50 ${d.p50.toFixed(0)} / p99 ${d.p99.toFixed(0)} ms; ${base.name} p50 ${bs.p50.toFixed(0)} / p99 ${bs.p99.toFixed(0)} ms`,
    );
  }
  for (const s of systems) s.stop();
  const bExtra = (a: (typeof apiary)[number]) => a.sys.extra!;

  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const row = (cells: string[]) =>
    say(cells.map((c, i) => (i === 0 ? c.padEnd(34) : c.padStart(12))).join(''));
  say();
  say('Throughput (images/s) and latency (ms) by concurrency');
  row(['', 'c=1 img/s', 'c=8 img/s', 'c=32 img/s', 'c=8 p50', 'c=8 p99', 'errors']);
  const show = (name: string, r: Record<number, Result>) =>
    row([
      name,
      f(r[1]!.rps),
      f(r[8]!.rps),
      f(r[32]!.rps),
      f(r[8]!.p50),
      f(r[8]!.p99),
      String(r[1]!.errors + r[8]!.errors + r[32]!.errors),
    ]);
  show('limit: ORT in-process (no HTTP)', limit);
  show('peer: PyTorch eager HTTP server', peer);
  for (const a of apiary) show(`apiary: ${a.name}`, a.res);
  say();
  say('Ratios (c=8 unless noted)');
  for (const a of apiary) {
    say(
      `  ${a.name.padEnd(30)} ${f(a.res[8]!.rps / limit[8]!.rps, 2)}× the limit (target ≥ 0.8)   ${f(a.res[8]!.rps / peer[8]!.rps, 1)}× PyTorch (target ≥ 5)   c=32: ${f(a.res[32]!.rps / peer[32]!.rps, 1)}× PyTorch`,
    );
  }
  say();
  say(
    `Load average at the end: ${os.loadavg()[0]!.toFixed(1)} (the machine is shared; cells are interleaved so bursts hit every system)`,
  );
  const within = dflt.res[8]!.rps / b.res[8]!.rps;
  say(
    `Default layout vs the best (${b.name}), c=8: ${f(dflt.res[8]!.rps)} vs ${f(b.res[8]!.rps)} img/s = ${f(within, 2)}× ${within >= 0.95 ? '✓' : '✗'} (target ≥ 0.95)`,
  );
  const tail = openApiary.p99 / openLimit.p99;
  say(
    `Open loop, Poisson arrivals at 70% of the limit's capacity (${f(rate)} req/s, ${schedule.length} requests, same schedule): ` +
      `limit p50 ${f(openLimit.p50)} / p99 ${f(openLimit.p99)} ms; Apiary default p50 ${f(openApiary.p50)} / p99 ${f(openApiary.p99)} ms, errors ${openApiary.errors} → ` +
      `p99 ${f(tail, 2)}× the limit's ${tail <= 1.2 ? '✓' : '✗'} (target ≤ 1.2)`,
  );
  if (b !== dflt) {
    say(
      `  same arrivals to the best config (${b.name}): p50 ${f(openBest.p50)} / p99 ${f(openBest.p99)} ms, errors ${openBest.errors} → p99 ${f(openBest.p99 / openLimit.p99, 2)}× the limit's`,
    );
  }
  if (base && openBase) {
    say(
      `  same arrivals to ${base.name}: p50 ${f(openBase.p50)} / p99 ${f(openBase.p99)} ms, errors ${openBase.errors} → p99 ${f(openBase.p99 / openLimit.p99, 2)}× the limit's`,
    );
  }
  for (const p of pairs) say(p);
  const modelMiB = fs.statSync(path.join(modelDir, 'model.onnx')).size / 2 ** 20;
  for (const a of apiary) {
    const x = bExtra(a);
    const per = (x.rssEp - x.rssBase) / x.instances;
    say(
      `CreateEndpoint → InService (${a.name}): ${f(x.createMs, 0)} ms (target ≤ 3000); server RSS ${f(x.rssBase, 0)} MiB before the endpoint, ${f(x.rssEp, 0)} MiB at the end of all cells → ` +
        `${f(per, 0)} MiB per instance (file pages once) = model ${f(modelMiB)} MiB + ${f(per - modelMiB, 0)} MiB ${per - modelMiB <= 60 ? '✓' : '✗'} (target ≤ model + 60 MiB)`,
    );
  }
  fs.mkdirSync(path.join(ROOT, 'bench/out'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/out/serving.txt'), lines.join('\n') + '\n');
  fs.rmSync(work, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
