import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { OnnxVariant } from './onnx-variant.js';
import { ServingMetrics } from './metrics.js';
import type { OrtInstance, RunResult, TensorData } from './ort-instance.js';
import type { DetectorSpec } from './model-spec.js';

const spec: DetectorSpec = {
  inputName: 'images',
  width: 2,
  height: 2,
  scale: 255,
  mean: undefined,
  std: undefined,
  boxesName: 'boxes',
  scoresName: 'scores',
  labelsName: 'labels',
  maxDetections: 1,
  classNames: ['bee'],
  scoreThreshold: 0,
};

/** An instance whose runs finish only when the test says so; records each batch size. */
class FakeInstance {
  busy = 0;
  alive = true;
  inputNames = ['images'];
  outputNames = ['boxes', 'scores', 'labels'];
  readonly batches: number[] = [];
  private readonly waiting: (() => void)[] = [];
  constructor(
    readonly id: string,
    readonly threads = 1,
    readonly lanes = 1,
  ) {}
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

const limits = {
  ortThreads: 1,
  maxBatch: 4,
  maxBatchWaitMs: 0,
  queuePerInstance: 16,
  maxInputPixels: 1e6,
  startupTimeoutSeconds: 1,
  invocationTimeoutSeconds: 1,
};
const tick = () => new Promise((r) => setImmediate(r));

describe('dynamic batching', () => {
  it('runs the first image alone, then takes up to maxBatch queued images per call', async () => {
    const fakes: FakeInstance[] = [];
    const variant = new OnnxVariant(
      'ep',
      'v',
      '/nowhere',
      spec,
      limits,
      new ServingMetrics(),
      () => {},
      (id) => {
        const f = new FakeInstance(id);
        fakes.push(f);
        return f as unknown as OrtInstance;
      },
    );
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
    expect(done.map((d) => [d.batch, d.index])).toEqual([
      [1, 0],
      [4, 0],
      [4, 1],
      [4, 2],
      [4, 3],
      [1, 0],
    ]);
    await variant.stop(0);
  });

  it('spreads work over free instances before batching', async () => {
    const fakes: FakeInstance[] = [];
    const variant = new OnnxVariant(
      'ep',
      'v',
      '/nowhere',
      spec,
      limits,
      new ServingMetrics(),
      () => {},
      (id) => {
        const f = new FakeInstance(id);
        fakes.push(f);
        return f as unknown as OrtInstance;
      },
    );
    await variant.start(2);
    void variant.infer(new Float32Array(12));
    void variant.infer(new Float32Array(12));
    await tick();
    expect(fakes.map((f) => f.batches)).toEqual([[1], [1]]);
    await variant.stop(0);
  });
});

describe('layout', () => {
  it('APIARY_ORT_THREADS=0 runs each instance as its share of the cores in single-threaded lanes, each taking work', async () => {
    const fakes: FakeInstance[] = [];
    const made: [number, number][] = [];
    const auto = { ...limits, ortThreads: 0, maxBatch: 1 };
    const variant = new OnnxVariant(
      'ep',
      'v',
      '/nowhere',
      spec,
      auto,
      new ServingMetrics(),
      () => {},
      (id, _m, threads, _e, lanes) => {
        made.push([threads, lanes]);
        const f = new FakeInstance(id, threads, lanes);
        fakes.push(f);
        return f as unknown as OrtInstance;
      },
    );
    await variant.start(1);
    const cores = os.availableParallelism();
    expect(made).toEqual([[1, cores]]);
    const calls = Array.from({ length: cores + 1 }, () =>
      variant.infer(new Float32Array(12)).then(
        () => 'ran',
        () => 'refused',
      ),
    );
    await tick();
    // One run per lane at once; the next waits for a lane.
    expect(fakes[0]!.batches).toEqual(Array.from({ length: cores }, () => 1));
    await variant.stop(0);
    // The queued one is refused (retryable) when the variant stops; the running ones never finish.
    expect(await calls[cores]).toBe('refused');
  });

  it('a thread count > 0 gives each instance one session with that many threads', async () => {
    const made: [number, number][] = [];
    const variant = new OnnxVariant(
      'ep',
      'v',
      '/nowhere',
      spec,
      { ...limits, ortThreads: 3 },
      new ServingMetrics(),
      () => {},
      (id, _m, threads, _e, lanes) => {
        made.push([threads, lanes]);
        return new FakeInstance(id, threads, lanes) as unknown as OrtInstance;
      },
    );
    await variant.start(2);
    expect(made).toEqual([
      [3, 1],
      [3, 1],
    ]);
    await variant.stop(0);
  });
});
