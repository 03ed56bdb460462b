import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStore } from '../../objects/index.js';
import { parseS3Uri } from '../../shared/s3-uri.js';
import { randomHex } from '../../shared/ids.js';
import {
  checkEntryPath,
  DEFAULT_EXTRACT_LIMITS,
  extractModelArchive,
  type ExtractLimits,
} from './artifact.js';
import { DeployError, InvokeError } from './errors.js';
import type {
  InstanceUsage,
  InvokeRequest,
  InvokeResponse,
  VariantServer,
  VariantUsage,
} from './variant-server.js';

/** One model a multi-model variant holds, as the console lists it. */
export interface LoadedModelUsage {
  readonly targetModel: string;
  /** Extracted size on disk: what the budget counts. */
  readonly bytes: number;
  readonly loadedAt: string;
  readonly lastUsedAt: string;
  readonly invocations: number;
  /** Milliseconds the load took (download + extract + start). */
  readonly loadMs: number;
}

export interface MultiModelOptions {
  readonly endpoint: string;
  readonly variant: string;
  /** The model's ModelDataUrl: an S3 prefix; TargetModel is appended to it. */
  readonly prefix: string;
  /** Where this variant extracts its models (one fresh subdirectory per load). */
  readonly dir: string;
  readonly objects: ObjectStore;
  /** Bytes of extracted models kept loaded at once; least recently used ones are unloaded. */
  readonly budgetBytes: number;
  readonly extractLimits?: ExtractLimits;
  /** Builds the server for one extracted model (built-in runtime or a serving image). */
  readonly makeServer: (modelDir: string) => Promise<VariantServer>;
  readonly log?: (msg: string) => void;
  readonly now?: () => number;
}

interface Loaded {
  readonly targetModel: string;
  readonly dir: string;
  readonly bytes: number;
  readonly server: VariantServer;
  readonly loadedAtMs: number;
  readonly loadMs: number;
  lastUsedMs: number;
  inflight: number;
  invocations: number;
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await fsp.stat(path.join(e.parentPath, e.name))).size;
  }
  return total;
}

/**
 * A multi-model variant (`Mode: MultiModel`): each `TargetModel` is a model.tar.gz under the
 * model's prefix, loaded on its first invocation (concurrent first requests share one load) and
 * unloaded least-recently-used when the extracted models exceed the memory budget. A model whose
 * archive is missing, corrupt or hostile is refused for that request only; the others keep serving.
 */
export class MultiModelVariant implements VariantServer {
  /** The runtime of the models it loads (built-in or a serving image), known once one is loaded. */
  kind: VariantServer['kind'] = 'container';
  /** Insertion order is recency order: the first entry is the least recently used. */
  private readonly loaded = new Map<string, Loaded>();
  private readonly loading = new Map<string, Promise<Loaded>>();
  private count = 1;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly opts: MultiModelOptions) {
    this.now = opts.now ?? Date.now;
  }

  async start(count: number): Promise<void> {
    this.count = count;
    await fsp.mkdir(this.opts.dir, { recursive: true });
  }

  async scale(count: number): Promise<void> {
    this.count = count;
    await Promise.all([...this.loaded.values()].map((m) => m.server.scale(count)));
  }

  instanceCount(): number {
    return this.count;
  }

  async invoke(req: InvokeRequest): Promise<InvokeResponse> {
    const target = req.targetModel;
    if (target === undefined || target === '') {
      const who = req.requestId ? `Request ${req.requestId}` : 'The request';
      throw new InvokeError(
        'ValidationError',
        `${who} is missing a target model header. Endpoint ${this.opts.endpoint} is a multi-model endpoint: name a model.tar.gz under its prefix with TargetModel.`,
      );
    }
    if (this.stopped) {
      throw new InvokeError(
        'ServiceUnavailable',
        `Variant ${this.opts.variant} of endpoint ${this.opts.endpoint} is shutting down; retry the request.`,
        { retryAfterSeconds: 1 },
      );
    }
    for (;;) {
      const m = await this.load(target);
      // Another load may have unloaded it between our load and now: load again.
      if (this.loaded.get(target) !== m) continue;
      this.loaded.delete(target);
      this.loaded.set(target, m);
      m.lastUsedMs = this.now();
      m.inflight += 1;
      try {
        const res = await m.server.invoke(req);
        m.invocations += 1;
        return res;
      } finally {
        m.inflight -= 1;
      }
    }
  }

  /** The loaded model, loading it once however many requests ask at the same time. */
  private load(target: string): Promise<Loaded> {
    const have = this.loaded.get(target);
    if (have) return Promise.resolve(have);
    let p = this.loading.get(target);
    if (!p) {
      p = this.doLoad(target).finally(() => this.loading.delete(target));
      this.loading.set(target, p);
    }
    return p;
  }

  private async doLoad(target: string): Promise<Loaded> {
    const checked = checkEntryPath(target);
    if (!checked.ok || checked.rel === '' || target.length > 1024) {
      throw new InvokeError(
        'ValidationError',
        `TargetModel '${target.slice(0, 200)}' is not a valid model name: it must be a relative path under the model's prefix (no '..', no leading '/').`,
      );
    }
    const started = this.now();
    const { bucket, key: prefixKey } = parseS3Uri(this.opts.prefix, 'ModelDataUrl');
    const key =
      prefixKey === '' || prefixKey.endsWith('/')
        ? `${prefixKey}${checked.rel}`
        : `${prefixKey}/${checked.rel}`;
    const obj = await this.opts.objects.getObject(bucket, key).catch(() => undefined);
    if (!obj) {
      throw new InvokeError(
        'ValidationError',
        `Failed to download model data(bucket: ${bucket}, key: ${key}). Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the model.`,
      );
    }
    const dir = path.join(
      this.opts.dir,
      `${checked.rel.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80)}-${randomHex(6)}`,
    );
    let server: VariantServer | undefined;
    try {
      // A model can never take more than the whole budget: stop extracting as soon as it would.
      const limits = this.opts.extractLimits ?? DEFAULT_EXTRACT_LIMITS;
      await extractModelArchive(obj.body, dir, {
        ...limits,
        maxBytes: Math.min(limits.maxBytes, this.opts.budgetBytes),
      }).catch((e: unknown) => {
        if (e instanceof DeployError && e.message.includes('extracts to more than')) {
          throw new DeployError(
            `${e.message}, the multi-model budget (APIARY_MULTI_MODEL_BUDGET_MB)`,
          );
        }
        throw e;
      });
      const bytes = await dirBytes(dir);
      if (bytes > this.opts.budgetBytes) {
        throw new DeployError(
          `it extracts to ${bytes} bytes, more than the multi-model budget of ${this.opts.budgetBytes} bytes (APIARY_MULTI_MODEL_BUDGET_MB)`,
        );
      }
      await this.makeRoom(bytes);
      server = await this.opts.makeServer(dir);
      this.kind = server.kind;
      await server.start(this.count);
      if (this.stopped) throw new DeployError('the endpoint is shutting down');
      const now = this.now();
      const m: Loaded = {
        targetModel: target,
        dir,
        bytes,
        server,
        loadedAtMs: now,
        loadMs: now - started,
        lastUsedMs: now,
        inflight: 0,
        invocations: 0,
      };
      this.loaded.set(target, m);
      // A concurrent load may have pushed the total over the budget meanwhile.
      await this.makeRoom(0);
      return m;
    } catch (e) {
      await server?.stop(0).catch(() => {});
      await fsp.rm(dir, { recursive: true, force: true });
      if (e instanceof InvokeError) throw e;
      const why = e instanceof DeployError ? e.message : `internal error (${(e as Error).message})`;
      this.opts.log?.(
        `${this.opts.endpoint}/${this.opts.variant}: could not load TargetModel ${target}: ${why}`,
      );
      throw new InvokeError(
        'ValidationError',
        `Could not load TargetModel '${target.slice(0, 200)}' of endpoint ${this.opts.endpoint}: ${why}. The endpoint's other models are not affected.`,
      );
    }
  }

  /** Unloads least recently used models until `incoming` more bytes fit in the budget. */
  private async makeRoom(incoming: number): Promise<void> {
    const victims: Loaded[] = [];
    let total = incoming;
    for (const m of this.loaded.values()) total += m.bytes;
    // Idle models first, in recency order; busy ones only if that is not enough (they drain first).
    const order = [...this.loaded.values()].sort(
      (a, b) => Number(a.inflight > 0) - Number(b.inflight > 0),
    );
    for (const m of order) {
      if (total <= this.opts.budgetBytes) break;
      this.loaded.delete(m.targetModel);
      victims.push(m);
      total -= m.bytes;
    }
    await Promise.all(victims.map((m) => this.unload(m)));
  }

  private async unload(m: Loaded): Promise<void> {
    this.opts.log?.(
      `${this.opts.endpoint}/${this.opts.variant}: unloading TargetModel ${m.targetModel} (least recently used)`,
    );
    await m.server.stop(30_000).catch(() => {});
    await fsp.rm(m.dir, { recursive: true, force: true });
  }

  /** The models loaded now, least recently used first. */
  models(): LoadedModelUsage[] {
    const iso = (ms: number) => new Date(ms).toISOString();
    return [...this.loaded.values()].map((m) => ({
      targetModel: m.targetModel,
      bytes: m.bytes,
      loadedAt: iso(m.loadedAtMs),
      lastUsedAt: iso(m.lastUsedMs),
      invocations: m.invocations,
      loadMs: m.loadMs,
    }));
  }

  usage(): VariantUsage {
    const instances: InstanceUsage[] = [];
    let memory: VariantUsage['memory'] = 'process-rss';
    for (const m of this.loaded.values()) {
      const u = m.server.usage();
      memory = u.memory;
      for (const i of u.instances) instances.push({ ...i, id: `${m.targetModel}/${i.id}` });
    }
    return { kind: this.kind, memory, instances, models: this.models() };
  }

  async stop(graceMs?: number): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.loading.values());
    const all = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.all(
      all.map(async (m) => {
        await m.server.stop(graceMs).catch(() => {});
        await fsp.rm(m.dir, { recursive: true, force: true });
      }),
    );
  }
}
