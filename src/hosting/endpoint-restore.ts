import type { TagRepository } from '../store/index.js';
import type { DeploymentLog } from './deployments/log.js';
import type { EndpointTasks } from './endpoint-tasks.js';
import type { EndpointRecord, EndpointRepository } from './endpoints.js';
import { variantDeployments } from './fleet-plans.js';
import type { ModelRepository } from './models.js';
import type { ServingManager } from './runtime/serving.js';

/** What restoring an endpoint after a restart needs from the hosting context. */
export interface RestoreHost {
  readonly serving: ServingManager;
  readonly endpoints: EndpointRepository;
  readonly models: ModelRepository;
  readonly deploymentLog: DeploymentLog;
  readonly tags: TagRepository;
  readonly tasks: EndpointTasks;
  /** Fleets being rebuilt, by lower-cased endpoint name (invocations wait for them). */
  readonly restoring: Map<string, Promise<unknown>>;
  nowMs(): number;
  /** Whether the context is closing (a fleet built now is stopped at once). */
  closing(): boolean;
  /** Creating → InService | Failed, as CreateEndpoint runs it. */
  runCreate(name: string): Promise<void>;
  /** Gives the endpoint's lease back. */
  release(name: string): void;
  reasonOf(e: unknown): string;
}

/**
 * Brings one endpoint back after a restart (or a take-over from a dead replica): a Deleting one is
 * finished, a Creating one carries on, an InService one is rebuilt from its current variants, and
 * an update cut short is rolled back to the old fleet (never resumed).
 */
export async function restoreEndpoint(host: RestoreHost, rec: EndpointRecord): Promise<void> {
  if (rec.status === 'Deleting') {
    await host.serving.purge(rec.name);
    await host.endpoints.delete(rec.name);
    await host.tags.removeAll(rec.arn);
    host.release(rec.name);
  } else if (rec.status === 'Creating') {
    void host.tasks.track(host.tasks.withLock(rec.name, () => host.runCreate(rec.name)));
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
        await host.endpoints.update(rec.name, { status: 'RollingBack' }, 'restore');
      await host.endpoints.update(
        rec.name,
        {
          status: 'InService',
          variants: back,
          pending: null,
          failureReason: rec.status === 'RollingBack' ? (rec.failureReason ?? why) : why,
        },
        'restore',
      );
      await host.deploymentLog.interrupt(rec.name, why, host.nowMs());
    }
    const key = rec.name.toLowerCase();
    const p = host.tasks
      .track(
        host.tasks.withLock(rec.name, async () => {
          try {
            const fleet = await host.serving.build(
              rec.name,
              await variantDeployments(host.models, rec.variants, 'current'),
            );
            if (host.closing()) {
              await fleet.stop(0);
              return;
            }
            await host.serving.activate(rec.name, fleet);
          } catch (e) {
            if (rec.status === 'UpdateRollbackFailed') return;
            await host.endpoints.update(
              rec.name,
              { status: 'Failed', failureReason: `After a restart: ${host.reasonOf(e)}` },
              'fail',
            );
          }
        }),
      )
      .finally(() => host.restoring.delete(key));
    host.restoring.set(key, p);
  }
}
