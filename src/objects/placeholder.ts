// Placeholder until the fs object backend lands.
import type { Db, MigrationSet } from '../store/index.js';
import type { ObjectStore } from './object-store.js';

export const objectsMigrations: MigrationSet = {};

export async function createObjectStore(_opts: { db: Db; dataDir: string }): Promise<ObjectStore> {
  return new Proxy({} as ObjectStore, {
    get(_t, prop) {
      if (prop === 'then') return undefined;
      throw new Error('the object store is not implemented yet');
    },
  });
}
