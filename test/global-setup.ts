import type { TestProject } from 'vitest/node';
import { postgresInstalled, startPostgresCluster } from './helpers/postgres.js';

/**
 * Starts the run's one throwaway PostgreSQL cluster (well under a second) for the repository
 * contract suite and for `APIARY_TEST_DATABASE=postgres` runs; each suite or test server creates
 * its own database in it. Without PostgreSQL installed, the tests that need it say so.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!postgresInstalled()) {
    project.provide('postgresAdminUrl', undefined);
    return async () => {};
  }
  const cluster = await startPostgresCluster();
  project.provide('postgresAdminUrl', cluster.adminUrl);
  return () => cluster.stop();
}
