import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';

/**
 * Each notebook instance's own access key (table `notebook_access_keys`): minted at create, given
 * to its kernels in their environment only, revoked on delete. The authenticator asks
 * {@link secretFor} synchronously, so the keys are also kept in memory.
 */
export class NotebookAccessKeys {
  private readonly keys = new Map<string, string>();

  constructor(private readonly db: Kysely<any>) {}

  /** Loads the stored keys (at start). */
  async load(): Promise<void> {
    const rows = (await this.db.selectFrom('notebook_access_keys').selectAll().execute()) as {
      access_key_id: string;
      secret_access_key: string;
    }[];
    for (const r of rows) this.keys.set(r.access_key_id, r.secret_access_key);
  }

  /** The secret of an instance's access key, or undefined. */
  secretFor(accessKeyId: string): string | undefined {
    return this.keys.get(accessKeyId);
  }

  /** A new key for instance `nameLower`. */
  async mint(nameLower: string, nowMs: number): Promise<void> {
    const accessKeyId = `ASIANB${randomBytes(7).toString('hex').toUpperCase()}`;
    const secret = randomBytes(30).toString('base64url');
    await this.db
      .insertInto('notebook_access_keys')
      .values({
        access_key_id: accessKeyId,
        secret_access_key: secret,
        instance_name_lower: nameLower,
        created_at_ms: nowMs,
      })
      .execute();
    this.keys.set(accessKeyId, secret);
  }

  /** The instance's key as the AWS_* variables its kernels get ({} when it has none). */
  async environmentOf(nameLower: string): Promise<Record<string, string>> {
    const row = (await this.db
      .selectFrom('notebook_access_keys')
      .selectAll()
      .where('instance_name_lower', '=', nameLower)
      .executeTakeFirst()) as { access_key_id: string; secret_access_key: string } | undefined;
    return row
      ? { AWS_ACCESS_KEY_ID: row.access_key_id, AWS_SECRET_ACCESS_KEY: row.secret_access_key }
      : {};
  }

  /** Revokes every key of the instance at once. */
  async revoke(nameLower: string): Promise<void> {
    const keys = (await this.db
      .selectFrom('notebook_access_keys')
      .select('access_key_id')
      .where('instance_name_lower', '=', nameLower)
      .execute()) as { access_key_id: string }[];
    for (const k of keys) this.keys.delete(k.access_key_id);
    await this.db
      .deleteFrom('notebook_access_keys')
      .where('instance_name_lower', '=', nameLower)
      .execute();
  }
}
