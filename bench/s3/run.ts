/**
 * S3 benchmark: Apiary side by side with moto's server and s3rver, driven by @aws-sdk/client-s3,
 * in one run on this machine. Prints a table with ratios against the faster peer and limits.
 *
 *   node --import tsx bench/s3/run.ts
 *
 * Settings (environment): BENCH_SECONDS per row and server (default 3), BENCH_LIST_KEYS (10000),
 * BENCH_BIG_UPLOAD_MIB for the RSS-while-uploading check (2048), BENCH_SERVERS (comma-separated
 * subset of apiary, moto, s3rver, versitygw, apiary-nofsync, apiary-vgw, bare), BENCH_ROWS (a regular
 * expression the row names must match, e.g. '4 MiB'), BENCH_SSE=AES256 (bucket default encryption
 * on every server), BENCH_APIARY_NODE_ARGS (extra Node flags for
 * the Apiary processes, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'), BENCH_APIARY_BASE (another
 * checkout, e.g. a worktree of main: adds `apiary-base`, built from it, measured back to back with
 * `apiary` in every cell — a before/after under the same load), BENCH_ROUNDS (rounds of the
 * PUT/GET cells, the server order rotating each round; every cell shows its median; default 1),
 * BENCH_WARMUP_SECONDS (the same operation run this long, unmeasured, before each cell; default 1).
 * `bare` (bare-server.ts: node:http, no auth, no storage, no hashing) is the ceiling, not a peer: what
 * any server gets with this client on this machine; each row shows apiary ÷ bare.
 * Not a test: never fails on timing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { versitygwBinary } from '../../test/helpers/s3-servers.js';
import {
  APIARY_CREDENTIALS,
  buildApiary,
  freePort,
  rootDir,
  startApiaryProcess,
  waitFor,
  type ApiaryEntry,
} from './apiary-server.js';

const root = rootDir;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const LIST_KEYS = Number(process.env.BENCH_LIST_KEYS ?? 10_000);
const BIG_MIB = Number(process.env.BENCH_BIG_UPLOAD_MIB ?? 2048);
const KiB = 1024;
const MiB = 1024 * KiB;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-bench-s3-'));
const ALL_SERVERS = [
  'apiary',
  'moto',
  's3rver',
  'versitygw',
  'apiary-nofsync',
  'apiary-vgw',
  'bare',
] as const;
const WANTED = new Set(
  (process.env.BENCH_SERVERS ?? ALL_SERVERS.join(','))
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);
const ROW_FILTER = new RegExp(process.env.BENCH_ROWS ?? '.');
const APIARY_NODE_ARGS = (process.env.BENCH_APIARY_NODE_ARGS ?? '').split(' ').filter(Boolean);
const APIARY_BASE = process.env.BENCH_APIARY_BASE;
/** Rounds of the PUT/GET cells (the server order rotating each round); cells print medians. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
/** Seconds of the same operation before each measured cell (BENCH_WARMUP_SECONDS; 0: one op per worker). */
const WARMUP_SECONDS = Math.max(0, Number(process.env.BENCH_WARMUP_SECONDS ?? 1));
const BASE = 'apiary-base';
/** The ceiling (bare-server.ts): in every table, never a peer. */
const BARE = 'bare';

interface Server {
  readonly name: string;
  readonly endpoint: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  readonly child: ChildProcess;
  /** Processes serving it (the server, plus the versitygw behind Apiary on versitygw). */
  readonly pids: readonly number[];
}

let apiaryCompiled = false;
let apiaryEntryCached: ApiaryEntry | undefined;

async function startApiary(name = 'apiary', env: Record<string, string> = {}): Promise<Server> {
  const entry =
    name === BASE
      ? await buildApiary(path.resolve(APIARY_BASE!), 's3-apiary-base')
      : (apiaryEntryCached ??= await buildApiary(root));
  if (name !== BASE) apiaryCompiled = entry.compiled;
  const { endpoint, child } = await startApiaryProcess(entry, {
    name,
    dataDir: path.join(work, name),
    nodeArgs: APIARY_NODE_ARGS,
    env,
  });
  return { name, endpoint, credentials: { ...APIARY_CREDENTIALS }, child, pids: [child.pid!] };
}

async function startMoto(): Promise<Server> {
  const port = await freePort();
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  await waitFor(`http://127.0.0.1:${port}/`, child, 'moto');
  return {
    name: 'moto',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    child,
    pids: [child.pid!],
  };
}

async function startS3rver(): Promise<Server> {
  const port = await freePort();
  const dir = path.join(work, 's3rver');
  fs.mkdirSync(dir);
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'node_modules/s3rver/bin/s3rver.js'),
      '-d',
      dir,
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '--silent',
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  await waitFor(`http://127.0.0.1:${port}/`, child, 's3rver');
  return {
    name: 's3rver',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    child,
    pids: [child.pid!],
  };
}

/** The ceiling: bare-server.ts under plain Node (its types stripped; no tsx loader in the process). */
async function startBare(): Promise<Server> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      path.join(root, 'bench/s3/bare-server.ts'),
      String(port),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitFor(`http://127.0.0.1:${port}/`, child, BARE);
  return {
    name: BARE,
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'bare', secretAccessKey: 'bare' },
    child,
    pids: [child.pid!],
  };
}

/** versitygw (Go, posix backend on a temp dir), built once by scripts/versitygw.sh. */
async function startVersitygwPeer(name = 'versitygw'): Promise<Server> {
  const bin = await versitygwBinary();
  const port = await freePort();
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  const credentials = {
    accessKeyId: 'vgwbenchaccesskey001',
    secretAccessKey: 'vgw-bench-secret-0123456789',
  };
  const child = spawn(
    bin,
    [
      '--access',
      credentials.accessKeyId,
      '--secret',
      credentials.secretAccessKey,
      '--port',
      `127.0.0.1:${port}`,
      'posix',
      dir,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitFor(`http://127.0.0.1:${port}/`, child, name);
  return { name, endpoint: `http://127.0.0.1:${port}`, credentials, child, pids: [child.pid!] };
}

const clientFor = (s: Server) =>
  new S3Client({
    endpoint: s.endpoint,
    region: 'us-east-1',
    credentials: s.credentials,
    forcePathStyle: true,
    maxAttempts: 1,
    // The same client settings for every server: s3rver predates the SDK's default checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

/** Failed operations per cell (a peer that drops connections under load); shown in the table. */
const failures = new Map<string, number>();
const failureReasons = new Map<string, string>();
let currentCell = '';

/** CPU time (user + system) a process has used, in ms, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Server CPU per operation (µs) per cell (the median over rounds): independent of load. */
const cpuPerOp = new Map<string, number>();
const cpuSamples = new Map<string, number[]>();
const median = (xs: readonly number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
};
/** The processes whose CPU a cell counts (Apiary on versitygw: both). */
let currentPids: readonly number[] = [];
const cpuAll = (pids: readonly number[]) => pids.reduce((n, p) => n + cpuMs(p), 0);

/** Runs `op` from `concurrency` workers for SECONDS; returns successful operations per second. */
async function throughput(
  concurrency: number,
  op: (worker: number, i: number) => Promise<void>,
  seconds = SECONDS,
): Promise<number> {
  const attempt = async (w: number, i: number): Promise<boolean> => {
    try {
      await op(w, i);
      return true;
    } catch (err) {
      failures.set(currentCell, (failures.get(currentCell) ?? 0) + 1);
      if (!failureReasons.has(currentCell))
        failureReasons.set(currentCell, String((err as Error).message ?? err).slice(0, 80));
      return false;
    }
  };
  // A warm-up of the same operation, then the measured window: a server written in a JIT-compiled
  // language (Apiary, s3rver) and this process's own SDK client run their hot paths unoptimized
  // for the first few hundred requests; a long-running server is warm. Same for every server.
  const warmEnd = performance.now() + WARMUP_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      let i = 0;
      do await attempt(w, -1 - w - concurrency * i++);
      while (performance.now() < warmEnd);
    }),
  );
  let count = 0;
  const cpu0 = cpuAll(currentPids);
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      let i = 0;
      while (performance.now() < end) {
        if (await attempt(w, i++)) count++;
      }
    }),
  );
  if (currentPids.length > 0 && count > 0) {
    const samples = (cpuSamples.get(currentCell) ?? []).concat(
      ((cpuAll(currentPids) - cpu0) * 1000) / count,
    );
    cpuSamples.set(currentCell, samples);
    cpuPerOp.set(currentCell, median(samples));
  }
  return count / ((performance.now() - start) / 1000);
}

const drain = async (body: unknown) => {
  const b = body as { transformToByteArray(): Promise<Uint8Array> };
  return (await b.transformToByteArray()).length;
};

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Row {
  readonly name: string;
  readonly unit: string;
  readonly values: Record<string, number>;
}

interface Target {
  readonly server: Server;
  readonly client: S3Client;
}

const BUCKET = 'bench';

/** Each row runs on every server back to back, so a burst of load elsewhere hits all of them alike. */
const NOFSYNC = 'apiary-nofsync';
const ON_VGW = 'apiary-vgw';
/** Servers measured on PUT rows only (variants of Apiary whose GET path is the same code). */
const PUT_ONLY = new Set([NOFSYNC]);

async function benchAll(targets: readonly Target[], rows: Map<string, Row>) {
  const samples = new Map<string, number[]>();
  const record = (name: string, unit: string, server: string, value: number) => {
    const row = rows.get(name) ?? { name, unit, values: {} };
    const all = (samples.get(`${name}/${server}`) ?? []).concat(value);
    samples.set(`${name}/${server}`, all);
    row.values[server] = median(all);
    rows.set(name, row);
  };
  for (const t of targets) {
    await t.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    // BENCH_SSE=AES256: the bucket's default encryption seals every object (SSE-S3).
    if (process.env.BENCH_SSE === 'AES256') {
      await t.client.send(
        new PutBucketEncryptionCommand({
          Bucket: BUCKET,
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
          },
        }),
      );
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts with another server, so that none always follows the same neighbour.
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    await putGetCells(order, record);
  }
  await listCells(targets, record);
}

async function putGetCells(
  targets: readonly Target[],
  record: (name: string, unit: string, server: string, value: number) => void,
) {
  for (const [label, size] of [
    ['16 KiB', 16 * KiB],
    ['4 MiB', 4 * MiB],
  ] as const) {
    const body = Buffer.alloc(size, 0x61);
    for (const conc of [1, 16]) {
      const putRow = `PUT ${label} c=${conc}`;
      const getRow = `GET ${label} c=${conc}`;
      // GET reads what PUT wrote: a GET row needs its PUT row.
      if (!ROW_FILTER.test(putRow) && !ROW_FILTER.test(getRow)) continue;
      for (const { server, client: c } of targets) {
        currentPids = server.pids;
        currentCell = `${putRow}/${server.name}`;
        const put = await throughput(conc, async (w, i) => {
          await c.send(
            new PutObjectCommand({
              Bucket: BUCKET,
              Key: `obj/${label}/${w}/${i % 50}`,
              Body: body,
            }),
          );
        });
        record(putRow, 'ops/s', server.name, put);
        if (PUT_ONLY.has(server.name) || !ROW_FILTER.test(getRow)) {
          process.stderr.write(`  ${server.name}: ${label} c=${conc} put ${put.toFixed(1)}/s\n`);
          continue;
        }
        currentCell = `${getRow}/${server.name}`;
        const get = await throughput(conc, async (w) => {
          const r = await c.send(
            new GetObjectCommand({ Bucket: BUCKET, Key: `obj/${label}/${w}/0` }),
          );
          await drain(r.Body);
        });
        record(getRow, 'ops/s', server.name, get);
        process.stderr.write(
          `  ${server.name}: ${label} c=${conc} put ${put.toFixed(1)}/s get ${get.toFixed(1)}/s\n`,
        );
      }
    }
  }
}

async function listCells(
  targets: readonly Target[],
  record: (name: string, unit: string, server: string, value: number) => void,
) {
  // ListObjectsV2 over LIST_KEYS keys: a full listing, page by page (1,000 per page).
  const listRow = `ListObjectsV2 ${LIST_KEYS} keys`;
  if (!ROW_FILTER.test(listRow)) return;
  targets = targets.filter((t) => !PUT_ONLY.has(t.server.name));
  for (const { server, client: c } of targets) {
    const seedStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < LIST_KEYS) {
          const i = next++;
          await c.send(
            new PutObjectCommand({
              Bucket: BUCKET,
              Key: `list/${String(i).padStart(6, '0')}`,
              Body: 'x',
            }),
          );
        }
      }),
    );
    process.stderr.write(
      `  ${server.name}: seeded ${LIST_KEYS} keys in ${((performance.now() - seedStart) / 1000).toFixed(1)} s\n`,
    );
  }
  for (const { server, client: c } of targets) {
    currentPids = server.pids;
    currentCell = `${listRow}/${server.name}`;
    const lists = await throughput(
      1,
      async () => {
        let token: string | undefined;
        let n = 0;
        do {
          const r: ListObjectsV2CommandOutput = await c.send(
            new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', ContinuationToken: token }),
          );
          n += r.KeyCount ?? 0;
          token = r.NextContinuationToken;
        } while (token);
        if (n !== LIST_KEYS) throw new Error(`${server.name} listed ${n} of ${LIST_KEYS} keys`);
      },
      Math.max(SECONDS, 2),
    );
    record(listRow, 'listings/s', server.name, lists);
    process.stderr.write(`  ${server.name}: list ${lists.toFixed(2)}/s\n`);
  }
}

async function localRead(): Promise<number> {
  const file = path.join(work, 'local-4mib.bin');
  fs.writeFileSync(file, Buffer.alloc(4 * MiB, 0x61));
  return throughput(1, async () => {
    // Stream it, as a server does, and count the bytes.
    let n = 0;
    for await (const chunk of fs.createReadStream(file, { highWaterMark: MiB }))
      n += (chunk as Buffer).length;
    if (n !== 4 * MiB) throw new Error('short read');
  });
}

async function rssWhileUploading(
  s: Server,
): Promise<{ idle: number; peak: number; samples: number[]; mibPerSecond: number }> {
  const pid = s.child.pid!;
  await new Promise((r) => setTimeout(r, 1000));
  const idle = rssMiB(pid);
  const c = clientFor(s);
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(rssMiB(pid)), 250);
  const chunk = Buffer.alloc(MiB, 0x62);
  const total = BIG_MIB;
  const body = Readable.from(
    (function* () {
      for (let i = 0; i < total; i++) yield chunk;
    })(),
  );
  const t0 = performance.now();
  await c.send(
    new PutObjectCommand({
      Bucket: 'bench',
      Key: 'big/2gib.bin',
      Body: body,
      ContentLength: total * MiB,
    }),
  );
  const mibPerSecond = total / ((performance.now() - t0) / 1000);
  clearInterval(timer);
  samples.push(rssMiB(pid));
  c.destroy();
  return { idle, peak: Math.max(...samples), samples, mibPerSecond };
}

function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '-';
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** Apiary with its blobs on a versitygw of its own (APIARY_BLOB_STORE=s3://…). */
async function startApiaryOnVersitygw(): Promise<{ apiary: Server; backing: Server }> {
  const backing = await startVersitygwPeer('vgw-backing');
  const c = clientFor(backing);
  await c.send(new CreateBucketCommand({ Bucket: 'apiary-blobs' }));
  c.destroy();
  const apiary = await startApiary(ON_VGW, {
    APIARY_BLOB_STORE: 's3://apiary-blobs/bench',
    APIARY_BLOB_S3_ENDPOINT: backing.endpoint,
    APIARY_BLOB_S3_ACCESS_KEY_ID: backing.credentials.accessKeyId,
    APIARY_BLOB_S3_SECRET_ACCESS_KEY: backing.credentials.secretAccessKey,
  });
  return { apiary: { ...apiary, pids: [apiary.child.pid!, backing.child.pid!] }, backing };
}

const tick = (ok: boolean) => (ok ? '✓' : '✗');

async function main() {
  const started = performance.now();
  const servers: Server[] = [];
  const helpers: Server[] = [];
  const rows = new Map<string, Row>();
  try {
    const starters: Record<(typeof ALL_SERVERS)[number], () => Promise<Server>> = {
      apiary: () => startApiary(),
      moto: startMoto,
      s3rver: startS3rver,
      versitygw: () => startVersitygwPeer(),
      [BARE]: startBare,
      [NOFSYNC]: () => startApiary(NOFSYNC, { APIARY_S3_FSYNC: 'false' }),
      [ON_VGW]: async () => {
        const { apiary, backing } = await startApiaryOnVersitygw();
        helpers.push(backing);
        return apiary;
      },
    };
    for (const name of ALL_SERVERS) if (WANTED.has(name)) servers.push(await starters[name]());
    if (APIARY_BASE) servers.splice(1, 0, await startApiary(BASE));
    const names = servers.map((x) => x.name);
    const apiary = servers.find((x) => x.name === 'apiary');
    await new Promise((r) => setTimeout(r, 1500));
    const idleRss = apiary ? rssMiB(apiary.child.pid!) : NaN;
    const targets = servers.map((server) => ({ server, client: clientFor(server) }));
    await benchAll(targets, rows);
    for (const t of targets) t.client.destroy();
    const local = ROW_FILTER.test('GET 4 MiB c=1') ? await localRead() : NaN;
    const rss = apiary && BIG_MIB > 0 ? await rssWhileUploading(apiary) : undefined;

    const lines: string[] = [];
    lines.push(
      `S3 benchmark — ${os.cpus().length} CPUs (load ${os.loadavg()[0]!.toFixed(1)}), Node ${process.version}, ${SECONDS} s per cell, @aws-sdk/client-s3 (same client settings for all), Apiary ${apiaryCompiled ? 'compiled' : 'from source via tsx'}`,
    );
    lines.push('');
    const cell = (row: Row, server: string) => {
      const f = failures.get(`${row.name}/${server}`);
      return fmt(row.values[server]) + (f ? ` (${f} failed)` : '');
    };
    const variants = names.filter((n) => n !== 'apiary' && n.startsWith('apiary'));
    const peers = names.filter((n) => !n.startsWith('apiary') && n !== BARE);
    const hasBare = names.includes(BARE);
    const fasterPeer = (row: Row) => Math.max(row.values.moto ?? 0, row.values.s3rver ?? 0);
    lines.push(
      `| row | unit | ${names.join(' | ')} | apiary ÷ faster of moto, s3rver (≥ 2×) | apiary ÷ versitygw (≥ 1×) | ${variants.map((v) => `${v} ÷ faster of moto, s3rver; ÷ versitygw`).join(' | ')} |${hasBare ? ' apiary ÷ bare (share of the ceiling) | bare ÷ faster of moto, s3rver (the most any server reaches here) |' : ''}`,
    );
    lines.push(
      `|---|---|${names.map(() => '---:').join('|')}|---:|---:|${variants.map(() => '---:').join('|')}|${hasBare ? '---:|---:|' : ''}`,
    );
    /** Whether the ≥ 2× target is within the ceiling at all: a server that does nothing gets `bare`. */
    const reach = (bare: number | undefined, peer: number) =>
      !bare || !peer
        ? '-'
        : `${(bare / peer).toFixed(2)}× (2× ${bare / peer >= 2 ? 'reachable' : 'out of reach'})`;
    const share = (v: number | undefined, bare: number | undefined) =>
      v === undefined || !bare ? '-' : `${((v / bare) * 100).toFixed(0)}%`;
    const ratio = (v: number | undefined, peer: number | undefined, target: number) =>
      v === undefined || !peer ? '-' : `${(v / peer).toFixed(2)}× ${tick(v / peer >= target)}`;
    for (const row of rows.values()) {
      const a = row.values.apiary;
      const vgw = row.values.versitygw;
      lines.push(
        `| ${row.name} | ${row.unit} | ${names.map((n) => cell(row, n)).join(' | ')} | ${ratio(a, fasterPeer(row), 2)} | ${ratio(a, vgw, 1)} | ${variants
          .map(
            (v) => `${ratio(row.values[v], fasterPeer(row), 2)}; ${ratio(row.values[v], vgw, 1)}`,
          )
          .join(
            ' | ',
          )} |${hasBare ? ` ${share(a, row.values[BARE])} | ${reach(row.values[BARE], fasterPeer(row))} |` : ''}`,
      );
    }
    lines.push('');
    lines.push(
      'Server CPU per operation (µs, user+system of the server process — for apiary-vgw, Apiary plus its versitygw; lower is better — does not depend on the load from other processes):',
    );
    lines.push('');
    lines.push(`| row | ${names.join(' | ')} | best peer ÷ apiary |`);
    lines.push(`|---|${names.map(() => '---:').join('|')}|---:|`);
    for (const row of rows.values()) {
      const v = (srv: string) => cpuPerOp.get(`${row.name}/${srv}`);
      const a = v('apiary') ?? NaN;
      const peerCpu = peers.map(v).filter((x): x is number => x !== undefined && x > 0);
      const best = peerCpu.length ? Math.min(...peerCpu) : NaN;
      lines.push(
        `| ${row.name} | ${names.map((n) => fmt(v(n))).join(' | ')} | ${(best / a).toFixed(2)}× |`,
      );
    }
    lines.push('');
    lines.push('| limit | measured | result | target |');
    lines.push('|---|---:|---:|---|');
    const get4 = rows.get('GET 4 MiB c=1')?.values.apiary ?? NaN;
    lines.push(
      `| GET 4 MiB c=1: Apiary vs streaming the same file locally | ${fmt(get4)} vs ${fmt(local)} ops/s | ${((get4 / local) * 100).toFixed(0)}% ${tick(get4 / local >= 0.5)} | ≥ 50% |`,
    );
    if (hasBare) {
      const bare4 = rows.get('GET 4 MiB c=1')?.values[BARE] ?? NaN;
      lines.push(
        `| GET 4 MiB c=1: bare (the ceiling: no server work) vs streaming the same file locally | ${fmt(bare4)} vs ${fmt(local)} ops/s | ${((bare4 / local) * 100).toFixed(0)}% ${tick(bare4 / local >= 0.5)} | ≥ 50% reachable by any server with this client? |`,
      );
    }
    lines.push(`| Apiary idle RSS | ${fmt(idleRss)} MiB | ${tick(idleRss <= 150)} | ≤ 150 MB |`);
    if (rss) {
      lines.push(
        `| Apiary RSS while uploading ${BIG_MIB} MiB in one PUT (${fmt(rss.mibPerSecond)} MiB/s) | before ${fmt(rss.idle)}, peak ${fmt(rss.peak)} MiB | +${fmt(Math.max(0, rss.peak - rss.idle))} MiB ${rss.peak - rss.idle < 64 ? '✓ flat' : '✗'} | flat |`,
      );
    }
    if (failureReasons.size > 0) {
      lines.push('');
      for (const [cellName, reason] of failureReasons)
        lines.push(`failed requests in ${cellName}: ${reason}`);
    }
    lines.push('');
    lines.push(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    // SIGTERM first, so that a --cpu-prof run writes its profile; SIGKILL after a grace period.
    const all = [...servers, ...helpers];
    for (const x of all) x.child.kill('SIGTERM');
    await Promise.all(
      all.map(
        (x) =>
          new Promise<void>((resolve) => {
            if (x.child.exitCode !== null || x.child.signalCode !== null) return resolve();
            const t = setTimeout(() => {
              x.child.kill('SIGKILL');
              resolve();
            }, 5000);
            x.child.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
