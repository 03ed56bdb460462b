import type { LoadedModelUsage } from './multi-model.js';
import type { ServerlessUsage } from './serverless.js';

/** A request as the runtime sees it once the HTTP edge has read and checked it. */
export interface InvokeRequest {
  readonly body: Buffer;
  readonly contentType: string | undefined;
  readonly accept: string | undefined;
  readonly customAttributes: string | undefined;
  readonly inferenceId: string | undefined;
  /** Multi-model endpoints: the model.tar.gz under the model's prefix (X-Amzn-SageMaker-Target-Model). */
  readonly targetModel?: string;
  /** The API request id, for error messages that quote it. */
  readonly requestId?: string;
  /** When the request was received (performance.now()), for OverheadLatency. */
  readonly receivedAt: number;
}

/** What a variant answers an invocation with: the model's body and content type, plus metrics data. */
export interface InvokeResponse {
  readonly body: Buffer | string;
  readonly contentType: string;
  readonly customAttributes: string | undefined;
  /** The instance that answered (metrics). */
  readonly instanceId: string;
  /** Microseconds spent in the model. */
  readonly modelLatencyUs: number;
}

/** What one instance holds while it runs. */
export interface InstanceUsage {
  readonly id: string;
  /** Resident memory, bytes: the serving process tree's RSS, or the server's RSS growth when the built-in instance loaded. */
  readonly memoryBytes: number;
  /** CPU threads the instance may use (ONNX Runtime intra-op threads); absent for a serving process. */
  readonly threads?: number;
  /** CPU time so far, seconds (serving processes only: built-in instances share the server's process). */
  readonly cpuSeconds?: number;
  /** The serving process, for bring-your-own images. */
  readonly pid?: number;
}

/** Resources a running variant uses now: its instances' memory and CPU, loaded models, serverless state. */
export interface VariantUsage {
  readonly kind: 'onnx' | 'container';
  /** How memoryBytes was measured. */
  readonly memory: 'process-rss' | 'rss-growth-at-load';
  readonly instances: readonly InstanceUsage[];
  /** Multi-model variants: the models loaded now, least recently used first. */
  readonly models?: readonly LoadedModelUsage[];
  /** Serverless variants: whether an instance is up, and the cold starts so far. */
  readonly serverless?: ServerlessUsage;
}

/**
 * A production variant's running fleet: the built-in ONNX runtime (worker threads) or a
 * bring-your-own serving process per instance. Both bound their queue and answer overload at once.
 */
export interface VariantServer {
  readonly kind: 'onnx' | 'container';
  /** Starts `count` instances; resolves when every one is ready. @throws DeployError */
  start(count: number): Promise<void>;
  /** Changes the instance count without failing requests in flight. @throws DeployError */
  scale(count: number): Promise<void>;
  invoke(req: InvokeRequest): Promise<InvokeResponse>;
  instanceCount(): number;
  /** What the running instances hold (memory, threads, CPU time). */
  usage(): VariantUsage;
  /** Stops accepting, waits for requests in flight (at most `graceMs`), stops the instances. */
  stop(graceMs?: number): Promise<void>;
}

/** The knobs shared by every variant server (from settings). */
export interface ServingLimits {
  /** ORT intra-op threads per instance; 0 = ORT's default. */
  readonly ortThreads: number;
  readonly maxBatch: number;
  readonly maxBatchWaitMs: number;
  /** Requests admitted per instance (queued + running) before overload answers. */
  readonly queuePerInstance: number;
  readonly maxInputPixels: number;
  /** Seconds a bring-your-own server gets to answer GET /ping with 200. */
  readonly startupTimeoutSeconds: number;
  /** Seconds an invocation may take in a bring-your-own server. */
  readonly invocationTimeoutSeconds: number;
}
