import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root (bin/apiary lives there). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A free loopback port (for a server that must come back on the same port after a kill -9). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

/** An `apiary serve` in its own process: what a test kills with -9 or SIGTERM. */
export interface ChildServer {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Sends `signal` (default SIGKILL) and resolves with the exit code once it is gone. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `bin/apiary serve` from the sources under test (never a possibly stale `dist/`) on a temp
 * data dir, and resolves once it listens. `wrap` puts a command in front (e.g. `unshare` for a
 * private mount namespace); `env` adds APIARY_* settings.
 */
export async function serveInChild(o: {
  readonly dataDir: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly port?: number;
  readonly env?: Record<string, string>;
  readonly wrap?: (argv: string[]) => string[];
  readonly startTimeoutMs?: number;
}): Promise<ChildServer> {
  const argv = [process.execPath, path.join(REPO_ROOT, 'bin', 'apiary'), 'serve'];
  const [cmd, ...args] = o.wrap ? o.wrap(argv) : argv;
  const child = spawn(cmd!, args, {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      APIARY_DATA_DIR: o.dataDir,
      APIARY_PORT: String(o.port ?? 0),
      APIARY_HOST: '127.0.0.1',
      APIARY_LOG_LEVEL: 'silent',
      APIARY_ROOT_ACCESS_KEY_ID: o.credentials.accessKeyId,
      APIARY_ROOT_SECRET_ACCESS_KEY: o.credentials.secretAccessKey,
      APIARY_FROM_SOURCE: '1',
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`apiary serve did not start: ${out}`)),
      o.startTimeoutMs ?? 60_000,
    );
    const look = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', look);
      resolve(m[1]!);
    };
    child.stdout!.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`apiary serve exited (${code}): ${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null)
        return Promise.resolve(child.exitCode);
      return new Promise((resolve) => {
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
}
