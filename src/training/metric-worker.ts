import { Worker } from 'node:worker_threads';
import type { MetricDefinition } from './spec.js';
import { MetricExtractor, type MetricPoint } from './metrics.js';

/**
 * How long one metric regex may run on one log line before it is judged catastrophic: the worker
 * is stopped, the definition dropped for the rest of the job, and the job's log says why.
 */
export const METRIC_REGEX_BUDGET_MS = 1000;

/**
 * The worker's code (plain CommonJS, evaluated: no file to resolve in src or dist). Shared state:
 * [0] regex steps taken, [1] the definition running, [2] 1 while inside a regex.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const defs = workerData.defs.map((d) => ({ name: d.name, re: new RegExp(d.source, d.flags) }));
const state = new Int32Array(workerData.state);
parentPort.on('message', ({ seq, message, ts }) => {
  const points = [];
  for (let i = 0; i < defs.length; i++) {
    Atomics.store(state, 1, i);
    Atomics.add(state, 0, 1);
    Atomics.store(state, 2, 1);
    defs[i].re.lastIndex = 0;
    const m = defs[i].re.exec(message);
    Atomics.store(state, 2, 0);
    if (!m) continue;
    const value = Number.parseFloat(m[1] ?? m[0]);
    if (Number.isFinite(value)) points.push({ metricName: defs[i].name, value, timestampMs: ts });
  }
  Atomics.add(state, 0, 1);
  parentPort.postMessage({ seq, points });
});
`;

interface Pending {
  readonly seq: number;
  readonly message: string;
  readonly ts: number;
}

/**
 * Evaluates a training job's MetricDefinitions on its log lines in a worker thread, so that a
 * catastrophic (exponential-backtracking) regex from a user can never stall the server's event
 * loop: a watchdog stops a worker stuck on one regex for METRIC_REGEX_BUDGET_MS, drops that
 * definition (`onDropped` says which, for the job's log) and carries on with the others. Points
 * arrive in line order through `onPoints`.
 */
export class IsolatedMetricExtractor {
  private defs: { name: string; source: string; flags: string }[];
  private worker: Worker | undefined;
  private state = new Int32Array(new SharedArrayBuffer(12));
  private queue: Pending[] = [];
  private seq = 0;
  private closed = false;
  private watchdog: NodeJS.Timeout | undefined;
  private lastProgress = -1;
  private stuckSinceMs = 0;
  private drainWaiters: (() => void)[] = [];

  constructor(
    definitions: readonly MetricDefinition[],
    private readonly onPoints: (points: MetricPoint[]) => void,
    private readonly onDropped: (name: string, reason: string) => void,
    private readonly budgetMs = METRIC_REGEX_BUDGET_MS,
  ) {
    // Compiled (and validated, deduplicated) here, evaluated only in the worker.
    this.defs = new MetricExtractor(definitions)
      .definitions()
      .map((d) => ({ name: d.name, source: d.re.source, flags: d.re.flags }));
  }

  get size(): number {
    return this.defs.length;
  }

  /** Queues one log line for matching. */
  push(message: string, timestampMs: number): void {
    if (this.closed || this.defs.length === 0) return;
    const p = { seq: ++this.seq, message, ts: timestampMs };
    this.queue.push(p);
    this.ensureWorker().postMessage(p);
  }

  /** Resolves once every queued line has been matched (or dropped with its regex). */
  drain(): Promise<void> {
    if (this.queue.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.stopWorker();
    this.queue = [];
    this.wakeDrainers();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    this.state = new Int32Array(new SharedArrayBuffer(12));
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { defs: this.defs, state: this.state.buffer },
    });
    worker.unref();
    worker.on('message', (m: { seq: number; points: MetricPoint[] }) => {
      if (worker !== this.worker) return;
      while (this.queue.length > 0 && this.queue[0]!.seq <= m.seq) this.queue.shift();
      if (m.points.length > 0) this.onPoints(m.points);
      if (this.queue.length === 0) this.wakeDrainers();
    });
    worker.on('error', () => {
      if (worker === this.worker) this.restartWithout(undefined, 'the metric worker failed');
    });
    this.worker = worker;
    this.lastProgress = -1;
    this.watchdog = setInterval(() => this.check(), Math.max(50, Math.floor(this.budgetMs / 4)));
    this.watchdog.unref();
    return worker;
  }

  /** The watchdog: no regex step for `budgetMs` while lines wait means a regex is stuck. */
  private check(): void {
    if (this.queue.length === 0) {
      this.lastProgress = -1;
      return;
    }
    const progress = Atomics.load(this.state, 0);
    const now = Date.now();
    if (progress !== this.lastProgress) {
      this.lastProgress = progress;
      this.stuckSinceMs = now;
      return;
    }
    if (now - this.stuckSinceMs < this.budgetMs) return;
    // Stuck outside a regex (a worker slow to start on a loaded machine): keep waiting.
    if (Atomics.load(this.state, 2) !== 1) return;
    const culprit = this.defs[Atomics.load(this.state, 1)];
    this.restartWithout(
      culprit?.name,
      `its regex ran longer than ${this.budgetMs} ms on one log line`,
    );
  }

  private restartWithout(name: string | undefined, reason: string): void {
    this.stopWorker();
    // The line in progress is given up; the rest are matched again by a fresh worker.
    this.queue.shift();
    if (name !== undefined) {
      this.defs = this.defs.filter((d) => d.name !== name);
      this.onDropped(name, reason);
    }
    if (this.defs.length === 0 || this.closed) {
      this.queue = [];
      this.wakeDrainers();
      return;
    }
    const again = this.queue;
    if (again.length === 0) return this.wakeDrainers();
    const worker = this.ensureWorker();
    for (const p of again) worker.postMessage(p);
  }

  private stopWorker(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    const w = this.worker;
    this.worker = undefined;
    void w?.terminate();
  }

  private wakeDrainers(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
