import { InvokeError } from './errors.js';
import type {
  InvokeRequest,
  InvokeResponse,
  VariantServer,
  VariantUsage,
} from './variant-server.js';

/** A production variant's ServerlessConfig. */
export interface ServerlessSpec {
  readonly memorySizeInMB: number;
  readonly maxConcurrency: number;
}

/** What the console shows for a serverless variant. */
export interface ServerlessUsage {
  readonly warm: boolean;
  readonly memorySizeInMB: number;
  readonly maxConcurrency: number;
  readonly coldStarts: number;
  /** Milliseconds the last cold start took (instance start until it could answer). */
  readonly lastColdStartMs?: number;
  readonly inFlight: number;
}

/** SageMaker's rule for ServerlessConfig.MemorySizeInMB: 1024–6144 in steps of 1024. */
export function serverlessMemoryProblem(variant: string, memory: number): string | undefined {
  if (memory % 1024 === 0 && memory >= 1024 && memory <= 6144) return undefined;
  return `Invalid MemorySizeInMB ${memory} for production variant ${variant}. MemorySizeInMB must be one of 1024, 2048, 3072, 4096, 5120 or 6144.`;
}

/**
 * A serverless variant: one instance of the wrapped server while there is traffic, none after
 * `idleMs` without an invocation. The first request after scale-to-zero waits for the cold start
 * (concurrent ones share it); more than MaxConcurrency requests in flight are refused at once
 * with 503 + Retry-After, as SageMaker throttles a serverless endpoint.
 */
export class ServerlessVariant implements VariantServer {
  readonly kind: VariantServer['kind'];
  private warm = false;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private coldStarts = 0;
  private lastColdStartMs: number | undefined;
  private stopped = false;

  constructor(
    private readonly endpoint: string,
    private readonly variant: string,
    private readonly inner: VariantServer,
    private readonly spec: ServerlessSpec,
    private readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.kind = inner.kind;
  }

  /** Starts one instance so a broken model fails the deployment, then lets it go idle. */
  async start(): Promise<void> {
    await this.inner.start(1);
    this.warm = true;
    this.armIdle();
  }

  /** Serverless variants have no instance count to change. */
  async scale(): Promise<void> {}

  instanceCount(): number {
    return this.warm ? 1 : 0;
  }

  async invoke(req: InvokeRequest): Promise<InvokeResponse> {
    if (this.stopped) {
      throw new InvokeError(
        'ServiceUnavailable',
        `Variant ${this.variant} of endpoint ${this.endpoint} is shutting down; retry the request.`,
        { retryAfterSeconds: 1 },
      );
    }
    if (this.inFlight >= this.spec.maxConcurrency) {
      throw new InvokeError(
        'ServiceUnavailable',
        `Endpoint ${this.endpoint} variant ${this.variant} is at its MaxConcurrency of ${this.spec.maxConcurrency} concurrent invocations; retry after a short wait or raise MaxConcurrency.`,
        { retryAfterSeconds: 1 },
      );
    }
    this.inFlight += 1;
    clearTimeout(this.idleTimer);
    try {
      await this.ensureWarm();
      return await this.inner.invoke(req);
    } finally {
      this.inFlight -= 1;
      this.armIdle();
    }
  }

  private ensureWarm(): Promise<void> {
    if (this.warm) return Promise.resolve();
    this.starting ??= (async () => {
      await this.stopping;
      const t0 = this.now();
      await this.inner.scale(1);
      this.coldStarts += 1;
      this.lastColdStartMs = this.now() - t0;
      this.warm = true;
    })().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.inFlight > 0 || this.stopped) return;
    this.idleTimer = setTimeout(() => void this.coolDown(), this.idleMs);
    this.idleTimer.unref();
  }

  /** Scale to zero (idle for `idleMs`). Requests arriving meanwhile wait and start it again. */
  coolDown(): Promise<void> {
    if (!this.warm || this.inFlight > 0 || this.starting) return this.stopping;
    this.warm = false;
    this.stopping = this.inner.scale(0).catch(() => {});
    return this.stopping;
  }

  usage(): VariantUsage {
    const u = this.inner.usage();
    return {
      ...u,
      serverless: {
        warm: this.warm,
        memorySizeInMB: this.spec.memorySizeInMB,
        maxConcurrency: this.spec.maxConcurrency,
        coldStarts: this.coldStarts,
        lastColdStartMs: this.lastColdStartMs,
        inFlight: this.inFlight,
      },
    };
  }

  async stop(graceMs?: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.idleTimer);
    await this.stopping;
    await this.inner.stop(graceMs);
  }
}
