import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { parseSagemakerArn } from '../shared/arn.js';
import { ModelRepository, type ModelsTable } from './models.js';
import { EndpointConfigRepository, type EndpointConfigsTable } from './endpoint-configs.js';
import { EndpointRepository, type EndpointRecord, type EndpointsTable } from './endpoints.js';
import { assertTransition } from './endpoint-status.js';
import { restoreEndpoint, type RestoreHost } from './endpoint-restore.js';
import { EndpointTasks } from './endpoint-tasks.js';
import {
  deploymentFailureReason,
  planVariants,
  settledVariants,
  variantDeployments,
} from './fleet-plans.js';
import { InvokeError } from './runtime/errors.js';
import { KubernetesHosting } from './runtime/kubernetes/kubernetes-variant.js';
import type { Fleet } from './runtime/fleet.js';
import { ServingManager } from './runtime/serving.js';
import { ServingMetrics } from './runtime/metrics.js';
import type { InvokeRequest, InvokeResponse } from './runtime/variant-server.js';
import { mathRandom } from '../shared/random.js';
import { planDeployment, type WireDeploymentConfig } from './deployments/timeline.js';
import { runBlueGreenUpdate } from './deployments/blue-green.js';
import { DeploymentLog, type DeploymentsTable } from './deployments/log.js';
import {
  captureConfigFromWire,
  captureSummary,
  DataCapture,
  FleetCaptureConfigs,
} from './capture.js';
import type { ShadowComparison } from './shadow.js';
import { servingUsage, variantMetrics, type EndpointUsage } from './endpoint-views.js';
import { ModelRegistry } from './model-registry.js';
import {
  DEFAULT_LIMITS,
  endpointLease,
  type HostingDeps,
  type HostingServingConfig,
} from './hosting-config.js';
import { planWeightsAndCapacities, retainVariantProperties } from './variant-updates.js';
import { applyWeightsAndCapacities } from './capacity-update.js';
import { EndpointLeases, type EndpointOwner } from './endpoint-leases.js';

export { endpointLease, type HostingDeps, type HostingServingConfig };

export type { EndpointUsage };

/** The hosting context: models, endpoint configs and endpoints that serve. */
export class Hosting {
  readonly models: ModelRepository;
  readonly endpointConfigs: EndpointConfigRepository;
  readonly endpoints: EndpointRepository;
  readonly serving: ServingManager;
  /** The history of UpdateEndpoint deployments (traffic timeline, outcome, rollback reason). */
  readonly deploymentLog: DeploymentLog;
  private readonly registry: ModelRegistry;
  /** Deployments in progress, aborted by DeleteEndpoint and close. */
  private readonly deploymentAborts = new Map<string, AbortController>();
  /** Per-endpoint lifecycle chains and background tasks. */
  private readonly tasks: EndpointTasks;
  private readonly log: (msg: string) => void;
  private closing = false;
  /** Fleets being rebuilt after a restart, by lower-cased endpoint name. */
  private readonly restoring = new Map<string, Promise<unknown>>();
  private readonly restorer: RestoreHost;
  private readonly leases: EndpointLeases;
  /** DataCaptureConfig writer (off the request path). */
  readonly capture: DataCapture;
  /** Each live fleet's capture config, resolved once per fleet from its endpoint config. */
  private readonly captureConfigs = new FleetCaptureConfigs(async (endpoint) => {
    const rec = await this.endpoints.find(endpoint);
    const config = rec && (await this.endpointConfigs.find(rec.configName));
    return config?.request.DataCaptureConfig;
  });

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
    this.tasks = new EndpointTasks(cfg?.createWaitMs ?? 5_000, this.log);
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
    this.registry = new ModelRegistry(this.models, this.endpointConfigs, deps.tags);
    this.leases = new EndpointLeases(deps.coordinator, (name) => void this.lost(name));
    this.restorer = {
      serving: this.serving,
      endpoints: this.endpoints,
      models: this.models,
      deploymentLog: this.deploymentLog,
      tags: deps.tags,
      tasks: this.tasks,
      restoring: this.restoring,
      nowMs: () => deps.clock.nowMs(),
      closing: () => this.closing,
      runCreate: (name) => this.runCreate(name),
      release: (name) => this.release(name),
      reasonOf: (e) => this.reasonOf(e),
    };
  }

  /** CreateModel, CreateEndpointConfig and their deletes. */
  createModel(input: Parameters<ModelRegistry['createModel']>[0]) {
    return this.registry.createModel(input);
  }

  deleteModel(name: string): Promise<void> {
    return this.registry.deleteModel(name);
  }

  createEndpointConfig(input: Parameters<ModelRegistry['createEndpointConfig']>[0]) {
    return this.registry.createEndpointConfig(input);
  }

  deleteEndpointConfig(name: string): Promise<void> {
    return this.registry.deleteEndpointConfig(name);
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

  private reasonOf(e: unknown): string {
    return deploymentFailureReason(e, this.log);
  }

  async createEndpoint(input: {
    name: string;
    configName: string;
    deploymentConfig: Record<string, unknown> | undefined;
    request: Record<string, unknown>;
    tags: readonly { key: string; value: string }[];
  }): Promise<EndpointRecord> {
    const config = await this.endpointConfigs.get(input.configName);
    const variants = await planVariants(this.models, config);
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
    await this.tasks.waitBriefly(
      this.tasks.track(this.tasks.withLock(record.name, () => this.runCreate(record.name))),
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
        await variantDeployments(this.models, current.variants, 'desired'),
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
        { status: 'InService', variants: settledVariants(current.variants) },
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
    await this.tasks.withLock(name, async () => {
      await this.serving.undeploy(record.name);
      await this.deploymentLog.forget(record.name);
      await this.serving.purge(record.name);
      await this.endpoints.delete(name);
      await this.deps.tags.removeAll(record.arn);
    });
    this.release(record.name);
  }

  /** Who holds an endpoint's fleet: this replica, a peer (forward its invocations there), or nobody. */
  owner(name: string): Promise<EndpointOwner> {
    return this.leases.owner(name, this.serving.fleet(name) !== undefined);
  }

  private claim(name: string): Promise<boolean> {
    return this.leases.claim(name);
  }

  /** Another replica took the endpoint over (our lease expired): stop serving it here. */
  private async lost(name: string): Promise<void> {
    this.log(`endpoint ${name}: another replica took its fleet over; stopping it here`);
    await this.tasks.withLock(name, () => this.serving.undeploy(name)).catch(() => {});
  }

  private release(name: string): void {
    this.leases.release(name);
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
    const target = planWeightsAndCapacities(record, desired);
    await this.endpoints.update(
      name,
      { status: 'Updating', variants: target, failureReason: null },
      'update',
    );
    const task = this.tasks.track(
      this.tasks.withLock(name, () =>
        applyWeightsAndCapacities(
          { serving: this.serving, endpoints: this.endpoints, reasonOf: (e) => this.reasonOf(e) },
          record.name,
          target,
        ),
      ),
    );
    await this.tasks.waitBriefly(task);
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
    let target = await planVariants(this.models, config);
    if (input.retainAllVariantProperties)
      target = retainVariantProperties(target, record.variants, input.excludeRetained);
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
    const task = this.tasks.track(
      this.tasks
        .withLock(input.name, () =>
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
              this.serving.build(
                record.name,
                await variantDeployments(this.models, target, 'desired'),
              ),
            alarmStates: this.deps.alarmStates ?? (async () => new Map()),
            pollMs: this.deps.deploymentPollMs ?? 1_000,
            signal: abort.signal,
            reasonOf: (e) => this.reasonOf(e),
            settled: (states) => settledVariants(states),
            built,
          }),
        )
        .finally(() => {
          if (this.deploymentAborts.get(key) === abort) this.deploymentAborts.delete(key);
        }),
    );
    // Answer once the new fleet is up (an ALL_AT_ONCE update without bake is done by then too).
    await this.tasks.waitBriefly(
      Promise.race([task, fleetBuilt.then(() => new Promise((r) => setImmediate(r)))]),
    );
    return record;
  }

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
      if (this.serving.fleet(rec.name) || this.restoring.has(key) || this.tasks.busy(key)) continue;
      if (rec.status === 'Failed') continue;
      if (!(await this.claim(rec.name))) continue;
      await restoreEndpoint(this.restorer, rec);
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
      void this.captureConfigs
        .of(fleet)
        .then(
          (cfg) =>
            cfg && this.capture.record(cfg, fleet.endpoint, result.variant, req, result.response),
        );
    return result;
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
  async endpointMetrics(name: string): ReturnType<typeof variantMetrics> {
    const record = await this.endpoints.get(name);
    return variantMetrics(this.serving, record.name);
  }

  /** What every serving endpoint holds and when it was last invoked (the console's list). */
  endpointsUsage(): Promise<EndpointUsage[]> {
    return servingUsage(this.serving);
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const a of this.deploymentAborts.values()) a.abort();
    await this.tasks.settle();
    await this.serving.close();
    await this.capture.close();
  }
}
