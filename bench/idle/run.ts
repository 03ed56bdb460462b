/**
 * Idle memory and startup time of `apiary serve`, as bench/s3 starts it (compiled, SQLite, fs
 * blobs, default settings): N fresh starts, each measured 1.5 s after its first 200 on
 * /_apiary/health; prints each start and the medians. `node --import tsx bench/idle/run.ts
 * [checkout-or-build-dir]` (default: this checkout, compiled into bench/out/idle-apiary);
 * BENCH_STARTS=5. BENCH_SMAPS=1 adds the largest mappings of the last start (/proc/PID/smaps).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildApiary,
  builtApiary,
  freePort,
  rootDir,
  APIARY_CREDENTIALS,
} from '../s3/apiary-server.js';
import http from 'node:http';

const STARTS = Number(process.env.BENCH_STARTS ?? 5);

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** RSS split by what is mapped: the largest mappings by resident size, in MiB. */
function smapsTop(pid: number): string[] {
  const text = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const by = new Map<string, number>();
  let name = '';
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) name = head[1] || '[anon]';
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) by.set(name, (by.get(name) ?? 0) + Number(rss[1]) / 1024);
  }
  return [...by.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([n, v]) => `${v.toFixed(1).padStart(7)} MiB  ${n}`);
}

function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    http
      .get(url, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      })
      .on('error', () => resolve(false));
  });
}

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const target = process.argv[2];
const entry = target
  ? (builtApiary(target) ?? (await buildApiary(target, 'idle-apiary')))
  : await buildApiary(rootDir, 'idle-apiary');
const rss: number[] = [];
const ready: number[] = [];
for (let i = 0; i < STARTS; i++) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-idle-'));
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...entry.args],
    {
      cwd: rootDir,
      env: {
        ...process.env,
        APIARY_DATA_DIR: dataDir,
        APIARY_PORT: String(port),
        APIARY_LOG_LEVEL: 'error',
        APIARY_ROOT_ACCESS_KEY_ID: APIARY_CREDENTIALS.accessKeyId,
        APIARY_ROOT_SECRET_ACCESS_KEY: APIARY_CREDENTIALS.secretAccessKey,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  while (!(await healthy(`http://127.0.0.1:${port}/_apiary/health`))) {
    if (child.exitCode !== null) throw new Error(`apiary exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const t = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 1500));
  const r = rssMiB(child.pid!);
  rss.push(r);
  ready.push(t);
  console.log(`start ${i + 1}: first 200 after ${t.toFixed(0)} ms, idle RSS ${r.toFixed(1)} MiB`);
  if (process.env.BENCH_SMAPS && i === STARTS - 1) console.log(smapsTop(child.pid!).join('\n'));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  fs.rmSync(dataDir, { recursive: true, force: true });
}
console.log(
  `median of ${STARTS}: idle RSS ${median(rss).toFixed(1)} MiB, first 200 after ${median(ready).toFixed(0)} ms`,
);
