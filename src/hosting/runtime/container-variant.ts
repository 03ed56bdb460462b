import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeployError, InvokeError } from './errors.js';
import type { ServingMetrics } from './metrics.js';
import type {
  InvokeRequest,
  InvokeResponse,
  ServingLimits,
  VariantServer,
  VariantUsage,
} from './variant-server.js';
import {
  APIARY_ROOT,
  bwrapArgs,
  processTreeUsage,
  sandboxRebindPaths,
} from '../../shared/index.js';

/** How to start a bring-your-own serving image: a local command (argv, never a shell). */
export interface ServingCommand {
  readonly command: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export interface ContainerVariantOptions {
  readonly endpoint: string;
  readonly variant: string;
  readonly modelDir: string;
  readonly serving: ServingCommand;
  /** The model's Environment (ContainerDefinition.Environment). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Run the command under bubblewrap: the model at /opt/ml/model (read-only), `hiddenPaths` (the
   * data dir) masked, own network/PID/IPC namespaces, no capabilities; reached via a unix socket.
   */
  readonly bwrap: boolean;
  /** Host folders the sandbox lays an empty tmpfs over (Apiary's data dir). */
  readonly hiddenPaths?: readonly string[];
  readonly limits: ServingLimits;
  readonly metrics: ServingMetrics;
  readonly log?: (msg: string) => void;
}

/** Asks the kernel for a free loopback port. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

interface HttpResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Runs inside the sandbox: relays the host's unix socket to the model's port on its own loopback. */
const RELAY = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../src/hosting/runtime/serving-relay.mjs',
);
/** Where the relay's socket folder appears inside the sandbox. */
const SANDBOX_SOCKET_DIR = '/tmp/.apiary-serving';

/** Where to reach an instance: a loopback port (no sandbox) or the sandbox relay's unix socket. */
type Target = { readonly port: number } | { readonly socketPath: string };

function request(
  target: Target,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  timeoutMs: number,
  maxBytes = 6 * 1024 * 1024 + 1,
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const where =
      'socketPath' in target
        ? { socketPath: target.socketPath }
        : { host: '127.0.0.1', port: target.port };
    const req = http.request(
      { ...where, method, path, headers, timeout: timeoutMs, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            req.destroy(new Error('response too large'));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

class ContainerInstance {
  private child: ChildProcess | undefined;
  private exited = false;
  busy = 0;
  private tail = '';
  /** The host folder holding the relay's socket (sandboxed instances only). */
  private socketDir: string | undefined;

  constructor(
    readonly id: string,
    readonly port: number,
    private readonly opts: ContainerVariantOptions,
  ) {}

  get alive(): boolean {
    return !this.exited && this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.alive ? this.child?.pid : undefined;
  }

  async start(): Promise<void> {
    const { serving, environment, modelDir } = this.opts;
    const modelPath = this.opts.bwrap ? '/opt/ml/model' : modelDir;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      LANG: process.env.LANG ?? 'C.UTF-8',
      ...serving.env,
      ...environment,
      SAGEMAKER_BIND_TO_PORT: String(this.port),
      SM_MODEL_DIR: modelPath,
      APIARY_MODEL_DIR: modelPath,
      PYTHONUNBUFFERED: '1',
    };
    const [cmd, ...args] = serving.command;
    let argv: string[];
    if (this.opts.bwrap) {
      // A short host path (unix socket paths are capped near 108 bytes), private to this user.
      this.socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-sv-'));
      const relay = [process.execPath, RELAY, `${SANDBOX_SOCKET_DIR}/s`, String(this.port), '--'];
      argv = [
        'bwrap',
        ...bwrapArgs({
          rebind: sandboxRebindPaths([...serving.command, process.execPath]),
          // The data dir (credentials, database, blobs, other models) is not there at all.
          hidden: this.opts.hiddenPaths ?? [],
          binds: [
            { host: modelDir, at: '/opt/ml/model', readOnly: true },
            { host: this.socketDir, at: SANDBOX_SOCKET_DIR },
          ],
          network: 'none',
          dieWithParent: true,
        }),
        '--',
        ...relay,
        cmd!,
        ...args,
      ];
    } else {
      argv = [cmd!, ...args];
    }
    // The server's own environment (its settings, any secrets in it) never reaches the model.
    const child = spawn(argv[0]!, argv.slice(1), {
      env,
      cwd: this.opts.bwrap ? '/' : modelDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (c: Buffer) => {
      this.tail = (this.tail + c.toString('utf8')).slice(-2000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exitedEarly = new Promise<never>((_, reject) => {
      // 'close' (not 'exit'): its output has been read by then, so the reason can quote it.
      child.on('close', (code, signal) => {
        this.exited = true;
        if (this.socketDir) fs.rmSync(this.socketDir, { recursive: true, force: true });
        reject(
          new Error(
            `the serving process exited (${signal ?? `code ${code}`}) before answering GET /ping; last output: ${this.lastOutput()}`,
          ),
        );
      });
      child.on('error', (e) => {
        this.exited = true;
        reject(new Error(`cannot start the serving command: ${e.message}`));
      });
    });
    exitedEarly.catch(() => {});
    const deadline = Date.now() + this.opts.limits.startupTimeoutSeconds * 1000;
    for (;;) {
      if (this.exited) await exitedEarly;
      try {
        const r = await Promise.race([
          request(this.target(), 'GET', '/ping', {}, undefined, 2000),
          exitedEarly,
        ]);
        if (r.status === 200) return;
      } catch (e) {
        if (this.exited) await exitedEarly;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `the serving process did not answer GET /ping with 200 within ${this.opts.limits.startupTimeoutSeconds} s; last output: ${this.lastOutput()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private target(): Target {
    return this.socketDir ? { socketPath: path.join(this.socketDir, 's') } : { port: this.port };
  }

  lastOutput(): string {
    return this.tail.trim().split('\n').slice(-5).join(' | ').slice(-500) || '(none)';
  }

  async invoke(req: InvokeRequest): Promise<HttpResult> {
    const headers: Record<string, string> = { 'content-length': String(req.body.length) };
    if (req.contentType) headers['content-type'] = req.contentType;
    if (req.accept) headers.accept = req.accept;
    if (req.customAttributes) headers['x-amzn-sagemaker-custom-attributes'] = req.customAttributes;
    if (req.inferenceId) headers['x-amzn-sagemaker-inference-id'] = req.inferenceId;
    return request(
      this.target(),
      'POST',
      '/invocations',
      headers,
      req.body,
      this.opts.limits.invocationTimeoutSeconds * 1000,
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    const gone = new Promise<void>((r) => child.once('close', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await gone;
    clearTimeout(timer);
    if (this.socketDir) fs.rmSync(this.socketDir, { recursive: true, force: true });
  }
}

/**
 * A bring-your-own serving image: one local process per instance, started with SageMaker's serving
 * environment (`SAGEMAKER_BIND_TO_PORT`, the model at /opt/ml/model under bubblewrap or at
 * `SM_MODEL_DIR` without it); it must answer `GET /ping` with 200 within the startup window.
 * Requests are proxied to `POST /invocations`; a non-2xx answer becomes ModelError (424).
 */
export class ContainerVariant implements VariantServer {
  readonly kind = 'container' as const;
  private instances: ContainerInstance[] = [];
  private admitted = 0;
  private serial = 0;
  private rr = 0;
  private stopped = false;
  /** The instance count asked for; dead instances are replaced up to it. */
  private target = 0;
  private replacing: Promise<void> | undefined;

  constructor(private readonly opts: ContainerVariantOptions) {}

  /** Host paths never shown to a caller (a model's message or a connection error may name them). */
  private scrub(text: string): string {
    const hidden = [this.opts.modelDir, APIARY_ROOT, ...(this.opts.hiddenPaths ?? [])].filter(
      (p) => p.length > 1,
    );
    let out = text.replace(/\/[^\s'"]*apiary-sv-[^\s'"]*/g, '<path>');
    for (const p of hidden) out = out.split(p).join('<path>');
    return out;
  }

  /** Serving processes that exited after their start are dropped and started again (in the background). */
  private replaceDead(): void {
    if (this.stopped || this.replacing) return;
    const dead = this.instances.filter((i) => !i.alive);
    if (dead.length === 0) return;
    this.instances = this.instances.filter((i) => i.alive);
    const { endpoint, variant } = this.opts;
    this.opts.log?.(
      `endpoint ${endpoint} variant ${variant}: ${dead.length} serving process(es) exited (last output: ${this.scrub(dead[0]!.lastOutput())}); starting replacements`,
    );
    this.replacing = this.scale(this.target)
      .catch((e: unknown) =>
        this.opts.log?.(
          `endpoint ${endpoint} variant ${variant}: a replacement failed to start: ${(e as Error).message}`,
        ),
      )
      .finally(() => {
        this.replacing = undefined;
      });
  }

  instanceCount(): number {
    return this.instances.length;
  }

  usage(): VariantUsage {
    return {
      kind: 'container',
      memory: 'process-rss',
      instances: this.instances.map((i) => {
        const pid = i.pid;
        const tree = pid === undefined ? undefined : processTreeUsage(pid);
        return {
          id: i.id,
          pid,
          memoryBytes: tree?.rssBytes ?? 0,
          cpuSeconds: tree?.cpuSeconds ?? 0,
        };
      }),
    };
  }

  async start(count: number): Promise<void> {
    await this.scale(count);
  }

  async scale(count: number): Promise<void> {
    this.target = count;
    if (count > this.instances.length) {
      const started = await Promise.allSettled(
        Array.from({ length: count - this.instances.length }, async () => {
          const inst = new ContainerInstance(
            `${this.opts.variant}-${++this.serial}`,
            await freePort(),
            this.opts,
          );
          try {
            await inst.start();
          } catch (e) {
            await inst.stop();
            throw e;
          }
          return inst;
        }),
      );
      const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const failed = started.find((s) => s.status === 'rejected');
      if (failed || this.stopped) {
        await Promise.all(ok.map((i) => i.stop()));
        if (failed)
          throw new DeployError(
            `The serving container of variant ${this.opts.variant} failed its health check: ${((failed as PromiseRejectedResult).reason as Error).message}`,
          );
        return;
      }
      this.instances.push(...ok);
    } else if (count < this.instances.length) {
      const retired = this.instances.slice(count);
      this.instances = this.instances.slice(0, count);
      await Promise.all(
        retired.map(async (i) => {
          const deadline = Date.now() + 30_000;
          while (i.busy > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
          await i.stop();
        }),
      );
    }
  }

  private pick(): ContainerInstance | undefined {
    const live = this.instances.filter((i) => i.alive);
    if (live.length === 0) return undefined;
    let best = live[this.rr++ % live.length]!;
    for (const i of live) if (i.busy < best.busy) best = i;
    return best;
  }

  async invoke(req: InvokeRequest): Promise<InvokeResponse> {
    const { endpoint, variant, limits } = this.opts;
    if (this.stopped)
      throw new InvokeError(
        'ServiceUnavailable',
        `Variant ${variant} of endpoint ${endpoint} is shutting down; retry the request.`,
        { retryAfterSeconds: 1 },
      );
    if (this.admitted >= Math.max(1, this.instances.length) * limits.queuePerInstance) {
      throw new InvokeError(
        'ServiceUnavailable',
        `Endpoint ${endpoint} variant ${variant} is at capacity (${this.admitted} requests in progress); retry after a short wait.`,
        { retryAfterSeconds: 1 },
      );
    }
    this.replaceDead();
    const inst = this.pick();
    if (!inst)
      throw new InvokeError(
        'ServiceUnavailable',
        `No instance of variant ${variant} is running; retry the request.`,
        { retryAfterSeconds: 1 },
      );
    this.admitted += 1;
    inst.busy += 1;
    const t0 = performance.now();
    try {
      let r: HttpResult;
      try {
        r = await inst.invoke(req);
      } catch (e) {
        const message = this.scrub((e as Error).message);
        if (!inst.alive) this.replaceDead();
        throw new InvokeError(
          'ModelError',
          `Received server error (0) from primary with message "${message}". The serving process did not answer.`,
          {
            originalStatusCode: 0,
            originalMessage: message,
          },
        );
      }
      const modelLatencyUs = Math.round((performance.now() - t0) * 1000);
      this.opts.metrics.modelLatency.observe(
        { endpoint, variant, instance: inst.id },
        modelLatencyUs,
      );
      if (r.status < 200 || r.status >= 300) {
        const text = this.scrub(r.body.toString('utf8').slice(0, 1000));
        throw Object.assign(
          new InvokeError(
            'ModelError',
            `Received ${r.status < 500 ? 'client' : 'server'} error (${r.status}) from primary with message "${text}". See the endpoint's logs for more information.`,
            { originalStatusCode: r.status, originalMessage: text },
          ),
          { instanceId: inst.id },
        );
      }
      const ca = r.headers['x-amzn-sagemaker-custom-attributes'];
      return {
        body: r.body,
        contentType: String(r.headers['content-type'] ?? 'application/octet-stream'),
        customAttributes: typeof ca === 'string' ? ca : undefined,
        instanceId: inst.id,
        modelLatencyUs,
      };
    } finally {
      inst.busy -= 1;
      this.admitted -= 1;
    }
  }

  async stop(graceMs = 30_000): Promise<void> {
    this.stopped = true;
    const deadline = Date.now() + graceMs;
    while (this.admitted > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const all = this.instances;
    this.instances = [];
    await Promise.all(all.map((i) => i.stop()));
  }
}
