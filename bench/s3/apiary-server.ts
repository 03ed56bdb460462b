/**
 * Building and starting an Apiary server for the S3 benchmarks (`run.ts`, `side-by-side.ts`): one
 * place for the compiled build under bench/out/, the process's environment and the health wait.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

/** This checkout's root. */
export const rootDir = path.resolve(import.meta.dirname, '../..');

/** The root credentials every benchmarked Apiary gets. */
export const APIARY_CREDENTIALS = {
  accessKeyId: 'AKAPBENCHMARK0000001',
  secretAccessKey: 'bench-secret-key-0123456789abcdef',
} as const;

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

/** Waits until `url` answers below 500; @throws when `child` exits first or after 60 s. */
export async function waitFor(url: string, child: ChildProcess, name: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      http
        .get(url, (res) => {
          res.resume();
          resolve((res.statusCode ?? 500) < 500);
        })
        .on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not start`);
}

/** How to start one build of Apiary: node's arguments (the entry and `serve`). */
export interface ApiaryEntry {
  readonly args: readonly string[];
  readonly compiled: boolean;
}

/**
 * Apiary runs compiled, as `npm run build` would ship it: the checkout at `root` built into
 * bench/out/<outName> (git-ignored) so the shared dist/ stays untouched; tsx's own ~35 MB would
 * otherwise count in the RSS. Falls back to the sources via tsx when the build fails
 * (BENCH_FROM_SOURCE=1 forces that).
 */
export async function buildApiary(root: string, outName = 's3-apiary'): Promise<ApiaryEntry> {
  const fromSource = { args: [path.join(root, 'bin/apiary'), 'serve'], compiled: false };
  if (process.env.BENCH_FROM_SOURCE) return fromSource;
  const out = path.join(rootDir, 'bench/out', outName);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  // Paths the code resolves relative to itself (vendor/, algorithms/, src/…) point at the repo.
  for (const name of ['vendor', 'algorithms', 'src', 'web', 'package.json']) {
    if (fs.existsSync(path.join(root, name)))
      fs.symlinkSync(path.join(root, name), path.join(out, name));
  }
  const tsc = path.join(root, 'node_modules/.bin/tsc');
  const code = await new Promise<number>((resolve) => {
    const p = spawn(
      tsc,
      [
        '-p',
        path.join(root, 'tsconfig.build.json'),
        '--outDir',
        path.join(out, 'dist'),
        '--noEmitOnError',
        'false',
      ],
      { cwd: root, stdio: 'ignore' },
    );
    p.on('exit', (c) => resolve(c ?? 1));
  });
  const built = builtApiary(out);
  if (built) return built;
  process.stderr.write(`build failed (tsc exit ${code}); running Apiary from source via tsx\n`);
  return fromSource;
}

/** The entry of a build already in `dir` (`dir/dist/cli/main.js`), if there is one. */
export function builtApiary(dir: string): ApiaryEntry | undefined {
  const main = path.join(dir, 'dist/cli/main.js');
  return fs.existsSync(main) ? { args: [main, 'serve'], compiled: true } : undefined;
}

/** A started Apiary process. */
export interface ApiaryProcess {
  readonly endpoint: string;
  readonly child: ChildProcess;
}

/**
 * Starts `entry` on a free port with its data in `dataDir`, the benchmark's root credentials and
 * error-level logs, and waits for its health check. `env` adds to (and wins over) the rest.
 */
export async function startApiaryProcess(
  entry: ApiaryEntry,
  o: {
    readonly name: string;
    readonly dataDir: string;
    readonly nodeArgs?: readonly string[];
    readonly env?: Readonly<Record<string, string>>;
  },
): Promise<ApiaryProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), ...entry.args], {
    cwd: rootDir,
    env: {
      // What bin/apiary sets for `apiary serve` (glibc's allocator, read at process start): the
      // benchmark starts dist/cli/main.js directly, so it sets them itself to measure what users run.
      MALLOC_ARENA_MAX: '2',
      MALLOC_TRIM_THRESHOLD_: '131072',
      MALLOC_MMAP_THRESHOLD_: '131072',
      ...process.env,
      APIARY_DATA_DIR: o.dataDir,
      APIARY_PORT: String(port),
      APIARY_LOG_LEVEL: 'error',
      APIARY_ROOT_ACCESS_KEY_ID: APIARY_CREDENTIALS.accessKeyId,
      APIARY_ROOT_SECRET_ACCESS_KEY: APIARY_CREDENTIALS.secretAccessKey,
      ...o.env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(`http://127.0.0.1:${port}/_apiary/health`, child, o.name);
  return { endpoint: `http://127.0.0.1:${port}`, child };
}
