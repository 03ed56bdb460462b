import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { InvokeError } from './errors.js';

/**
 * One endpoint instance of the built-in runtime: a worker thread holding its own ONNX Runtime
 * session. onnxruntime-node's `session.run` executes synchronously on the calling thread (its
 * promise only defers it with setImmediate), so running it on the main thread would stall every
 * HTTP request; a worker per instance keeps the event loop free and gives real parallelism.
 *
 * The worker is an `eval` script that `require`s onnxruntime-node by absolute path: it loads the
 * same way under node, tsx and vitest, and needs no separate build step.
 */
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
// Each run leaves a dead input and output buffer (~1-2 MiB of external memory, tiny JS objects):
// V8 only collects them once 64 MiB of external memory has piled up, so RSS per lane grew by up to
// that much. A scavenge after each run (young generation only; the worker's heap is tiny) frees
// them while the worker is idle anyway: bench/serving/memory.ts measured 2 lanes +197 → +150 MiB
// and 1 lane +145 → +91 MiB after 48 runs (a full GC instead freed no more). V8 flags are
// process-wide: later contexts (workers, vm) see a global gc() too, which is harmless.
let scavenge = () => {};
if (workerData.memory.scavengeAfterRun) {
  require('node:v8').setFlagsFromString('--expose-gc');
  const gc = require('node:vm').runInNewContext('gc');
  scavenge = () => gc({ type: 'minor' });
}
let session;
let mapped = false;
const options = (inPlace) => ({
  intraOpNumThreads: workerData.threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  enableCpuMemArena: workerData.memory.cpuArena,
  enableMemPattern: workerData.memory.memPattern,
  // No busy-waiting between ops: the same cores decode images (sharp) and serve HTTP.
  extra: {
    session: {
      intra_op: { allow_spinning: '0' },
      inter_op: { allow_spinning: '0' },
      ...(workerData.memory.prepacking ? {} : { disable_prepacking: '1' }),
      ...(workerData.memory.initializersInArena ? {} : { use_device_allocator_for_initializers: '1' }),
      // An ORT-format model is mapped from its file and its weights are used in place: one copy in
      // the page cache for every lane and instance instead of one on the heap per session.
      ...(inPlace
        ? {
            use_memory_mapped_ort_model: '1',
            use_ort_model_bytes_directly: '1',
            use_ort_model_bytes_for_initializers: '1',
          }
        : {}),
    },
  },
});
(async () => {
  try {
    if (workerData.mappedPath) {
      try {
        session = await ort.InferenceSession.create(workerData.mappedPath, options(true));
        mapped = true;
      } catch {
        // The ONNX file below is the source of truth; the ORT-format copy is an optimisation.
      }
    }
    session ??= await ort.InferenceSession.create(workerData.modelPath, options(false));
    const inputs = session.inputNames;
    const outputs = session.outputNames;
    parentPort.postMessage({ type: 'ready', inputs, outputs, mapped });
  } catch (e) {
    parentPort.postMessage({ type: 'failed', message: String(e && e.message || e) });
    return;
  }
  parentPort.on('message', async (msg) => {
    if (msg.type !== 'run') return;
    const t0 = performance.now();
    try {
      const feeds = {};
      for (const [name, f] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(f.type, f.data, f.dims);
      const r = await session.run(feeds);
      const ms = performance.now() - t0;
      const outputs = {};
      const transfer = [];
      for (const [name, t] of Object.entries(r)) {
        const data = t.data.slice();
        outputs[name] = { type: t.type, dims: t.dims, data };
        transfer.push(data.buffer);
      }
      // The inputs go back too (the run is done with them): the caller reuses them for the next
      // image instead of mapping fresh pages for every request.
      const inputs = {};
      for (const [name, f] of Object.entries(msg.feeds)) {
        inputs[name] = f;
        if (!transfer.includes(f.data.buffer)) transfer.push(f.data.buffer);
      }
      parentPort.postMessage({ type: 'result', id: msg.id, ok: true, outputs, inputs, ms }, transfer);
    } catch (e) {
      parentPort.postMessage({ type: 'result', id: msg.id, ok: false, message: String(e && e.message || e), ms: performance.now() - t0 });
    }
    setImmediate(scavenge);
  });
})();
`;

/**
 * Converts a model to ORT format once, in a short-lived child process: the session graph after
 * ORT's optimizations, saved so that lanes can map it from the file instead of each parsing,
 * optimizing and copying the weights again. A child (not a worker thread) leaves nothing of the
 * conversion's memory in the server's allocator (a worker left 1-4 MiB). The optimized graph may
 * hold this CPU's NCHWc layout, so the file is only used where it is made.
 */
const CONVERT_SOURCE = String.raw`
const [ortPath, modelPath, out] = process.argv.slice(1);
require(ortPath)
  .InferenceSession.create(modelPath, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: out,
    // ORT warns that the saved graph holds this CPU's layout (NCHWc): it is used only here.
    logSeverityLevel: 3,
    extra: { session: { save_model_format: 'ORT', intra_op: { allow_spinning: '0' } } },
  })
  .then((s) => s.release())
  .then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(String((e && e.message) || e));
      process.exit(1);
    },
  );
`;

const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');

/** Conversions in progress: ONNX path → the copy's path (undefined: ORT could not convert it). */
const converting = new Map<string, Promise<string | undefined>>();

/**
 * The ORT-format copy of `modelPath` beside it (`<name>.apiary.ort`): made on first use (instances
 * that start together share one conversion), reused while it is newer than the ONNX file;
 * undefined when ORT cannot convert the model (the lanes then load the ONNX file).
 */
export async function ortFormatCopy(modelPath: string): Promise<string | undefined> {
  const out = modelPath.replace(/\.onnx$/i, '') + '.apiary.ort';
  const pending = converting.get(modelPath);
  if (pending) return pending;
  const [src, copy] = await Promise.all([
    fsp.stat(modelPath).catch(() => undefined),
    fsp.stat(out).catch(() => undefined),
  ]);
  if (src && copy && copy.mtimeMs >= src.mtimeMs) return out;
  const again = converting.get(modelPath);
  if (again) return again;
  const made = convert(modelPath, out).finally(() => converting.delete(modelPath));
  converting.set(modelPath, made);
  return made;
}

async function convert(modelPath: string, out: string): Promise<string | undefined> {
  const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await promisify(execFile)(process.execPath, ['-e', CONVERT_SOURCE, ortPath, modelPath, tmp], {
      timeout: 120_000,
      maxBuffer: 1 << 20,
    });
    await fsp.rename(tmp, out);
    return out;
  } catch {
    await fsp.rm(tmp, { force: true });
    return undefined;
  }
}

export interface TensorData {
  readonly type: 'float32' | 'int64' | 'int32' | 'float64' | 'uint8' | 'bool';
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array | Int32Array | Float64Array | Uint8Array;
}

export interface RunResult {
  readonly outputs: Record<string, TensorData>;
  /** Time spent in session.run inside the worker. */
  readonly modelMs: number;
  /** The feeds, handed back after the run (their buffers were transferred to the worker). */
  readonly inputs?: Record<string, TensorData>;
}

/** Memory-related knobs of an instance's sessions and worker threads (bench/serving measures them). */
export interface OrtMemoryOptions {
  /** ORT's CPU memory arena (keeps freed tensor memory for reuse). */
  readonly cpuArena: boolean;
  /** ORT's memory-pattern planning (preallocates one block per run shape). */
  readonly memPattern: boolean;
  /** Cap on the worker's V8 young generation (MiB); 0 keeps Node's default. */
  readonly youngGenerationMb: number;
  /** ORT's weight prepacking (a second, kernel-friendly copy of some weights). */
  readonly prepacking: boolean;
  /** Collect the young generation after each run (frees the run's dead tensor buffers at once). */
  readonly scavengeAfterRun: boolean;
  /** Weights in ORT's arena (false: allocated exactly, outside it). */
  readonly initializersInArena: boolean;
  /**
   * Load an ORT-format copy of the model mapped from its file, its weights used in place (shared
   * by every lane and instance of the process); false: each session parses and holds its own.
   */
  readonly mappedModel: boolean;
}

/**
 * The defaults (bench/serving/memory.ts): ORT's arena on (off, every run's activations are fresh
 * pages: 2.3× the CPU per run once freed memory goes back to the system), memory patterns off
 * (the arena then reuses freed activations within a run instead of holding one planned block per
 * run: 10-21 MiB less per instance after runs, no measurable CPU cost), prepacking on and Node's
 * default worker heap (turning them off saved nothing), and a scavenge after each run.
 */
export const DEFAULT_ORT_MEMORY: OrtMemoryOptions = {
  cpuArena: true,
  memPattern: false,
  youngGenerationMb: 0,
  prepacking: true,
  scavengeAfterRun: true,
  initializersInArena: true,
  mappedModel: true,
};

interface Pending {
  resolve(r: RunResult): void;
  reject(e: Error): void;
}

/**
 * One endpoint instance: `lanes` worker threads, each with its own session of `threads` intra-op
 * threads. Several single-threaded lanes serve more than one session with as many threads: a small
 * detector parallelises poorly inside one run, while independent runs scale with the cores.
 */
export class OrtInstance {
  private workers: Worker[] = [];
  /** Runs in flight per lane. */
  private laneBusy: number[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, Pending & { lane: number }>();
  private dead = false;
  private started = false;
  inputNames: readonly string[] = [];
  outputNames: readonly string[] = [];
  /** Requests (batches) in flight on this instance; it takes more while `busy < lanes`. */
  busy = 0;
  /** How much the server's RSS grew while this instance loaded its model (set by its variant). */
  memoryBytes = 0;
  /** Every lane runs the mapped ORT-format copy of the model (see {@link ortFormatCopy}). */
  mapped = false;
  private mappedPath: string | undefined;

  constructor(
    readonly id: string,
    private readonly modelPath: string,
    readonly threads: number,
    private readonly onExit: (instance: OrtInstance, reason: string) => void = () => {},
    readonly lanes = 1,
    private readonly memory: OrtMemoryOptions = DEFAULT_ORT_MEMORY,
  ) {}

  get alive(): boolean {
    return !this.dead && this.started;
  }

  /** Loads the model in every lane; resolves when all are ready. @throws Error with ORT's reason. */
  async start(): Promise<void> {
    this.mappedPath = this.memory.mappedModel ? await ortFormatCopy(this.modelPath) : undefined;
    this.mapped = this.mappedPath !== undefined;
    const lanes = Array.from({ length: Math.max(1, this.lanes) }, (_, lane) =>
      this.startLane(lane),
    );
    const results = await Promise.allSettled(lanes);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      this.dead = true;
      await Promise.all(this.workers.map((w) => w.terminate()));
      throw failed.reason;
    }
    this.started = true;
  }

  private startLane(lane: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          ortPath,
          modelPath: this.modelPath,
          mappedPath: this.mappedPath,
          threads: this.threads,
          memory: this.memory,
        },
        resourceLimits: this.memory.youngGenerationMb
          ? { maxYoungGenerationSizeMb: this.memory.youngGenerationMb }
          : undefined,
        name: `apiary-ort-${this.id}-${lane}`,
      });
      this.workers[lane] = worker;
      this.laneBusy[lane] = 0;
      let ready = false;
      worker.on('message', (msg: any) => {
        if (msg.type === 'ready') {
          ready = true;
          this.inputNames = msg.inputs;
          this.outputNames = msg.outputs;
          if (!msg.mapped) this.mapped = false;
          resolve();
        } else if (msg.type === 'failed') {
          void worker.terminate();
          reject(new Error(msg.message));
        } else if (msg.type === 'result') {
          const p = this.pending.get(msg.id);
          if (!p) return;
          this.pending.delete(msg.id);
          this.laneBusy[p.lane]! -= 1;
          if (msg.ok) p.resolve({ outputs: msg.outputs, modelMs: msg.ms, inputs: msg.inputs });
          else
            p.reject(
              new InvokeError('ModelError', 'The model failed to run on the input', {
                originalStatusCode: 500,
                originalMessage: String(msg.message).slice(0, 500),
              }),
            );
        }
      });
      worker.on('error', (e: Error) => {
        if (!ready) reject(e);
        this.fail(`instance ${this.id} crashed: ${e.message}`);
      });
      worker.on('exit', (code) => {
        if (!ready) reject(new Error(`the model worker exited with code ${code} while loading`));
        this.fail(`instance ${this.id} exited with code ${code}`);
      });
    });
  }

  /** A lane that dies takes the instance with it: the variant replaces the whole instance. */
  private fail(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    for (const p of this.pending.values()) {
      p.reject(
        new InvokeError(
          'ServiceUnavailable',
          'The endpoint instance serving the request stopped; retry the request.',
          { retryAfterSeconds: 1 },
        ),
      );
    }
    this.pending.clear();
    for (const w of this.workers) void w.terminate();
    if (this.started) this.onExit(this, reason);
  }

  run(feeds: Record<string, TensorData>): Promise<RunResult> {
    if (!this.started || this.dead) {
      return Promise.reject(
        new InvokeError(
          'ServiceUnavailable',
          'The endpoint instance is not running; retry the request.',
          { retryAfterSeconds: 1 },
        ),
      );
    }
    // The least busy lane (an idle one when the variant respects `busy < lanes`).
    let lane = 0;
    for (let i = 1; i < this.laneBusy.length; i++)
      if (this.laneBusy[i]! < this.laneBusy[lane]!) lane = i;
    const worker = this.workers[lane]!;
    const id = this.nextId++;
    const transfer = Object.values(feeds).map((f) => f.data.buffer as ArrayBuffer);
    return new Promise<RunResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, lane });
      this.laneBusy[lane]! += 1;
      worker.postMessage({ type: 'run', id, feeds }, transfer);
    });
  }

  async stop(): Promise<void> {
    this.dead = true;
    const workers = this.workers;
    this.workers = [];
    for (const p of this.pending.values())
      p.reject(
        new InvokeError(
          'ServiceUnavailable',
          'The endpoint instance was stopped; retry the request.',
          { retryAfterSeconds: 1 },
        ),
      );
    this.pending.clear();
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
