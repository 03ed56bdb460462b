import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { RootCredentials, Settings } from '../config/index.js';
import { kvGet, type Database } from '../store/index.js';

/**
 * This replica's id: APIARY_REPLICA_ID, else one generated on first start and kept in the data
 * dir — so a restarted replica is the same one and re-takes its own leases at once (re-attaching
 * its training processes), while a second replica with its own data dir is another.
 */
export function replicaIdentity(settings: Settings): string {
  if (settings.replicaId) return settings.replicaId;
  const file = path.join(settings.dataDir, 'replica-id');
  try {
    const id = fs.readFileSync(file, 'utf8').trim();
    if (id) return id;
  } catch {
    /* first start */
  }
  fs.mkdirSync(settings.dataDir, { recursive: true });
  const id = `replica-${randomBytes(6).toString('hex')}`;
  fs.writeFileSync(file, id + '\n');
  return id;
}

const ROOT_KEY = 'root-credentials';

/**
 * On PostgreSQL the root credentials live in the database, so that every replica verifies the same
 * signatures (and forwarded requests verify on the owner): the first replica to start stores
 * its own, the others adopt them (and write them to their data dir for `apiary credentials`).
 * Credentials from APIARY_ROOT_* always win. SQLite keeps them in the data dir only.
 */
export async function sharedRootCredentials(
  database: Database,
  local: RootCredentials,
): Promise<RootCredentials> {
  if (database.dialect !== 'postgres' || !local.file) return local;
  const mine = JSON.stringify({
    accessKeyId: local.accessKeyId,
    secretAccessKey: local.secretAccessKey,
  });
  await database.db
    .insertInto('kv')
    .values({ key: ROOT_KEY, value: mine })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const stored = await kvGet(database.db, ROOT_KEY);
  if (!stored || stored === mine) return local;
  const shared = JSON.parse(stored) as { accessKeyId: string; secretAccessKey: string };
  const tmp = `${local.file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(shared, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, local.file);
  return { ...shared, generated: false, file: local.file };
}

const INVOCATIONS = /^\/endpoints\/([^/?#]*)\/invocations(?:\?.*)?$/;

/** The endpoint an InvokeEndpoint URL names, decoded; undefined when the URL is not one. */
export function runtimeEndpointName(url: string | undefined): string | undefined {
  const m = INVOCATIONS.exec(url ?? '');
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
}
