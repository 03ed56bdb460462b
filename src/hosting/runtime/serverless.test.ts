import { afterEach, describe, expect, it, vi } from 'vitest';
import { ServerlessVariant } from './serverless.js';
import type {
  InvokeRequest,
  InvokeResponse,
  VariantServer,
  VariantUsage,
} from './variant-server.js';

/** An in-memory variant server that counts instance starts and holds invocations until released. */
class CountingServer implements VariantServer {
  readonly kind = 'onnx' as const;
  instances = 0;
  starts = 0;
  private readonly waiting: (() => void)[] = [];
  async start(count: number) {
    await this.scale(count);
  }
  async scale(count: number) {
    if (count > this.instances) this.starts += count - this.instances;
    await Promise.resolve();
    this.instances = count;
  }
  async invoke(_req: InvokeRequest): Promise<InvokeResponse> {
    if (this.instances === 0) throw new Error('invoked with no instance');
    await new Promise<void>((r) => this.waiting.push(r));
    return {
      body: 'ok',
      contentType: 'text/plain',
      customAttributes: undefined,
      instanceId: 'i-1',
      modelLatencyUs: 1,
    };
  }
  release() {
    for (const r of this.waiting.splice(0)) r();
  }
  instanceCount() {
    return this.instances;
  }
  usage(): VariantUsage {
    return {
      kind: 'onnx',
      memory: 'rss-growth-at-load',
      instances: Array.from({ length: this.instances }, (_, i) => ({
        id: `i-${i}`,
        memoryBytes: 1,
      })),
    };
  }
  async stop() {
    this.instances = 0;
  }
}

const req: InvokeRequest = {
  body: Buffer.from('x'),
  contentType: undefined,
  accept: undefined,
  customAttributes: undefined,
  inferenceId: undefined,
  receivedAt: 0,
};
const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

afterEach(() => vi.useRealTimers());

describe('ServerlessVariant', () => {
  it('scales to zero after the idle period and shares one cold start among concurrent requests', async () => {
    vi.useFakeTimers();
    const inner = new CountingServer();
    const v = new ServerlessVariant(
      'ep',
      'v',
      inner,
      { memorySizeInMB: 1024, maxConcurrency: 4 },
      60_000,
    );
    await v.start();
    expect(inner.instances).toBe(1);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(inner.instances).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(inner.instances).toBe(0);
    expect(v.usage().serverless).toMatchObject({ warm: false, coldStarts: 0 });

    const calls = [v.invoke(req), v.invoke(req), v.invoke(req)];
    await flush();
    inner.release();
    await expect(Promise.all(calls)).resolves.toHaveLength(3);
    expect(inner.starts).toBe(2); // the create and one cold start for the three requests
    expect(v.usage().serverless).toMatchObject({ warm: true, coldStarts: 1, inFlight: 0 });

    // No scale-down while a request is in flight, however long it takes.
    const slow = v.invoke(req);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(inner.instances).toBe(1);
    inner.release();
    await slow;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(inner.instances).toBe(0);
    await v.stop();
  });

  it('refuses requests beyond MaxConcurrency at once with 503 and Retry-After', async () => {
    const inner = new CountingServer();
    const v = new ServerlessVariant(
      'ep',
      'v',
      inner,
      { memorySizeInMB: 1024, maxConcurrency: 2 },
      60_000,
    );
    await v.start();
    const held = [v.invoke(req), v.invoke(req)];
    await flush();
    await expect(v.invoke(req)).rejects.toMatchObject({
      code: 'ServiceUnavailable',
      status: 503,
      extra: { retryAfterSeconds: 1 },
    });
    inner.release();
    await Promise.all(held);
    await v.stop();
  });
});
