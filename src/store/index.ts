export { openDatabase } from './database.js';
export type { Database, Db, CoreTables, MigrationSet, Dialect, OpenDatabaseOptions } from './database.js';
export { TagRepository } from './tags.js';
export type { Tag } from './tags.js';
export { kvGet, kvPut } from './kv.js';
export { jsonColumn, parseJsonColumn } from './json.js';
export { listPage } from './list.js';
