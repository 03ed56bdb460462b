import fsp from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { InvokeError } from './errors.js';
import type { Fleet, LiveVariant, VariantDeployment } from './fleet.js';
import { FleetBuilder, type ServingOptions } from './fleet-builder.js';
import type { ServingMetrics } from './metrics.js';
import { pickVariant } from './router.js';
import { MultiModelVariant } from './multi-model.js';
import { ShadowMirror } from '../shadow.js';
import type { InvokeRequest, InvokeResponse } from './variant-server.js';
import { KubernetesVariant } from './kubernetes/kubernetes-variant.js';

/**
 * The local serving runtime: builds fleets (`FleetBuilder`: artifact → instances), routes
 * invocations by weight or TargetVariant, and keeps the live fleet of each endpoint.
 */
export class ServingManager {
  private readonly live = new Map<string, Fleet>();
  /** A blue/green update in progress: the new fleet and the share of traffic it gets (0–1). */
  private readonly shifting = new Map<string, { fleet: Fleet; fraction: number }>();
  /** Told of every finished invocation (CloudWatch's per-minute datapoints). */
  private listener:
    | ((o: {
        endpoint: string;
        variant: string;
        status: number;
        modelLatencyUs?: number;
        overheadLatencyUs?: number;
      }) => void)
    | undefined;
  /** Copies traffic to shadow variants and compares their answers with production's. */
  readonly shadows: ShadowMirror;
  private readonly builder: FleetBuilder;

  constructor(private readonly opts: ServingOptions) {
    this.builder = new FleetBuilder(opts);
    const m = opts.metrics;
    this.shadows = new ShadowMirror(
      opts.random,
      (endpoint, variant, res, totalUs) => {
        m.invocations.inc({ endpoint, variant, instance: res.instanceId });
        m.recordAnswered(endpoint, variant, totalUs, res.modelLatencyUs);
      },
      (endpoint, variant, err) => {
        m.recordFailed(endpoint, variant);
        const where = { endpoint, variant, instance: err.instanceId ?? 'none' };
        if (err.status >= 500 || err.code === 'ModelError') m.errors5xx.inc(where);
        else m.errors4xx.inc(where);
      },
    );
  }

  /** Removes model directories left by a previous process (called before restoring endpoints). */
  async resetWorkDir(): Promise<void> {
    await fsp.rm(path.join(this.opts.workDir, 'models'), { recursive: true, force: true });
  }

  get metrics(): ServingMetrics {
    return this.opts.metrics;
  }

  /** Builds and starts every variant; nothing is routed to it until {@link activate}. @throws DeployError */
  build(endpoint: string, variants: readonly VariantDeployment[]): Promise<Fleet> {
    return this.builder.build(endpoint, variants);
  }

  /** Routes the endpoint's traffic to `fleet`; the previous fleet drains and stops. */
  async activate(endpoint: string, fleet: Fleet): Promise<void> {
    const key = endpoint.toLowerCase();
    const old = this.live.get(key);
    this.live.set(key, fleet);
    if (old && old !== fleet) await old.stop();
    // Objects of builds this process no longer holds (a crash mid-build, a restart) go now.
    const k8s = this.opts.kubernetes;
    if (k8s) {
      const keep = fleet.variants.flatMap((v) =>
        v.server instanceof KubernetesVariant ? [v.server.name] : [],
      );
      await k8s
        .removeOthers(endpoint, keep)
        .catch((e) =>
          this.opts.log?.(
            `endpoint ${endpoint}: removing stale Kubernetes objects failed: ${(e as Error).message}`,
          ),
        );
    }
  }

  /** Reports each finished invocation to `fn` (one listener). */
  onInvocation(fn: NonNullable<ServingManager['listener']>): void {
    this.listener = fn;
  }

  /** Starts a blue/green shift: `fleet` is routed nothing until {@link setShift} gives it a share. */
  beginShift(endpoint: string, fleet: Fleet): void {
    this.shifting.set(endpoint.toLowerCase(), { fleet, fraction: 0 });
  }

  /** The new fleet's share of traffic, 0–100, live (the next request sees it). */
  setShift(endpoint: string, percent: number): void {
    const s = this.shifting.get(endpoint.toLowerCase());
    if (s) s.fraction = Math.min(1, Math.max(0, percent / 100));
  }

  /** The new fleet of a shift in progress. */
  shiftingFleet(endpoint: string): Fleet | undefined {
    return this.shifting.get(endpoint.toLowerCase())?.fleet;
  }

  /**
   * Ends a shift: `promote` makes the new fleet the live one and drains the old one; otherwise
   * (rollback) every request goes to the old fleet again and the new one drains and stops.
   */
  async endShift(endpoint: string, promote: boolean): Promise<void> {
    const key = endpoint.toLowerCase();
    const s = this.shifting.get(key);
    if (!s) return;
    if (promote) {
      const old = this.live.get(key);
      this.live.set(key, s.fleet);
      this.shifting.delete(key);
      if (old && old !== s.fleet) await old.stop();
    } else {
      this.shifting.delete(key);
      await s.fleet.stop();
    }
  }

  /** Stops routing to the endpoint and stops its fleet (in-flight requests finish). */
  async undeploy(endpoint: string): Promise<void> {
    const key = endpoint.toLowerCase();
    const old = this.live.get(key);
    this.live.delete(key);
    if (old) await old.stop();
    await this.endShift(endpoint, false);
    await this.opts.metrics.forget(endpoint);
    this.shadows.forget(endpoint);
  }

  fleet(endpoint: string): Fleet | undefined {
    return this.live.get(endpoint.toLowerCase());
  }

  /** Every fleet that serves now. */
  fleets(): Fleet[] {
    return [...this.live.values()];
  }

  /** Live weight change: the next request sees the new weights; none in flight is disturbed. */
  setWeight(endpoint: string, variant: string, weight: number): void {
    const v = this.fleet(endpoint)?.find(variant);
    if (v) v.weight = weight;
  }

  async scale(endpoint: string, variant: string, count: number): Promise<void> {
    const v = this.fleet(endpoint)?.find(variant);
    if (v) await v.server.scale(count);
  }

  /**
   * Serves one invocation. @returns the variant that answered and the response.
   * @throws InvokeError (ValidationError for an unknown TargetVariant; whatever the variant throws)
   */
  async invoke(
    endpoint: string,
    targetVariant: string | undefined,
    req: InvokeRequest,
  ): Promise<{ variant: string; response: InvokeResponse }> {
    const live = this.live.get(endpoint.toLowerCase());
    if (!live) throw new InvokeError('ValidationError', `Endpoint ${endpoint} is not serving.`);
    const shift = this.shifting.get(endpoint.toLowerCase());
    const toNew =
      shift !== undefined &&
      shift.fraction > 0 &&
      (shift.fraction >= 1 || this.opts.random.next() < shift.fraction);
    const fleet = toNew ? shift.fleet : live;
    let chosen: LiveVariant | undefined;
    const production = fleet.variants.filter((v) => !v.shadow);
    if (targetVariant !== undefined) {
      // A variant only one of the two fleets has is served by that fleet.
      chosen =
        fleet.find(targetVariant) ??
        (shift ? (toNew ? live : shift.fleet).find(targetVariant) : undefined);
      if (!chosen || chosen.shadow) {
        throw new InvokeError(
          'ValidationError',
          `The TargetVariant '${targetVariant}' is not a production variant of endpoint ${endpoint}; its variants are ${production.map((v) => v.name).join(', ')}.`,
        );
      }
    } else {
      chosen = pickVariant(production, this.opts.random);
      if (!chosen) {
        throw new InvokeError(
          'ValidationError',
          `Every production variant of endpoint ${endpoint} has weight 0; set a weight with UpdateEndpointWeightsAndCapacities or pin a variant with TargetVariant.`,
        );
      }
    }
    if (req.targetModel !== undefined && !(chosen.server instanceof MultiModelVariant)) {
      throw new InvokeError(
        'ValidationError',
        `Endpoint ${endpoint} is not a multi-model endpoint and does not support target model header.`,
      );
    }
    const m = this.opts.metrics;
    const labels = { endpoint, variant: chosen.name };
    try {
      const response = await chosen.server.invoke(req);
      m.invocations.inc({ ...labels, instance: response.instanceId });
      const totalUs = (performance.now() - req.receivedAt) * 1000;
      m.overheadLatency.observe(
        { ...labels, instance: response.instanceId },
        Math.max(0, totalUs - response.modelLatencyUs),
      );
      m.recordAnswered(endpoint, chosen.name, totalUs, response.modelLatencyUs);
      this.listener?.({
        endpoint,
        variant: chosen.name,
        status: 200,
        modelLatencyUs: response.modelLatencyUs,
        overheadLatencyUs: Math.max(0, totalUs - response.modelLatencyUs),
      });
      if (production.length < fleet.variants.length)
        this.mirror(endpoint, fleet, chosen, production, totalUs / 1000, req, response);
      return { variant: chosen.name, response };
    } catch (e) {
      const err =
        e instanceof InvokeError
          ? e
          : new InvokeError('InternalFailure', 'The request failed because of an internal error.', {
              cause: e,
            });
      const status = err.code === 'ModelError' ? (err.extra.originalStatusCode ?? 500) : err.status;
      const where = { ...labels, instance: err.instanceId ?? 'none' };
      m.recordFailed(endpoint, chosen.name);
      this.listener?.({ endpoint, variant: chosen.name, status });
      if (err.code === 'ModelError') m.modelErrors.inc(where);
      if (status >= 500 || status === 0) m.errors5xx.inc(where);
      else if (status >= 400) m.errors4xx.inc(where);
      (err as { variant?: string }).variant = chosen.name;
      throw err;
    }
  }

  /** Sends a copy of an answered request to the fleet's shadow variants (answers discarded). */
  private mirror(
    endpoint: string,
    fleet: Fleet,
    chosen: LiveVariant,
    production: readonly LiveVariant[],
    prodMs: number,
    req: InvokeRequest,
    res: InvokeResponse,
  ): void {
    const prodWeight = production.reduce((n, v) => n + Math.max(0, v.weight), 0);
    const shadows = fleet.variants
      .filter((v) => v.shadow)
      .map((v) => ({
        name: v.name,
        server: v.server,
        sampling: prodWeight > 0 ? Math.min(1, v.weight / prodWeight) : 1,
      }));
    this.shadows.mirror(endpoint, chosen.name, prodMs, req, res, shadows);
  }

  /**
   * DeleteEndpoint on Kubernetes: removes every Deployment and Service of the endpoint, also those
   * of builds no process holds any more (a crash mid-build). Not on a lost lease: the new owner's
   * objects carry the same endpoint label.
   */
  async purge(endpoint: string): Promise<void> {
    await this.opts.kubernetes?.removeOthers(endpoint);
  }

  async close(): Promise<void> {
    const all = [...this.live.values(), ...[...this.shifting.values()].map((s) => s.fleet)];
    this.live.clear();
    this.shifting.clear();
    // Pods on Kubernetes outlive this process: the next owner builds anew and removes them once
    // its build is ready, so a restart of Apiary takes no capacity away before then.
    await Promise.all(all.map((f) => (this.opts.kubernetes ? f.detach(5_000) : f.stop(5_000))));
  }
}
