import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DeployError, InvokeError } from './errors.js';
import { decodeImage, TensorPool } from './image.js';
import { formatResponse, parseAccept, parseCustomAttributes, toPredictions } from './detections.js';
import { MODEL_ONNX, type DetectorSpec } from './model-spec.js';
import { OrtInstance, type RunResult } from './ort-instance.js';
import type { ServingMetrics } from './metrics.js';
import type {
  InvokeRequest,
  InvokeResponse,
  ServingLimits,
  VariantServer,
  VariantUsage,
} from './variant-server.js';

interface Job {
  readonly tensor: Float32Array;
  readonly enqueuedAt: number;
  resolve(r: { result: RunResult; index: number; batch: number; instance: OrtInstance }): void;
  reject(e: Error): void;
}

function withInstance<T>(instanceId: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InvokeError) e.instanceId = instanceId;
    throw e;
  }
}

const SUPPORTED_TYPES = new Set([
  'image/jpeg',
  'image/jpg',
  'image/png',
  'application/x-image',
  'image/*',
  'application/octet-stream',
]);

/**
 * The built-in detector's fleet for one variant: `count` worker-thread instances, one bounded
 * queue, dynamic batching (a free instance takes up to `maxBatch` queued images; it waits at most
 * `maxBatchWaitMs` for a batch to fill when that is set).
 */
export class OnnxVariant implements VariantServer {
  readonly kind = 'onnx' as const;
  private instances: OrtInstance[] = [];
  private readonly queue: Job[] = [];
  private admitted = 0;
  private serial = 0;
  private waitTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private rr = 0;
  /** Input tensors back from finished runs, reused by the next decodes. */
  private readonly tensors = new TensorPool();

  constructor(
    private readonly endpoint: string,
    private readonly variant: string,
    private readonly modelDir: string,
    private readonly spec: DetectorSpec,
    private readonly limits: ServingLimits,
    private readonly metrics: ServingMetrics,
    private readonly log: (msg: string) => void = () => {},
    /** Builds an instance (tests inject fakes). */
    private readonly createInstance: (
      id: string,
      modelPath: string,
      threads: number,
      onExit: (i: OrtInstance, reason: string) => void,
      lanes: number,
    ) => OrtInstance = (id, modelPath, threads, onExit, lanes) =>
      new OrtInstance(id, modelPath, threads, onExit, lanes),
  ) {}

  instanceCount(): number {
    return this.instances.length;
  }

  usage(): VariantUsage {
    return {
      kind: 'onnx',
      memory: 'rss-growth-at-load',
      instances: this.instances.map((i) => ({
        id: i.id,
        memoryBytes: i.memoryBytes,
        threads: i.threads * (i.lanes ?? 1),
      })),
    };
  }

  private capacity(): number {
    return Math.max(1, this.instances.length) * this.limits.queuePerInstance;
  }

  /**
   * Sessions per instance × ORT intra-op threads per session. A setting > 0: one session with that
   * many threads. 0 (auto): the instance's share of the cores as that many single-threaded
   * sessions — on two cores, 2 × 1 served 1.18× the images/s of 1 × 2 (bench/serving).
   */
  private layout(count: number): { lanes: number; threads: number } {
    if (this.limits.ortThreads > 0) return { lanes: 1, threads: this.limits.ortThreads };
    return {
      lanes: Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, count))),
      threads: 1,
    };
  }

  private async newInstance(count = this.instances.length || 1): Promise<OrtInstance> {
    const { lanes, threads } = this.layout(count);
    const inst = this.createInstance(
      `${this.variant}-${++this.serial}`,
      path.join(this.modelDir, MODEL_ONNX),
      threads,
      (dead, reason) => this.onInstanceExit(dead, reason),
      lanes,
    );
    try {
      await inst.start();
    } catch (e) {
      throw new DeployError(
        `The model in variant ${this.variant} could not be loaded by ONNX Runtime: ${(e as Error).message.slice(0, 500)}`,
      );
    }
    const need = [this.spec.inputName];
    const outs = [this.spec.boxesName, this.spec.scoresName, this.spec.labelsName];
    const missing = [
      ...need.filter((n) => !inst.inputNames.includes(n)),
      ...outs.filter((n) => !inst.outputNames.includes(n)),
    ];
    if (missing.length > 0) {
      await inst.stop();
      throw new DeployError(
        `model.onnx does not match model.json: missing ${missing.join(', ')} (inputs: ${inst.inputNames.join(', ')}; outputs: ${inst.outputNames.join(', ')})`,
      );
    }
    return inst;
  }

  private onInstanceExit(dead: OrtInstance, reason: string): void {
    if (this.stopped || !this.instances.includes(dead)) return;
    this.log(`${this.endpoint}/${reason}; replacing it`);
    this.instances = this.instances.filter((i) => i !== dead);
    this.newInstance()
      .then((inst) => {
        if (this.stopped) return void inst.stop();
        this.instances.push(inst);
        this.pump();
      })
      .catch((e) =>
        this.log(`${this.endpoint}: could not replace ${dead.id}: ${(e as Error).message}`),
      );
  }

  async start(count: number): Promise<void> {
    await this.scale(count);
  }

  async scale(count: number): Promise<void> {
    if (count > this.instances.length) {
      // The instances live in this process, so what each holds is measured as the RSS growth while
      // they load (shared evenly among the instances loaded together).
      const rssBefore = process.memoryUsage.rss();
      const started = await Promise.allSettled(
        Array.from({ length: count - this.instances.length }, () => this.newInstance(count)),
      );
      const failed = started.find((s) => s.status === 'rejected');
      const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const share = Math.max(0, process.memoryUsage.rss() - rssBefore) / Math.max(1, ok.length);
      for (const i of ok) i.memoryBytes = Math.round(share);
      if (failed) {
        await Promise.all(ok.map((i) => i.stop()));
        throw failed.reason;
      }
      if (this.stopped) {
        await Promise.all(ok.map((i) => i.stop()));
        return;
      }
      this.instances.push(...ok);
      this.pump();
    } else if (count < this.instances.length) {
      // Retire the newest instances once their current batch is done; queued work goes elsewhere.
      const retired = this.instances.slice(count);
      this.instances = this.instances.slice(0, count);
      await Promise.all(retired.map((i) => this.retire(i)));
    }
  }

  private async retire(inst: OrtInstance): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (inst.busy > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await inst.stop();
  }

  async invoke(req: InvokeRequest): Promise<InvokeResponse> {
    if (this.stopped) {
      throw new InvokeError(
        'ServiceUnavailable',
        `Variant ${this.variant} of endpoint ${this.endpoint} is shutting down; retry the request.`,
        { retryAfterSeconds: 1 },
      );
    }
    const type = req.contentType?.split(';')[0]?.trim().toLowerCase();
    if (type !== undefined && type !== '' && !SUPPORTED_TYPES.has(type)) {
      throw new InvokeError(
        'ValidationError',
        `ContentType '${req.contentType!.slice(0, 100)}' is not supported by the object-detection model; send image/jpeg, image/png or application/x-image.`,
      );
    }
    const format = parseAccept(req.accept);
    const opts = parseCustomAttributes(req.customAttributes);
    if (this.admitted >= this.capacity()) {
      throw new InvokeError(
        'ServiceUnavailable',
        `Endpoint ${this.endpoint} variant ${this.variant} is at capacity (${this.admitted} requests in progress); retry after a short wait or add instances with UpdateEndpointWeightsAndCapacities.`,
        { retryAfterSeconds: 1 },
      );
    }
    this.admitted += 1;
    try {
      const image = await decodeImage(
        req.body,
        this.spec,
        { maxInputPixels: this.limits.maxInputPixels },
        this.tensors,
      );
      const { result, index, instance } = await this.infer(image.tensor);
      const d = this.spec.maxDetections;
      const boxes = result.outputs[this.spec.boxesName]!;
      const scores = result.outputs[this.spec.scoresName]!;
      const labels = result.outputs[this.spec.labelsName]!;
      const perImage = scores.dims[1] ?? d;
      const predictions = withInstance(instance.id, () =>
        toPredictions(
          {
            boxes: (boxes.data as Float32Array).subarray(
              index * perImage * 4,
              (index + 1) * perImage * 4,
            ),
            scores: (scores.data as Float32Array).subarray(
              index * perImage,
              (index + 1) * perImage,
            ),
            labels: (labels.data as BigInt64Array | Int32Array).subarray(
              index * perImage,
              (index + 1) * perImage,
            ),
          },
          opts,
        ),
      );
      return {
        body: formatResponse(predictions, format, image.width, image.height),
        contentType: 'application/json',
        customAttributes: req.customAttributes,
        instanceId: instance.id,
        modelLatencyUs: Math.round(result.modelMs * 1000),
      };
    } finally {
      this.admitted -= 1;
    }
  }

  /** Queues one preprocessed image; a free instance takes it, possibly with others (a batch). */
  infer(
    tensor: Float32Array,
  ): Promise<{ result: RunResult; index: number; batch: number; instance: OrtInstance }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ tensor, enqueuedAt: performance.now(), resolve, reject });
      this.pump();
    });
  }

  /** Hands queued images to free instances, in batches. */
  private pump(): void {
    if (this.waitTimer) {
      clearTimeout(this.waitTimer);
      this.waitTimer = undefined;
    }
    while (this.queue.length > 0) {
      const free = this.freeInstance();
      if (!free) return;
      const { maxBatch, maxBatchWaitMs } = this.limits;
      if (this.queue.length < maxBatch && maxBatchWaitMs > 0) {
        const waited = performance.now() - this.queue[0]!.enqueuedAt;
        if (waited < maxBatchWaitMs) {
          this.waitTimer = setTimeout(() => this.pump(), Math.ceil(maxBatchWaitMs - waited));
          return;
        }
      }
      this.runBatch(free, this.queue.splice(0, maxBatch));
    }
  }

  private freeInstance(): OrtInstance | undefined {
    const n = this.instances.length;
    for (let k = 0; k < n; k++) {
      const inst = this.instances[(this.rr + k) % n]!;
      if (inst.alive && inst.busy < (inst.lanes ?? 1)) {
        this.rr = (this.rr + k + 1) % n;
        return inst;
      }
    }
    return undefined;
  }

  private runBatch(inst: OrtInstance, jobs: Job[]): void {
    const plane = jobs[0]!.tensor.length;
    const data = jobs.length === 1 ? jobs[0]!.tensor : new Float32Array(plane * jobs.length);
    if (jobs.length > 1)
      jobs.forEach((j, i) => {
        data.set(j.tensor, i * plane);
        this.tensors.give(j.tensor);
      });
    inst.busy += 1;
    inst
      .run({
        [this.spec.inputName]: {
          type: 'float32',
          dims: [jobs.length, 3, this.spec.height, this.spec.width],
          data,
        },
      })
      .then(
        (result) => {
          const back = result.inputs?.[this.spec.inputName]?.data;
          if (jobs.length === 1 && back instanceof Float32Array) this.tensors.give(back);
          const us = result.modelMs * 1000;
          this.metrics.modelLatency.observe(
            { endpoint: this.endpoint, variant: this.variant, instance: inst.id },
            us,
          );
          jobs.forEach((j, index) =>
            j.resolve({ result, index, batch: jobs.length, instance: inst }),
          );
        },
        (e: Error) => jobs.forEach((j) => j.reject(e)),
      )
      .finally(() => {
        inst.busy -= 1;
        this.pump();
      });
  }

  async stop(graceMs = 30_000): Promise<void> {
    this.stopped = true;
    const deadline = Date.now() + graceMs;
    while (this.admitted > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    if (this.waitTimer) clearTimeout(this.waitTimer);
    for (const j of this.queue.splice(0)) {
      j.reject(
        new InvokeError(
          'ServiceUnavailable',
          `Variant ${this.variant} of endpoint ${this.endpoint} was stopped; retry the request.`,
          { retryAfterSeconds: 1 },
        ),
      );
    }
    const all = this.instances;
    this.instances = [];
    await Promise.all(all.map((i) => i.stop()));
  }
}
