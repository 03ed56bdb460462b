import { hostingMigrations } from '../hosting/index.js';
import { iamMigrations } from '../iam/index.js';
import { identityMigrations } from '../identity/index.js';
import { labelingMigrations } from '../labeling/index.js';
import { metricsMigrations } from '../metrics/index.js';
import { notebookMigrations } from '../notebooks/index.js';
import { objectsMigrations } from '../objects/index.js';
import { coordinatorMigrations, leaseMigrations, type MigrationSet } from '../store/index.js';
import { sharedLogMigrations, trainingMigrations } from '../training/index.js';
import { tuningMigrations } from '../tuning/index.js';

/**
 * Every context's migrations: what the composition root opens the database with, and what the
 * repository contract suite runs on SQLite and PostgreSQL. A new context adds its set here.
 */
export const allMigrations: MigrationSet = {
  ...leaseMigrations,
  ...coordinatorMigrations,
  ...sharedLogMigrations,
  ...objectsMigrations,
  ...hostingMigrations,
  ...identityMigrations,
  ...labelingMigrations,
  ...trainingMigrations,
  ...tuningMigrations,
  ...iamMigrations,
  ...metricsMigrations,
  ...notebookMigrations,
};
