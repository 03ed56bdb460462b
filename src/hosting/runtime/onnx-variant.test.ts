import { describe, expect, it } from 'vitest';
import { OnnxVariant } from './onnx-variant.js';
import { ServingMetrics } from './metrics.js';
import type { OrtInstance, RunResult, TensorData } from './ort-instance.js';
import type { DetectorSpec } from './model-spec.js';

const spec: DetectorSpec = {
  inputName: 'images', width: 2, height: 2, scale: 255, mean: undefined, std: undefined,
  boxesName: 'boxes', scoresName: 'scores', labelsName: 'labels', maxDetections: 1, classNames: ['bee'], scoreThreshold: 0,
};

/** An instance whose runs finish only when the test says so; records each batch size. */
class FakeInstance {
  busy = 0;
  alive = true;
  inputNames = ['images'];
  outputNames = ['boxes', 'scores', 'labels'];
  readonly batches: number[] = [];
  private readonly waiting: (() => void)[] = [];
  constructor(readonly id: string) {}
  async start() {}
  async stop() {
    this.alive = false;
  }
  run(feeds: Record<string, TensorData>): Promise<RunResult> {
    const n = feeds.images!.dims[0]!;
    this.batches.push(n);
    return new Promise((resolve) => this.waiting.push(() => resolve({ outputs: {}, modelMs: 1 })));
  }
  release() {
    this.waiting.shift()?.();
  }
}

const limits = { ortThreads: 1, maxBatch: 4, maxBatchWaitMs: 0, queuePerInstance: 16, maxInputPixels: 1e6, startupTimeoutSeconds: 1, invocationTimeoutSeconds: 1 };
const tick = () => new Promise((r) => setImmediate(r));

describe('dynamic batching', () => {
  it('runs the first image alone, then takes up to maxBatch queued images per call', async () => {
    const fakes: FakeInstance[] = [];
    const variant = new OnnxVariant('ep', 'v', '/nowhere', spec, limits, new ServingMetrics(), () => {}, (id) => {
      const f = new FakeInstance(id);
      fakes.push(f);
      return f as unknown as OrtInstance;
    });
    await variant.start(1);
    const tensor = () => new Float32Array(12);
    const results = Array.from({ length: 6 }, () => variant.infer(tensor()));
    await tick();
    expect(fakes[0]!.batches).toEqual([1]);
    fakes[0]!.release();
    await tick();
    await tick();
    expect(fakes[0]!.batches).toEqual([1, 4]);
    fakes[0]!.release();
    await tick();
    await tick();
    expect(fakes[0]!.batches).toEqual([1, 4, 1]);
    fakes[0]!.release();
    const done = await Promise.all(results);
    expect(done.map((d) => [d.batch, d.index])).toEqual([[1, 0], [4, 0], [4, 1], [4, 2], [4, 3], [1, 0]]);
    await variant.stop(0);
  });

  it('spreads work over free instances before batching', async () => {
    const fakes: FakeInstance[] = [];
    const variant = new OnnxVariant('ep', 'v', '/nowhere', spec, limits, new ServingMetrics(), () => {}, (id) => {
      const f = new FakeInstance(id);
      fakes.push(f);
      return f as unknown as OrtInstance;
    });
    await variant.start(2);
    void variant.infer(new Float32Array(12));
    void variant.infer(new Float32Array(12));
    await tick();
    expect(fakes.map((f) => f.batches)).toEqual([[1], [1]]);
    await variant.stop(0);
  });
});
