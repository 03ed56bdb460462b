/**
 * S3 benchmark: Apiary side by side with moto's server and s3rver, driven by @aws-sdk/client-s3,
 * in one run on this machine. Prints a table with ratios against the faster peer and limits.
 *
 *   node --import tsx bench/s3/run.ts
 *
 * Settings (environment): BENCH_SECONDS per row and server (default 3), BENCH_LIST_KEYS (10000),
 * BENCH_BIG_UPLOAD_MIB for the RSS-while-uploading check (2048). Not a test: never fails on timing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

const root = path.resolve(import.meta.dirname, '../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const LIST_KEYS = Number(process.env.BENCH_LIST_KEYS ?? 10_000);
const BIG_MIB = Number(process.env.BENCH_BIG_UPLOAD_MIB ?? 2048);
const KiB = 1024;
const MiB = 1024 * KiB;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-bench-s3-'));

interface Server {
  readonly name: string;
  readonly endpoint: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  readonly child: ChildProcess;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

async function waitFor(url: string, child: ChildProcess, name: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      http.get(url, (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 500);
      }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not start`);
}

/**
 * Apiary runs compiled, as `npm run build` would ship it: built into bench/out/ (git-ignored) so
 * the shared dist/ stays untouched; tsx's own ~35 MB would otherwise count in the RSS. Falls back
 * to the sources via tsx when the build fails (BENCH_FROM_SOURCE=1 forces that).
 */
async function apiaryEntry(): Promise<{ args: string[]; compiled: boolean }> {
  const fromSource = { args: [path.join(root, 'bin/apiary'), 'serve'], compiled: false };
  if (process.env.BENCH_FROM_SOURCE) return fromSource;
  const out = path.join(root, 'bench/out/s3-apiary');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  // Paths the code resolves relative to itself (vendor/, algorithms/, src/…) point at the repo.
  for (const name of ['vendor', 'algorithms', 'src', 'web', 'package.json']) {
    if (fs.existsSync(path.join(root, name))) fs.symlinkSync(path.join(root, name), path.join(out, name));
  }
  const tsc = path.join(root, 'node_modules/.bin/tsc');
  const code = await new Promise<number>((resolve) => {
    const p = spawn(tsc, ['-p', path.join(root, 'tsconfig.build.json'), '--outDir', path.join(out, 'dist'), '--noEmitOnError', 'false'], {
      cwd: root,
      stdio: 'ignore',
    });
    p.on('exit', (c) => resolve(c ?? 1));
  });
  const main = path.join(out, 'dist/cli/main.js');
  if (!fs.existsSync(main)) {
    process.stderr.write(`build failed (tsc exit ${code}); running Apiary from source via tsx\n`);
    return fromSource;
  }
  return { args: [main, 'serve'], compiled: true };
}

let apiaryCompiled = false;
let apiaryEntryCached: { args: string[]; compiled: boolean } | undefined;

async function startApiary(name = 'apiary', env: Record<string, string> = {}): Promise<Server> {
  const port = await freePort();
  const entry = (apiaryEntryCached ??= await apiaryEntry());
  apiaryCompiled = entry.compiled;
  const credentials = { accessKeyId: 'AKAPBENCHMARK0000001', secretAccessKey: 'bench-secret-key-0123456789abcdef' };
  const child = spawn(process.execPath, entry.args, {
    cwd: root,
    env: {
      ...process.env,
      APIARY_DATA_DIR: path.join(work, name),
      APIARY_PORT: String(port),
      APIARY_LOG_LEVEL: 'error',
      APIARY_ROOT_ACCESS_KEY_ID: credentials.accessKeyId,
      APIARY_ROOT_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(`http://127.0.0.1:${port}/_apiary/health`, child, name);
  return { name, endpoint: `http://127.0.0.1:${port}`, credentials, child };
}

async function startMoto(): Promise<Server> {
  const port = await freePort();
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'ignore'] });
  await waitFor(`http://127.0.0.1:${port}/`, child, 'moto');
  return { name: 'moto', endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, child };
}

async function startS3rver(): Promise<Server> {
  const port = await freePort();
  const dir = path.join(work, 's3rver');
  fs.mkdirSync(dir);
  const child = spawn(process.execPath, [path.join(root, 'node_modules/s3rver/bin/s3rver.js'), '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(`http://127.0.0.1:${port}/`, child, 's3rver');
  return { name: 's3rver', endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, child };
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

/** Server CPU per operation (µs) of the last measured window, per cell: independent of load. */
const cpuPerOp = new Map<string, number>();
let currentPid = 0;

/** Runs `op` from `concurrency` workers for SECONDS; returns successful operations per second. */
async function throughput(concurrency: number, op: (worker: number, i: number) => Promise<void>, seconds = SECONDS): Promise<number> {
  const attempt = async (w: number, i: number): Promise<boolean> => {
    try {
      await op(w, i);
      return true;
    } catch (err) {
      failures.set(currentCell, (failures.get(currentCell) ?? 0) + 1);
      if (!failureReasons.has(currentCell)) failureReasons.set(currentCell, String((err as Error).message ?? err).slice(0, 80));
      return false;
    }
  };
  // A short warm-up, then the measured window.
  await Promise.all(Array.from({ length: concurrency }, (_, w) => attempt(w, -1 - w)));
  let count = 0;
  const cpu0 = currentPid ? cpuMs(currentPid) : 0;
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
  if (currentPid && count > 0) cpuPerOp.set(currentCell, ((cpuMs(currentPid) - cpu0) * 1000) / count);
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

async function benchAll(targets: readonly Target[], rows: Map<string, Row>) {
  const record = (name: string, unit: string, server: string, value: number) => {
    const row = rows.get(name) ?? { name, unit, values: {} };
    row.values[server] = value;
    rows.set(name, row);
  };
  for (const t of targets) await t.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  for (const [label, size] of [
    ['16 KiB', 16 * KiB],
    ['4 MiB', 4 * MiB],
  ] as const) {
    const body = Buffer.alloc(size, 0x61);
    for (const conc of [1, 16]) {
      for (const { server, client: c } of targets) {
        currentPid = server.child.pid!;
        if (server.name === NOFSYNC) {
          currentCell = `PUT ${label} c=${conc}/${server.name}`;
          const put = await throughput(conc, async (w, i) => {
            await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `obj/${label}/${w}/${i % 50}`, Body: body }));
          });
          record(`PUT ${label} c=${conc}`, 'ops/s', server.name, put);
          process.stderr.write(`  ${server.name}: ${label} c=${conc} put ${put.toFixed(1)}/s\n`);
          continue;
        }
        currentCell = `PUT ${label} c=${conc}/${server.name}`;
        const put = await throughput(conc, async (w, i) => {
          await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `obj/${label}/${w}/${i % 50}`, Body: body }));
        });
        record(`PUT ${label} c=${conc}`, 'ops/s', server.name, put);
        currentCell = `GET ${label} c=${conc}/${server.name}`;
        const get = await throughput(conc, async (w) => {
          const r = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: `obj/${label}/${w}/0` }));
          await drain(r.Body);
        });
        record(`GET ${label} c=${conc}`, 'ops/s', server.name, get);
        process.stderr.write(`  ${server.name}: ${label} c=${conc} put ${put.toFixed(1)}/s get ${get.toFixed(1)}/s\n`);
      }
    }
  }
  // ListObjectsV2 over LIST_KEYS keys: a full listing, page by page (1,000 per page).
  targets = targets.filter((t) => t.server.name !== NOFSYNC);
  for (const { server, client: c } of targets) {
    const seedStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < LIST_KEYS) {
          const i = next++;
          await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `list/${String(i).padStart(6, '0')}`, Body: 'x' }));
        }
      }),
    );
    process.stderr.write(`  ${server.name}: seeded ${LIST_KEYS} keys in ${((performance.now() - seedStart) / 1000).toFixed(1)} s\n`);
  }
  for (const { server, client: c } of targets) {
    currentPid = server.child.pid!;
    currentCell = `ListObjectsV2 ${LIST_KEYS} keys/${server.name}`;
    const lists = await throughput(
      1,
      async () => {
        let token: string | undefined;
        let n = 0;
        do {
          const r: ListObjectsV2CommandOutput = await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', ContinuationToken: token }));
          n += r.KeyCount ?? 0;
          token = r.NextContinuationToken;
        } while (token);
        if (n !== LIST_KEYS) throw new Error(`${server.name} listed ${n} of ${LIST_KEYS} keys`);
      },
      Math.max(SECONDS, 2),
    );
    record(`ListObjectsV2 ${LIST_KEYS} keys`, 'listings/s', server.name, lists);
    process.stderr.write(`  ${server.name}: list ${lists.toFixed(2)}/s\n`);
  }
}

async function localRead(): Promise<number> {
  const file = path.join(work, 'local-4mib.bin');
  fs.writeFileSync(file, Buffer.alloc(4 * MiB, 0x61));
  return throughput(1, async () => {
    // Stream it, as a server does, and count the bytes.
    let n = 0;
    for await (const chunk of fs.createReadStream(file, { highWaterMark: MiB })) n += (chunk as Buffer).length;
    if (n !== 4 * MiB) throw new Error('short read');
  });
}

async function rssWhileUploading(s: Server): Promise<{ idle: number; peak: number; samples: number[]; mibPerSecond: number }> {
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
  await c.send(new PutObjectCommand({ Bucket: 'bench', Key: 'big/2gib.bin', Body: body, ContentLength: total * MiB }));
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

async function main() {
  const started = performance.now();
  const servers: Server[] = [];
  const rows = new Map<string, Row>();
  try {
    servers.push(await startApiary(), await startMoto(), await startS3rver(), await startApiary(NOFSYNC, { APIARY_S3_FSYNC: 'false' }));
    const apiary = servers[0]!;
    await new Promise((r) => setTimeout(r, 1500));
    const idleRss = rssMiB(apiary.child.pid!);
    const targets = servers.map((server) => ({ server, client: clientFor(server) }));
    await benchAll(targets, rows);
    for (const t of targets) t.client.destroy();
    const local = await localRead();
    const rss = await rssWhileUploading(apiary);

    const lines: string[] = [];
    lines.push(
      `S3 benchmark — ${os.cpus().length} CPUs (load ${os.loadavg()[0]!.toFixed(1)}), Node ${process.version}, ${SECONDS} s per cell, @aws-sdk/client-s3 (same client settings for all), Apiary ${apiaryCompiled ? 'compiled' : 'from source via tsx'}`,
    );
    lines.push('');
    lines.push('| row | unit | apiary | moto | s3rver | apiary ÷ faster peer | target | apiary, APIARY_S3_FSYNC=false (÷ peer) |');
    lines.push('|---|---|---:|---:|---:|---:|---|---:|');
    const cell = (row: Row, server: string) => {
      const f = failures.get(`${row.name}/${server}`);
      return fmt(row.values[server]) + (f ? ` (${f} failed)` : '');
    };
    for (const row of rows.values()) {
      const a = row.values.apiary ?? NaN;
      const peer = Math.max(row.values.moto ?? 0, row.values.s3rver ?? 0);
      const ratio = a / peer;
      const nf = row.values[NOFSYNC];
      const nfCell = nf !== undefined ? `${fmt(nf)} (${(nf / peer).toFixed(2)}×)` : '';
      lines.push(`| ${row.name} | ${row.unit} | ${cell(row, 'apiary')} | ${cell(row, 'moto')} | ${cell(row, 's3rver')} | ${ratio.toFixed(2)}× ${ratio >= 2 ? '✓' : '✗'} | ≥ 2× | ${nfCell} |`);
    }
    lines.push('');
    lines.push('Server CPU per operation (µs, user+system of the server process; lower is better — does not depend on the load from other processes):');
    lines.push('');
    lines.push('| row | apiary | moto | s3rver | faster peer ÷ apiary |');
    lines.push('|---|---:|---:|---:|---:|');
    for (const row of rows.values()) {
      const v = (srv: string) => cpuPerOp.get(`${row.name}/${srv}`);
      const a = v('apiary') ?? NaN;
      const peers = [v('moto'), v('s3rver')].filter((x): x is number => x !== undefined && x > 0);
      const best = peers.length ? Math.min(...peers) : NaN;
      lines.push(`| ${row.name} | ${fmt(a)} | ${fmt(v('moto'))} | ${fmt(v('s3rver'))} | ${(best / a).toFixed(2)}× |`);
    }
    lines.push('');
    lines.push('| limit | measured | result | target |');
    lines.push('|---|---:|---:|---|');
    const get4 = rows.get('GET 4 MiB c=1')?.values.apiary ?? NaN;
    lines.push(`| GET 4 MiB c=1: Apiary vs streaming the same file locally | ${fmt(get4)} vs ${fmt(local)} ops/s | ${((get4 / local) * 100).toFixed(0)}% ${get4 / local >= 0.5 ? '✓' : '✗'} | ≥ 50% |`);
    lines.push(`| Apiary idle RSS | ${fmt(idleRss)} MiB | ${idleRss <= 150 ? '✓' : '✗'} | ≤ 150 MB |`);
    lines.push(
      `| Apiary RSS while uploading ${BIG_MIB} MiB in one PUT (${fmt(rss.mibPerSecond)} MiB/s) | before ${fmt(rss.idle)}, peak ${fmt(rss.peak)} MiB | +${fmt(Math.max(0, rss.peak - rss.idle))} MiB ${rss.peak - rss.idle < 64 ? '✓ flat' : '✗'} | flat |`,
    );
    if (failureReasons.size > 0) {
      lines.push('');
      for (const [cellName, reason] of failureReasons) lines.push(`failed requests in ${cellName}: ${reason}`);
    }
    lines.push('');
    lines.push(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    for (const s of servers) s.child.kill('SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
