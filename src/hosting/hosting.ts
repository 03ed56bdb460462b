import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { ArnContext } from '../shared/arn.js';
import { parseSagemakerArn } from '../shared/arn.js';
import type { Clock } from '../shared/clock.js';
import { AppError, ErrorCodes } from '../shared/errors.js';
import type { Coordinator, Db, TagRepository } from '../store/index.js';
import type { ObjectStore } from '../objects/index.js';
import { parseS3Uri } from '../shared/s3-uri.js';
import { ModelRepository, type ModelContainer, type ModelsTable } from './models.js';
import {
  EndpointConfigRepository,
  type EndpointConfigRecord,
  type EndpointConfigsTable,
  type VariantSpec,
} from './endpoint-configs.js';
import {
  EndpointRepository,
  type EndpointRecord,
  type EndpointsTable,
  type VariantState,
} from './endpoints.js';
import { assertTransition } from './endpoint-status.js';
import { DeployError, InvokeError } from './runtime/errors.js';
import {
  KubernetesHosting,
  type KubernetesHostingOptions,
} from './runtime/kubernetes/kubernetes-variant.js';
import { ServingManager, type Fleet, type VariantDeployment } from './runtime/serving.js';
import { ServingMetrics, type VariantCounts } from './runtime/metrics.js';
import type {
  ServingLimits,
  InvokeRequest,
  InvokeResponse,
  VariantUsage,
} from './runtime/variant-server.js';
import type { ServingCommand } from './runtime/container-variant.js';
import { mathRandom, type Random } from '../shared/random.js';
import { planDeployment, type WireDeploymentConfig } from './deployments/timeline.js';
import { runBlueGreenUpdate } from './deployments/blue-green.js';
import { DeploymentLog, type DeploymentsTable } from './deployments/log.js';
import {
  captureConfigFromWire,
  captureSummary,
  DataCapture,
  type CaptureConfig,
} from './capture.js';
import { validateEndpointConfigExtras } from './endpoint-config-rules.js';
import type { ShadowComparison } from './shadow.js';

const DEFAULT_LIMITS: ServingLimits = {
  ortThreads: 0,
  maxBatch: 1,
  maxBatchWaitMs: 0,
  queuePerInstance: 16,
  maxInputPixels: 40_000_000,
  startupTimeoutSeconds: 60,
  invocationTimeoutSeconds: 60,
};

/** What the hosting context needs: database, clock, ARNs, object store, tags, serving config and coordinator. */
export interface HostingDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly arn: ArnContext;
  readonly objects: ObjectStore;
  readonly tags: TagRepository;
  /** Serving runtime configuration; defaults suit tests. */
  readonly serving?: HostingServingConfig;
  /**
   * Ownership of endpoint fleets among replicas (leases). One replica serves each endpoint; the
   * others forward its invocations there. Without one, this process serves every endpoint.
   */
  readonly coordinator?: Coordinator;
  /** Current states of CloudWatch alarms, for AutoRollbackConfiguration (none: no alarm exists). */
  readonly alarmStates?: (
    names: readonly string[],
  ) => Promise<ReadonlyMap<string, { state: string; reason: string }>>;
  /** How often a deployment reads its alarms while it bakes (APIARY_DEPLOYMENT_POLL_MS). */
  readonly deploymentPollMs?: number;
}

/** The lease that says which replica holds an endpoint's fleet. */
export const endpointLease = (name: string): string => `endpoint:${name.toLowerCase()}`;

/** Where and how the serving runtime runs models: work dir, limits, serving images, sandbox, multi-model and serverless tunables. */
export interface HostingServingConfig {
  /** Where extracted models live (`<dataDir>/hosting`). */
  readonly workDir: string;
  readonly limits: ServingLimits;
  readonly servingImages: Readonly<Record<string, ServingCommand>>;
  readonly pythonPath: string;
  readonly bwrap: boolean;
  /** Run user serving code without a sandbox when bwrap is missing (APIARY_SANDBOX=none). */
  readonly allowUnsandboxed?: boolean;
  /** Host folders the serving sandbox masks (the data dir). */
  readonly hiddenPaths?: readonly string[];
  /** CreateEndpoint/updates wait this long for the deployment before answering. */
  readonly createWaitMs: number;
  readonly random?: Random;
  readonly log?: (msg: string) => void;
  /** Multi-model variants: bytes of extracted models kept loaded. */
  readonly multiModelBudgetBytes?: number;
  /** Serverless variants scale to zero after this many idle milliseconds. */
  readonly serverlessIdleMs?: number;
  /** APIARY_HOSTING=kubernetes: variants as Deployments + Services (see runtime/kubernetes/). */
  readonly kubernetes?: KubernetesHostingOptions;
  /** Data capture writes a file at least this often (default 2 s). */
  readonly captureFlushMs?: number;
}

/** One serving endpoint's footprint, for the console's endpoint list. */
export interface EndpointUsage {
  readonly EndpointName: string;
  readonly Variants: number;
  readonly Instances: number;
  readonly MemoryBytes: number;
  /** ONNX Runtime threads of the built-in instances (bring-your-own processes are not counted). */
  readonly Threads: number;
  /** Answered invocations since the server started. */
  readonly Invocations: number;
  readonly LastInvocationTime?: string;
}

/** The hosting context: models, endpoint configs and endpoints that serve. */
export class Hosting {
  readonly models: ModelRepository;
  readonly endpointConfigs: EndpointConfigRepository;
  readonly endpoints: EndpointRepository;
  readonly serving: ServingManager;
  /** The history of UpdateEndpoint deployments (traffic timeline, outcome, rollback reason). */
  readonly deploymentLog: DeploymentLog;
  /** Deployments in progress, aborted by DeleteEndpoint and close. */
  private readonly deploymentAborts = new Map<string, AbortController>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly createWaitMs: number;
  private readonly log: (msg: string) => void;
  private closing = false;
  /** DataCaptureConfig writer (off the request path). */
  readonly capture: DataCapture;
  /** Each live fleet's capture config, resolved once per fleet from its endpoint config. */
  private readonly captureConfigs = new WeakMap<Fleet, Promise<CaptureConfig | undefined>>();

  constructor(private readonly deps: HostingDeps) {
    const db = deps.db.withTables<
      ModelsTable & EndpointConfigsTable & EndpointsTable & DeploymentsTable
    >();
    this.deploymentLog = new DeploymentLog(db as unknown as Kysely<DeploymentsTable>);
    this.endpoints = new EndpointRepository(
      db as unknown as Kysely<EndpointsTable>,
      deps.clock,
      deps.arn,
    );
    const cfg = deps.serving;
    this.log = cfg?.log ?? (() => {});
    this.createWaitMs = cfg?.createWaitMs ?? 5_000;
    this.serving = new ServingManager({
      objects: deps.objects,
      workDir: cfg?.workDir ?? path.join(os.tmpdir(), `apiary-hosting-${process.pid}`),
      limits: cfg?.limits ?? DEFAULT_LIMITS,
      metrics: new ServingMetrics(() => deps.clock.nowMs()),
      random: cfg?.random ?? mathRandom,
      servingImages: cfg?.servingImages ?? {},
      pythonPath: cfg?.pythonPath ?? 'python3',
      bwrap: cfg?.bwrap ?? false,
      allowUnsandboxed: cfg?.allowUnsandboxed ?? true,
      hiddenPaths: cfg?.hiddenPaths,
      log: this.log,
      multiModelBudgetBytes: cfg?.multiModelBudgetBytes,
      serverlessIdleMs: cfg?.serverlessIdleMs,
      kubernetes: cfg?.kubernetes ? new KubernetesHosting(cfg.kubernetes) : undefined,
    });
    this.capture = new DataCapture({
      objects: deps.objects,
      random: cfg?.random ?? mathRandom,
      nowMs: () => deps.clock.nowMs(),
      flushIntervalMs: cfg?.captureFlushMs,
      log: this.log,
    });
    this.models = new ModelRepository(db as unknown as Kysely<ModelsTable>, deps.clock, deps.arn);
    this.endpointConfigs = new EndpointConfigRepository(
      db as unknown as Kysely<EndpointConfigsTable>,
      deps.clock,
      deps.arn,
    );
  }

  async createModel(input: {
    name: string;
    containers: readonly ModelContainer[];
    executionRoleArn: string | undefined;
    request: Record<string, unknown>;
    tags: readonly { key: string; value: string }[];
  }) {
    if (input.containers.length === 0) {
      throw new AppError(
        ErrorCodes.Validation,
        'Either PrimaryContainer or Containers must be specified',
      );
    }
    for (const c of input.containers) {
      if (c.modelDataUrl !== undefined) parseS3Uri(c.modelDataUrl, 'ModelDataUrl');
    }
    const record = await this.models.create(input);
    await this.deps.tags.add(record.arn, input.tags);
    return record;
  }

  async deleteModel(name: string): Promise<void> {
    const arn = this.models.arnOf(name);
    await this.models.delete(name);
    await this.deps.tags.removeAll(arn);
  }

  async createEndpointConfig(input: {
    name: string;
    variants: readonly VariantSpec[];
    dataCapture?: Record<string, unknown>;
    request: Record<string, unknown>;
    tags: readonly { key: string; value: string }[];
  }) {
    validateEndpointConfigExtras(input.variants, input.dataCapture);
    const names = new Set<string>();
    for (const v of input.variants) {
      if (names.has(v.variantName.toLowerCase())) {
        throw new AppError(
          ErrorCodes.Validation,
          `The variant name '${v.variantName}' is used more than once; variant names must be unique`,
        );
      }
      names.add(v.variantName.toLowerCase());
      if (!(await this.models.find(v.modelName))) {
        throw new AppError(
          ErrorCodes.Validation,
          `Could not find model "${this.models.arnOf(v.modelName)}".`,
        );
      }
    }
    const record = await this.endpointConfigs.create(input);
    await this.deps.tags.add(record.arn, input.tags);
    return record;
  }

  async deleteEndpointConfig(name: string): Promise<void> {
    const arn = this.endpointConfigs.arnOf(name);
    await this.endpointConfigs.delete(name);
    await this.deps.tags.removeAll(arn);
  }

  /** Whether an ARN names a hosting resource that exists (for tag operations). */
  async arnExists(arn: string): Promise<boolean | undefined> {
    const parsed = parseSagemakerArn(arn);
    if (!parsed) return undefined;
    if (parsed.type === 'model') return (await this.models.find(parsed.name)) !== undefined;
    if (parsed.type === 'endpoint-config') {
      return (await this.endpointConfigs.find(parsed.name)) !== undefined;
    }
    if (parsed.type === 'endpoint') return (await this.endpoints.find(parsed.name)) !== undefined;
    return undefined;
  }

  // ---- endpoints -------------------------------------------------------------------------------

  /** Serialises lifecycle work per endpoint (create, update, delete never interleave). */
  private async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const key = name.toLowerCase();
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.catch(() => {});
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  private track(p: Promise<unknown>): Promise<unknown> {
    const t = p.catch((e) => this.log(`hosting background task failed: ${(e as Error).message}`));
    this.background.add(t);
    void t.finally(() => this.background.delete(t));
    return t;
  }

  /** Lets a quick deployment finish before the API answers, so the first waiter poll sees it. */
  private async waitBriefly(p: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([p, new Promise((r) => (timer = setTimeout(r, this.createWaitMs)))]);
    clearTimeout(timer);
  }

  /** The variants of a config with their models. @throws ValidationException for a missing model. */
  private async planVariants(config: EndpointConfigRecord): Promise<VariantState[]> {
    const states: VariantState[] = [];
    for (const v of config.variants) {
      const model = await this.models.find(v.modelName);
      if (!model) {
        throw new AppError(
          ErrorCodes.Validation,
          `Could not find model "${this.models.arnOf(v.modelName)}".`,
        );
      }
      states.push({
        variantName: v.variantName,
        modelName: model.name,
        currentWeight: v.initialVariantWeight,
        desiredWeight: v.initialVariantWeight,
        currentInstanceCount: 0,
        desiredInstanceCount: v.initialInstanceCount,
        instanceType: v.instanceType,
        image: model.containers[0]?.image,
        shadow: v.shadow,
        serverless: v.serverless,
      });
    }
    return states;
  }

  private async deployments(
    states: readonly VariantState[],
    use: 'desired' | 'current',
  ): Promise<VariantDeployment[]> {
    const out: VariantDeployment[] = [];
    for (const s of states) {
      const model = await this.models.find(s.modelName);
      if (!model)
        throw new DeployError(
          `Could not find model "${this.models.arnOf(s.modelName)}"; it was deleted before the endpoint could use it.`,
        );
      out.push({
        variantName: s.variantName,
        model,
        instanceCount: use === 'desired' ? s.desiredInstanceCount : s.currentInstanceCount,
        instanceType: s.instanceType,
        weight: use === 'desired' ? s.desiredWeight : s.currentWeight,
        shadow: s.shadow,
        serverless: s.serverless,
      });
    }
    return out;
  }

  private reasonOf(e: unknown): string {
    if (e instanceof DeployError || e instanceof AppError) return e.message.slice(0, 1024);
    this.log(`endpoint deployment failed unexpectedly: ${(e as Error)?.stack ?? String(e)}`);
    return 'The endpoint could not be deployed because of an internal error; see the Apiary server log.';
  }

  private static settled(
    states: readonly VariantState[],
    counts?: ReadonlyMap<string, number>,
  ): VariantState[] {
    return states.map((v) => ({
      ...v,
      currentWeight: v.desiredWeight,
      currentInstanceCount: counts?.get(v.variantName) ?? v.desiredInstanceCount,
    }));
  }

  async createEndpoint(input: {
    name: string;
    configName: string;
    deploymentConfig: Record<string, unknown> | undefined;
    request: Record<string, unknown>;
    tags: readonly { key: string; value: string }[];
  }): Promise<EndpointRecord> {
    const config = await this.endpointConfigs.get(input.configName);
    const variants = await this.planVariants(config);
    planDeployment(
      input.deploymentConfig as WireDeploymentConfig | undefined,
      variants.reduce((n, v) => n + v.desiredInstanceCount, 0),
    );
    const record = await this.endpoints.create({
      name: input.name,
      configName: config.name,
      variants,
      request: input.request,
      deploymentConfig: input.deploymentConfig,
    });
    await this.deps.tags.add(record.arn, input.tags);
    await this.claim(record.name);
    await this.waitBriefly(
      this.track(this.withLock(record.name, () => this.runCreate(record.name))),
    );
    return record;
  }

  /** Creating → InService (fleet built and routed) | Failed (with the reason). */
  private async runCreate(name: string): Promise<void> {
    const current = await this.endpoints.find(name);
    if (!current || current.status !== 'Creating') return;
    let fleet: Fleet;
    try {
      fleet = await this.serving.build(
        current.name,
        await this.deployments(current.variants, 'desired'),
      );
    } catch (e) {
      await this.endpoints.update(
        name,
        { status: 'Failed', failureReason: this.reasonOf(e) },
        'fail',
      );
      return;
    }
    if (this.closing) {
      await fleet.stop(0);
      return;
    }
    await this.serving.activate(current.name, fleet);
    try {
      await this.endpoints.update(
        name,
        { status: 'InService', variants: Hosting.settled(current.variants) },
        'activate',
      );
    } catch (e) {
      await this.serving.undeploy(current.name); // deleted meanwhile
      throw e;
    }
  }

  /** Any status but Deleting → Deleting → gone. The fleet drains its in-flight requests first. */
  async deleteEndpoint(name: string): Promise<void> {
    const record = await this.endpoints.get(name);
    if (record.status !== 'Deleting')
      await this.endpoints.update(name, { status: 'Deleting' }, 'delete');
    this.deploymentAborts.get(name.toLowerCase())?.abort();
    await this.withLock(name, async () => {
      await this.serving.undeploy(record.name);
      await this.deploymentLog.forget(record.name);
      await this.serving.purge(record.name);
      await this.endpoints.delete(name);
      await this.deps.tags.removeAll(record.arn);
    });
    this.release(record.name);
  }

  /** Who holds an endpoint's fleet: this replica, a peer (forward its invocations there), or nobody. */
  async owner(
    name: string,
  ): Promise<
    { kind: 'self' } | { kind: 'peer'; replicaId: string; url: string } | { kind: 'none' }
  > {
    if (!this.deps.coordinator || this.serving.fleet(name)) return { kind: 'self' };
    return this.deps.coordinator.ownerOf(endpointLease(name));
  }

  private async claim(name: string): Promise<boolean> {
    const c = this.deps.coordinator;
    if (!c) return true;
    return c.own(endpointLease(name), { lost: () => void this.lost(name) });
  }

  /** Another replica took the endpoint over (our lease expired): stop serving it here. */
  private async lost(name: string): Promise<void> {
    this.log(`endpoint ${name}: another replica took its fleet over; stopping it here`);
    await this.withLock(name, () => this.serving.undeploy(name)).catch(() => {});
  }

  private release(name: string): void {
    this.deps.coordinator?.disown(endpointLease(name)).catch(() => {});
  }

  /**
   * InService → Updating → InService. Weights change live (the next request sees them); instance
   * counts scale up before weights grow and after they shrink, so no request meets an empty variant.
   * A failed scale-out rolls back and leaves a FailureReason.
   */
  async updateWeightsAndCapacities(
    name: string,
    desired: readonly {
      variantName: string;
      weight: number | undefined;
      instanceCount: number | undefined;
    }[],
  ): Promise<EndpointRecord> {
    const record = await this.endpoints.get(name);
    assertTransition(record.arn, record.status, 'Updating', 'update');
    const seen = new Set<string>();
    for (const d of desired) {
      const v = record.variants.find((x) => x.variantName === d.variantName);
      if (!v) {
        throw new AppError(
          ErrorCodes.Validation,
          `The variant name(s) [${d.variantName}] is/are not present in endpoint "${record.arn}"; its variants are ${record.variants.map((x) => x.variantName).join(', ')}.`,
        );
      }
      if (seen.has(d.variantName))
        throw new AppError(
          ErrorCodes.Validation,
          `The variant name ${d.variantName} appears more than once in DesiredWeightsAndCapacities.`,
        );
      seen.add(d.variantName);
      if (d.weight === undefined && d.instanceCount === undefined) {
        throw new AppError(
          ErrorCodes.Validation,
          `Variant ${d.variantName}: specify DesiredWeight, DesiredInstanceCount or both.`,
        );
      }
      const weight = d.weight ?? v.currentWeight;
      if (d.instanceCount === 0 && weight > 0) {
        throw new AppError(
          ErrorCodes.Validation,
          `Variant ${d.variantName}: DesiredInstanceCount 0 needs DesiredWeight 0, or requests would be routed to a variant with no instances.`,
        );
      }
    }
    const target = record.variants.map((v) => {
      const d = desired.find((x) => x.variantName === v.variantName);
      return d
        ? {
            ...v,
            desiredWeight: d.weight ?? v.currentWeight,
            desiredInstanceCount: d.instanceCount ?? v.currentInstanceCount,
          }
        : v;
    });
    await this.endpoints.update(
      name,
      { status: 'Updating', variants: target, failureReason: null },
      'update',
    );
    const task = this.track(
      this.withLock(name, async () => {
        const ep = record.name;
        for (const v of target)
          if (v.desiredWeight <= v.currentWeight)
            this.serving.setWeight(ep, v.variantName, v.desiredWeight);
        try {
          for (const v of target) {
            if (v.desiredInstanceCount !== v.currentInstanceCount)
              await this.serving.scale(ep, v.variantName, v.desiredInstanceCount);
          }
        } catch (e) {
          for (const v of target) {
            await this.serving.scale(ep, v.variantName, v.currentInstanceCount).catch(() => {});
            this.serving.setWeight(ep, v.variantName, v.currentWeight);
          }
          const rolledBack = target.map((v) => ({
            ...v,
            desiredWeight: v.currentWeight,
            desiredInstanceCount: v.currentInstanceCount,
          }));
          await this.endpoints.update(
            name,
            { status: 'InService', variants: rolledBack, failureReason: this.reasonOf(e) },
            'roll back',
          );
          return;
        }
        for (const v of target) this.serving.setWeight(ep, v.variantName, v.desiredWeight);
        await this.endpoints.update(
          name,
          { status: 'InService', variants: Hosting.settled(target) },
          'update',
        );
      }),
    );
    await this.waitBriefly(task);
    return record;
  }

  /**
   * Blue/green ALL_AT_ONCE: builds a new fleet from the new config while the old one serves, then
   * switches all traffic at once and drains the old fleet. A failed build leaves the old fleet
   * serving, the endpoint InService and a FailureReason.
   */
  async updateEndpoint(input: {
    name: string;
    configName: string;
    retainAllVariantProperties: boolean;
    excludeRetained: readonly string[];
    deploymentConfig: Record<string, unknown> | undefined;
    retainDeploymentConfig: boolean;
  }): Promise<EndpointRecord> {
    const record = await this.endpoints.get(input.name);
    assertTransition(record.arn, record.status, 'Updating', 'update');
    const config = await this.endpointConfigs.get(input.configName);
    let target = await this.planVariants(config);
    if (input.retainAllVariantProperties) {
      target = target.map((v) => {
        const old = record.variants.find((o) => o.variantName === v.variantName);
        if (!old) return v;
        return {
          ...v,
          desiredWeight: input.excludeRetained.includes('DesiredWeight')
            ? v.desiredWeight
            : old.currentWeight,
          desiredInstanceCount: input.excludeRetained.includes('DesiredInstanceCount')
            ? v.desiredInstanceCount
            : old.currentInstanceCount,
        };
      });
    }
    const deploymentConfig =
      input.deploymentConfig ??
      (input.retainDeploymentConfig ? record.lastDeploymentConfig : undefined);
    const plan = planDeployment(
      deploymentConfig as WireDeploymentConfig | undefined,
      target.reduce((n, v) => n + v.desiredInstanceCount, 0),
    );
    const startedAtMs = this.deps.clock.nowMs();
    await this.endpoints.update(
      input.name,
      {
        status: 'Updating',
        failureReason: null,
        pending: { configName: config.name, startedAtMs, variants: target, kind: plan.kind },
      },
      'update',
    );
    const key = record.name.toLowerCase();
    const abort = new AbortController();
    this.deploymentAborts.set(key, abort);
    let built!: () => void;
    const fleetBuilt = new Promise<void>((r) => (built = r));
    const task = this.track(
      this.withLock(input.name, () =>
        runBlueGreenUpdate({
          endpoint: record.name,
          configName: config.name,
          target,
          plan,
          deploymentConfig: deploymentConfig as Record<string, unknown> | undefined,
          startedAtMs,
          clock: this.deps.clock,
          endpoints: this.endpoints,
          serving: this.serving,
          log: this.deploymentLog,
          build: async () =>
            this.serving.build(record.name, await this.deployments(target, 'desired')),
          alarmStates: this.deps.alarmStates ?? (async () => new Map()),
          pollMs: this.deps.deploymentPollMs ?? 1_000,
          signal: abort.signal,
          reasonOf: (e) => this.reasonOf(e),
          settled: (states) => Hosting.settled(states),
          built,
        }),
      ).finally(() => {
        if (this.deploymentAborts.get(key) === abort) this.deploymentAborts.delete(key);
      }),
    );
    // Answer once the new fleet is up (an ALL_AT_ONCE update without bake is done by then too).
    await this.waitBriefly(
      Promise.race([task, fleetBuilt.then(() => new Promise((r) => setImmediate(r)))]),
    );
    return record;
  }

  private readonly restoring = new Map<string, Promise<unknown>>();

  /**
   * Brings back what was running before a restart: InService endpoints are rebuilt from their
   * current variants (they stay InService; invocations wait for the fleet), Creating ones carry on,
   * an Updating one returns to its old fleet, a Deleting one is finished.
   */
  async start(): Promise<void> {
    await this.serving.resetWorkDir();
    await this.takeOver();
    this.deps.coordinator?.onHeartbeat(() => this.takeOver());
  }

  /**
   * Restores every endpoint no live replica holds: at start, and at every heartbeat when several
   * replicas share the database (a dead replica's endpoints come back on a live one after the TTL).
   */
  private async takeOver(): Promise<void> {
    if (this.closing) return;
    for (const rec of await this.endpoints.all()) {
      const key = rec.name.toLowerCase();
      if (this.serving.fleet(rec.name) || this.restoring.has(key) || this.locks.has(key)) continue;
      if (rec.status === 'Failed') continue;
      if (!(await this.claim(rec.name))) continue;
      await this.restore(rec);
    }
  }

  private async restore(rec: EndpointRecord): Promise<void> {
    if (rec.status === 'Deleting') {
      await this.serving.purge(rec.name);
      await this.endpoints.delete(rec.name);
      await this.deps.tags.removeAll(rec.arn);
      this.release(rec.name);
    } else if (rec.status === 'Creating') {
      void this.track(this.withLock(rec.name, () => this.runCreate(rec.name)));
    } else if (
      rec.status === 'InService' ||
      rec.status === 'Updating' ||
      rec.status === 'RollingBack' ||
      rec.status === 'UpdateRollbackFailed'
    ) {
      // An update cut short by a restart is rolled back (never resumed): the old fleet is
      // rebuilt from the current variants, and the new one was never promoted.
      if (rec.status === 'Updating' || rec.status === 'RollingBack') {
        const why =
          'The update was interrupted by a restart of Apiary; it was rolled back and the endpoint kept its previous configuration.';
        const back = rec.variants.map((v) => ({
          ...v,
          desiredWeight: v.currentWeight,
          desiredInstanceCount: v.currentInstanceCount,
        }));
        if (rec.status === 'Updating' && rec.pending?.phase !== undefined)
          await this.endpoints.update(rec.name, { status: 'RollingBack' }, 'restore');
        await this.endpoints.update(
          rec.name,
          {
            status: 'InService',
            variants: back,
            pending: null,
            failureReason: rec.status === 'RollingBack' ? (rec.failureReason ?? why) : why,
          },
          'restore',
        );
        await this.deploymentLog.interrupt(rec.name, why, this.deps.clock.nowMs());
      }
      const key = rec.name.toLowerCase();
      const p = this.track(
        this.withLock(rec.name, async () => {
          try {
            const fleet = await this.serving.build(
              rec.name,
              await this.deployments(rec.variants, 'current'),
            );
            if (this.closing) {
              await fleet.stop(0);
              return;
            }
            await this.serving.activate(rec.name, fleet);
          } catch (e) {
            if (rec.status === 'UpdateRollbackFailed') return;
            await this.endpoints.update(
              rec.name,
              { status: 'Failed', failureReason: `After a restart: ${this.reasonOf(e)}` },
              'fail',
            );
          }
        }),
      ).finally(() => this.restoring.delete(key));
      this.restoring.set(key, p);
    }
  }

  /**
   * InvokeEndpoint. @throws InvokeError: ValidationError for an unknown or not-in-service endpoint
   * (`Endpoint <name> of account <acct> not found.`), and whatever the variant answers.
   */
  async invoke(
    name: string,
    targetVariant: string | undefined,
    req: InvokeRequest,
  ): Promise<{ variant: string; response: InvokeResponse }> {
    if (!this.serving.fleet(name)) {
      const restoring = this.restoring.get(name.toLowerCase());
      if (restoring) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([restoring, new Promise((r) => (timer = setTimeout(r, 30_000)))]);
        clearTimeout(timer);
      }
      if (!this.serving.fleet(name)) {
        const rec = await this.endpoints.find(name);
        if (!rec)
          throw new InvokeError(
            'ValidationError',
            `Endpoint ${name} of account ${this.deps.arn.accountId} not found.`,
          );
        if (rec.status === 'InService') {
          throw new InvokeError(
            'ModelNotReadyException',
            `Endpoint ${name} is still loading its model after a restart; retry shortly.`,
            { retryAfterSeconds: 1 },
          );
        }
        throw new InvokeError(
          'ValidationError',
          `Endpoint ${name} of account ${this.deps.arn.accountId} is not in service (status ${rec.status}${rec.failureReason ? `: ${rec.failureReason}` : ''}).`,
        );
      }
    }
    const fleet = this.serving.fleet(name);
    const result = await this.serving.invoke(name, targetVariant, req);
    if (fleet)
      void this.captureFor(fleet).then(
        (cfg) =>
          cfg && this.capture.record(cfg, fleet.endpoint, result.variant, req, result.response),
      );
    return result;
  }

  /** The DataCaptureConfig of the endpoint config a fleet was built from (looked up once per fleet). */
  private captureFor(fleet: Fleet): Promise<CaptureConfig | undefined> {
    let p = this.captureConfigs.get(fleet);
    if (!p) {
      p = (async () => {
        const rec = await this.endpoints.find(fleet.endpoint);
        const config = rec && (await this.endpointConfigs.find(rec.configName));
        return captureConfigFromWire(config?.request.DataCaptureConfig);
      })().catch(() => undefined);
      this.captureConfigs.set(fleet, p);
    }
    return p;
  }

  /** DescribeEndpoint's DataCaptureConfig: the summary of the endpoint config's, if it has one. */
  async dataCaptureSummary(rec: EndpointRecord): Promise<Record<string, unknown> | undefined> {
    const config = await this.endpointConfigs.find(rec.configName);
    const cfg = captureConfigFromWire(config?.request.DataCaptureConfig);
    return cfg ? captureSummary(cfg) : undefined;
  }

  /** Shadow vs production, per shadow variant of an endpoint (the console's comparison). */
  shadowComparison(name: string): ShadowComparison[] {
    return this.serving.shadows.compare(name);
  }

  /**
   * Per variant: invocation/error counts per instance since start, recent latency percentiles, the
   * last invocation, and what its running instances hold (the console's endpoint view).
   */
  async endpointMetrics(
    name: string,
  ): Promise<Record<string, VariantCounts & { usage?: VariantUsage; shadow?: ShadowComparison }>> {
    const record = await this.endpoints.get(name);
    const fleet = this.serving.fleet(record.name);
    const usage = new Map(fleet?.variants.map((v) => [v.name, v.server.usage()]) ?? []);
    const counts = await this.serving.metrics.summary(record.name, [...usage.keys()]);
    const shadows = new Map(
      this.serving.shadows.compare(record.name).map((s) => [s.shadowVariant, s]),
    );
    return Object.fromEntries(
      Object.entries(counts).map(([variant, c]) => [
        variant,
        { ...c, usage: usage.get(variant), shadow: shadows.get(variant) },
      ]),
    );
  }

  /**
   * What every serving endpoint holds (instances, memory, threads) and when it was last invoked,
   * so idle endpoints stand out in the console.
   */
  async endpointsUsage(): Promise<EndpointUsage[]> {
    const out: EndpointUsage[] = [];
    for (const fleet of this.serving.fleets()) {
      const counts = await this.serving.metrics.summary(fleet.endpoint);
      let instances = 0;
      let memoryBytes = 0;
      let threads = 0;
      let lastInvocation: string | undefined;
      for (const v of fleet.variants) {
        const u = v.server.usage();
        instances += u.instances.length;
        for (const i of u.instances) {
          memoryBytes += i.memoryBytes;
          threads += i.threads ?? 0;
        }
        const last = counts[v.name]?.lastInvocationTime;
        if (last && (!lastInvocation || last > lastInvocation)) lastInvocation = last;
      }
      const invocations = Object.values(counts).reduce((n, c) => n + c.invocations, 0);
      out.push({
        EndpointName: fleet.endpoint,
        Variants: fleet.variants.length,
        Instances: instances,
        MemoryBytes: memoryBytes,
        Threads: threads,
        Invocations: invocations,
        LastInvocationTime: lastInvocation,
      });
    }
    return out.sort((a, b) => a.EndpointName.localeCompare(b.EndpointName));
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const a of this.deploymentAborts.values()) a.abort();
    await Promise.allSettled(this.background);
    await this.serving.close();
    await this.capture.close();
  }
}
