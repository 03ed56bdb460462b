import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../shared/clock.js';
import type { Db } from '../store/index.js';
import { IdentityError, type Identity, type Role } from './identity.js';

/** IAM's limit of access keys per user. */
export const MAX_KEYS_PER_USER = 2;

/** An access key's status, as IAM names it. */
export const KeyStatuses = { Active: 'Active', Inactive: 'Inactive' } as const;
export type KeyStatus = (typeof KeyStatuses)[keyof typeof KeyStatuses];

/** An access key as listings show it (never its secret). */
export interface AccessKey {
  readonly accessKeyId: string;
  readonly username: string;
  readonly status: KeyStatus;
  readonly createdAtMs: number;
  readonly lastUsedMs?: number;
}

/** Who a key signs for: what the authenticator needs, synchronously. */
export interface KeyOwner {
  readonly secretAccessKey: string;
  readonly username: string;
  readonly role: Role;
}

type AccessKeyTables = {
  access_keys: {
    access_key_id: string;
    user_id: string;
    secret_enc: string;
    status: string;
    created_at_ms: number;
    last_used_ms: number | null;
  };
  users: { id: string; username: string; role: string; disabled: number };
};

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const randomString = (alphabet: string, n: number): string =>
  Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join('');

/**
 * Seals secrets with AES-256-GCM under a key derived (HKDF-SHA256) from the root secret access
 * key: SigV4 needs the plain secret to HMAC with, so a hash will not do; sealing keeps a copy of
 * the database (a backup, a dump) from being a list of working keys. The root secret is the one
 * secret every replica already shares outside the database (credentials.json or APIARY_ROOT_*).
 * The access key id is the additional data: a sealed secret cannot be moved to another key.
 */
export class SecretBox {
  private readonly key: Buffer;
  constructor(rootSecret: string) {
    this.key = Buffer.from(
      hkdfSync('sha256', rootSecret, 'apiary', 'apiary-access-key-secrets-v1', 32),
    );
  }
  seal(accessKeyId: string, secret: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(accessKeyId));
    const body = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    return ['v1', iv, c.getAuthTag(), body]
      .map((x) => (typeof x === 'string' ? x : x.toString('base64')))
      .join(':');
  }
  /** The secret, or undefined when it was sealed under another root secret (rotated). */
  open(accessKeyId: string, sealed: string): string | undefined {
    const [v, iv, tag, body] = sealed.split(':');
    if (v !== 'v1' || !iv || !tag || body === undefined) return undefined;
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
      d.setAAD(Buffer.from(accessKeyId));
      d.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([d.update(Buffer.from(body, 'base64')), d.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

/** What {@link AccessKeys} needs. */
export interface AccessKeysDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly identity: Identity;
  /** The root secret access key (the sealing key is derived from it). */
  readonly rootSecret: string;
  /** How often every replica re-reads the keys (a key revoked elsewhere stops within this); 2 s. */
  readonly refreshMs?: number;
  readonly onError?: (err: unknown) => void;
}

/**
 * Console users' access keys (IAM's model: up to two per user, Active/Inactive, secret shown once,
 * last-used time). Signing looks keys up synchronously, so every replica keeps the usable keys
 * (active, of an enabled user) in memory and re-reads the table every `refreshMs`; a change made
 * on this replica is visible here at once.
 */
export class AccessKeys {
  private readonly db: Kysely<AccessKeyTables>;
  private readonly box: SecretBox;
  private cache = new Map<string, KeyOwner>();
  /** Refreshes started, and the latest one whose read is in the cache (see {@link refresh}). */
  private refreshesStarted = 0;
  private refreshInCache = 0;
  private readonly lastUsedWritten = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly refreshMs: number;

  constructor(private readonly deps: AccessKeysDeps) {
    this.db = deps.db.withTables<AccessKeyTables>() as unknown as Kysely<AccessKeyTables>;
    this.box = new SecretBox(deps.rootSecret);
    this.refreshMs = deps.refreshMs ?? 2000;
  }

  /** Loads the cache and keeps it fresh until {@link close}. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer ??= setInterval(() => {
      this.refresh().catch((err) => this.deps.onError?.(err));
    }, this.refreshMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Re-reads every usable key (one small query). A read overtaken by a later one is dropped: a
   * periodic refresh that read the table before a change made here (create, setStatus, remove
   * refresh on their own before they answer) must not put the old keys back after it.
   */
  async refresh(): Promise<void> {
    const started = ++this.refreshesStarted;
    const next = await this.readUsable();
    if (started < this.refreshInCache) return;
    this.refreshInCache = started;
    this.cache = next;
  }

  /** The usable keys (active, of an enabled user) as the table holds them now. */
  async readUsable(): Promise<Map<string, KeyOwner>> {
    const rows = await this.db
      .selectFrom('access_keys')
      .innerJoin('users', 'users.id', 'access_keys.user_id')
      .select([
        'access_keys.access_key_id',
        'access_keys.secret_enc',
        'users.username',
        'users.role',
      ])
      .where('access_keys.status', '=', KeyStatuses.Active)
      .where('users.disabled', '=', 0)
      .execute();
    const next = new Map<string, KeyOwner>();
    for (const r of rows) {
      const secret = this.box.open(r.access_key_id, r.secret_enc);
      if (secret === undefined) continue;
      next.set(r.access_key_id, {
        secretAccessKey: secret,
        username: r.username,
        role: r.role as Role,
      });
    }
    return next;
  }

  /** The owner of a usable key (synchronous: from the cache). */
  lookup(accessKeyId: string): KeyOwner | undefined {
    return this.cache.get(accessKeyId);
  }

  /** Records that a key signed a request (written at most once a minute per key). */
  markUsed(accessKeyId: string): void {
    const now = this.deps.clock.nowMs();
    const last = this.lastUsedWritten.get(accessKeyId) ?? 0;
    if (now - last < 60_000) return;
    this.lastUsedWritten.set(accessKeyId, now);
    this.db
      .updateTable('access_keys')
      .set({ last_used_ms: now })
      .where('access_key_id', '=', accessKeyId)
      .execute()
      .catch((err) => this.deps.onError?.(err));
  }

  /**
   * A new Active key for `username`; the secret is in the answer only.
   * @throws IdentityError UserNotFound, LimitExceeded (two keys already)
   */
  async create(username: string): Promise<AccessKey & { readonly secretAccessKey: string }> {
    const user = await this.requireUser(username);
    const accessKeyId = 'AKIA' + randomString(ID_ALPHABET, 16);
    const secretAccessKey = randomString(SECRET_ALPHABET, 40);
    const now = this.deps.clock.nowMs();
    await this.db.transaction().execute(async (trx) => {
      const have = await trx
        .selectFrom('access_keys')
        .select('access_key_id')
        .where('user_id', '=', user.id)
        .execute();
      if (have.length >= MAX_KEYS_PER_USER) {
        throw new IdentityError(
          'LimitExceeded',
          `Cannot exceed quota for AccessKeysPerUser: ${MAX_KEYS_PER_USER}`,
          409,
        );
      }
      await trx
        .insertInto('access_keys')
        .values({
          access_key_id: accessKeyId,
          user_id: user.id,
          secret_enc: this.box.seal(accessKeyId, secretAccessKey),
          status: KeyStatuses.Active,
          created_at_ms: now,
          last_used_ms: null,
        })
        .execute();
    });
    await this.refresh();
    return {
      accessKeyId,
      username: user.username,
      status: 'Active',
      createdAtMs: now,
      secretAccessKey,
    };
  }

  /** The keys of `username`, oldest first. @throws IdentityError UserNotFound */
  async list(username: string): Promise<AccessKey[]> {
    const user = await this.requireUser(username);
    const rows = await this.db
      .selectFrom('access_keys')
      .selectAll()
      .where('user_id', '=', user.id)
      .orderBy('created_at_ms')
      .execute();
    return rows.map((r) => ({
      accessKeyId: r.access_key_id,
      username: user.username,
      status: r.status as KeyStatus,
      createdAtMs: Number(r.created_at_ms),
      lastUsedMs: r.last_used_ms === null ? undefined : Number(r.last_used_ms),
    }));
  }

  /** Activates or deactivates a key. @throws IdentityError UserNotFound, KeyNotFound */
  async setStatus(username: string, accessKeyId: string, status: KeyStatus): Promise<void> {
    if (status !== 'Active' && status !== 'Inactive') {
      throw new IdentityError('ValidationError', 'Status must be Active or Inactive', 400);
    }
    const user = await this.requireUser(username);
    const r = await this.db
      .updateTable('access_keys')
      .set({ status })
      .where('user_id', '=', user.id)
      .where('access_key_id', '=', accessKeyId)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw keyNotFound(username, accessKeyId);
    await this.refresh();
  }

  /** Revokes (deletes) a key. @throws IdentityError UserNotFound, KeyNotFound */
  async remove(username: string, accessKeyId: string): Promise<void> {
    const user = await this.requireUser(username);
    const r = await this.db
      .deleteFrom('access_keys')
      .where('user_id', '=', user.id)
      .where('access_key_id', '=', accessKeyId)
      .executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw keyNotFound(username, accessKeyId);
    await this.refresh();
  }

  private async requireUser(username: string) {
    const user = await this.deps.identity.findUser(username);
    if (!user) throw new IdentityError('UserNotFound', `No user named '${username}'`, 404);
    return user;
  }
}

const keyNotFound = (username: string, id: string): IdentityError =>
  new IdentityError(
    'KeyNotFound',
    `The Access Key with id ${id} cannot be found for user ${username}.`,
    404,
  );
