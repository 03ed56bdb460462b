export { Hosting } from './hosting.js';
export type { HostingDeps, HostingServingConfig, EndpointUsage } from './hosting.js';
import { hostingMigrations as baseMigrations } from './migrations.js';
import { deploymentMigrations } from './deployments/log.js';
/** The hosting tables, with the deployment history of blue/green updates. */
export const hostingMigrations = { ...baseMigrations, ...deploymentMigrations };
export type { DeploymentRecord, DeploymentOutcome } from './deployments/log.js';
export type { TrafficPoint } from './deployments/runner.js';
export type { ModelRecord, ModelContainer } from './models.js';
export type { EndpointConfigRecord, VariantSpec } from './endpoint-configs.js';
export type { EndpointRecord, VariantState, PendingDeployment } from './endpoints.js';
export { EndpointStatus, ENDPOINT_TRANSITIONS } from './endpoint-status.js';
export { InvokeError, InvokeErrorCodes, type InvokeErrorCode } from './runtime/errors.js';
export type {
  InvokeRequest,
  InvokeResponse,
  ServingLimits,
  VariantUsage,
  InstanceUsage,
} from './runtime/variant-server.js';
export type { VariantCounts, RecentLatency } from './runtime/metrics.js';
export type { ServingCommand } from './runtime/container-variant.js';
import { Hosting, type HostingDeps } from './hosting.js';

/** Builds the hosting context (models, endpoint configs, endpoints and their serving runtime). */
export const createHosting = (deps: HostingDeps): Hosting => new Hosting(deps);
export type { KubernetesHostingOptions } from './runtime/kubernetes/kubernetes-variant.js';
export { startModelServer } from './runtime/kubernetes/model-server.js';
export {
  artifactModelJson,
  detectWithArtifact,
  type ImageDetections,
} from './runtime/batch-detect.js';
