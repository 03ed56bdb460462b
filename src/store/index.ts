export { openDatabase } from './database.js';
export type {
  Database,
  Db,
  CoreTables,
  MigrationSet,
  Dialect,
  OpenDatabaseOptions,
} from './database.js';
export { TagRepository } from './tags.js';
export type { Tag, TagPage } from './tags.js';
export { kvGet, kvGetOrCreate, kvPut } from './kv.js';
export { jsonColumn, parseJsonColumn } from './json.js';
export { listPage } from './list.js';
export { LeaseStore, leaseMigrations } from './leases.js';
export type { Lease } from './leases.js';
export { Coordinator, coordinatorMigrations } from './coordinator.js';
export type { CoordinatorOptions, OwnedWork, SingletonWork } from './coordinator.js';
export { NameKeyedRepository } from './resource-repository.js';
export type { NameKeyedOptions, NameKeyedRow } from './resource-repository.js';
export {
  addColumns,
  createIndexes,
  createResourceTable,
  resourceKeyColumns,
  timestampColumns,
} from './migration-helpers.js';
export type { ColumnType } from './migration-helpers.js';
export { isDatabaseUnavailable, DATABASE_UNAVAILABLE_MESSAGE } from './unavailable.js';
