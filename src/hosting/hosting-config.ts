import type { ArnContext } from '../shared/arn.js';
import type { Clock } from '../shared/clock.js';
import type { Random } from '../shared/random.js';
import type { ObjectStore } from '../objects/index.js';
import type { Coordinator, Db, TagRepository } from '../store/index.js';
import type { ServingCommand } from './runtime/container-variant.js';
import type { KubernetesHostingOptions } from './runtime/kubernetes/kubernetes-variant.js';
import type { ServingLimits } from './runtime/variant-server.js';

/** Serving limits when the settings give none (tests): SageMaker's 60 s, a bounded queue. */
export const DEFAULT_LIMITS: ServingLimits = {
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
