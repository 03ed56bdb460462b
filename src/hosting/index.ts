export { Hosting } from './hosting.js';
export type { HostingDeps } from './hosting.js';
export { hostingMigrations } from './migrations.js';
export type { ModelRecord, ModelContainer } from './models.js';
export type { EndpointConfigRecord, VariantSpec } from './endpoint-configs.js';
import { Hosting, type HostingDeps } from './hosting.js';

export const createHosting = (deps: HostingDeps): Hosting => new Hosting(deps);
