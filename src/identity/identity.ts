import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../shared/clock.js';
import { FailureLimiter } from '../shared/failure-limiter.js';
import type { Db } from '../store/index.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords.js';

/** The console user roles: admins manage everything, workers only label. */
export const Roles = { Admin: 'admin', Worker: 'worker' } as const;
/** A console user role (`admin` or `worker`). */
export type Role = (typeof Roles)[keyof typeof Roles];
/** Every console user role, for validation and listings. */
export const ROLES: readonly Role[] = [Roles.Admin, Roles.Worker];

/** A signed-in principal as every route sees it. */
export interface User {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  /** Apiary group names (work teams map their MemberDefinitions onto these). */
  readonly groups: readonly string[];
  /** True for the root credentials signing in as an admin. */
  readonly root: boolean;
  readonly disabled: boolean;
  readonly createdAtMs: number;
}

export type IdentityErrorCode =
  | 'ValidationError'
  | 'InvalidCredentials'
  | 'TooManyRequests'
  | 'UserExists'
  | 'UserNotFound'
  | 'KeyNotFound'
  | 'LimitExceeded';

/** A failure of the identity context; `status` is what the JSON routes answer. */
export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  constructor(
    readonly code: IdentityErrorCode,
    message: string,
    readonly status: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Allowed user names: 1–64 letters, digits or `._@-`, starting with a letter or digit. */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const GROUP_PATTERN = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u;
/** The shortest password accepted, in characters. */
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

/** Tunables of the identity context: session lifetime and login throttling. */
export interface IdentityOptions {
  /** Session lifetime; default 12 h. */
  readonly sessionTtlMs?: number;
  /** Failed logins allowed per username+IP within the window; default 5. */
  readonly maxLoginFailures?: number;
  /** Window of the login rate limit; default 15 min. */
  readonly loginWindowMs?: number;
}

/** What the identity context needs: its options plus the database. */
export interface IdentityDeps extends IdentityOptions {
  readonly db: Db;
  readonly clock: Clock;
  /** The root access key: `username = accessKeyId`, `password = secret` signs in as an admin. */
  readonly rootCredentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /**
   * Root's console password (APIARY_ROOT_CONSOLE_PASSWORD). When set, the secret access key no
   * longer signs root in to the console: a leaked console password is not an API key, and back.
   */
  readonly rootConsolePassword?: string;
}

export type IdentityTables = {
  users: {
    id: string;
    username: string;
    username_lower: string;
    role: string;
    password_hash: string;
    disabled: number;
    created_at_ms: number;
    last_modified_ms: number;
  };
  user_groups: { user_id: string; group_name: string };
  sessions: { token_hash: string; principal: string; created_at_ms: number; expires_at_ms: number };
};

/** What a successful login returns: the user, the session and CSRF tokens, and when they expire. */
export interface LoginResult {
  readonly user: User;
  /** The raw session token: goes into the HttpOnly cookie, stored only hashed. */
  readonly sessionToken: string;
  readonly csrfToken: string;
  readonly expiresAtMs: number;
}

const ROOT_ID = 'root';
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Apiary's user accounts, sessions and login rate limit. Sessions are opaque random tokens kept
 * hashed (SHA-256) in the database; the CSRF token is an HMAC of the session token, so it is bound
 * to the session and needs no storage.
 */
export class Identity {
  private readonly db: Kysely<IdentityTables>;
  private readonly clock: Clock;
  private readonly root: IdentityDeps['rootCredentials'];
  private readonly rootPassword: string;
  readonly sessionTtlMs: number;
  /** Failed sign-ins per username+address, and per address (4× the allowance). In memory. */
  private readonly byNameAndAddress: FailureLimiter;
  private readonly byAddress: FailureLimiter;

  constructor(deps: IdentityDeps) {
    this.db = deps.db.withTables<IdentityTables>() as unknown as Kysely<IdentityTables>;
    this.clock = deps.clock;
    this.root = deps.rootCredentials;
    this.rootPassword = deps.rootConsolePassword || deps.rootCredentials.secretAccessKey;
    this.sessionTtlMs = deps.sessionTtlMs ?? 12 * 3600_000;
    const maxFailures = deps.maxLoginFailures ?? 5;
    const windowMs = deps.loginWindowMs ?? 15 * 60_000;
    this.byNameAndAddress = new FailureLimiter(maxFailures, windowMs);
    this.byAddress = new FailureLimiter(maxFailures * 4, windowMs);
  }

  // ---- users -------------------------------------------------------------------------------

  /** @throws IdentityError ValidationError / UserExists */
  async createUser(input: {
    username: string;
    password: string;
    role: Role;
    groups?: readonly string[];
  }): Promise<User> {
    validateUsername(input.username);
    validatePassword(input.password);
    if (!ROLES.includes(input.role)) {
      throw new IdentityError(
        'ValidationError',
        `Role '${input.role}' is not one of ${ROLES.join(', ')}`,
        400,
      );
    }
    if (input.username === this.root.accessKeyId) {
      throw new IdentityError(
        'UserExists',
        `The username '${input.username}' is the root access key id`,
        409,
      );
    }
    const groups = normalizeGroups(input.groups ?? []);
    const now = this.clock.nowMs();
    const id = randomUUID();
    const hash = await hashPassword(input.password);
    const inserted = await this.db.transaction().execute(async (trx) => {
      const res = await trx
        .insertInto('users')
        .values({
          id,
          username: input.username,
          username_lower: input.username.toLowerCase(),
          role: input.role,
          password_hash: hash,
          disabled: 0,
          created_at_ms: now,
          last_modified_ms: now,
        })
        .onConflict((oc) => oc.column('username_lower').doNothing())
        .executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      for (const g of groups)
        await trx.insertInto('user_groups').values({ user_id: id, group_name: g }).execute();
      return true;
    });
    if (!inserted)
      throw new IdentityError('UserExists', `A user named '${input.username}' already exists`, 409);
    return {
      id,
      username: input.username,
      role: input.role,
      groups,
      root: false,
      disabled: false,
      createdAtMs: now,
    };
  }

  async listUsers(): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('username_lower').execute();
    const groups = await this.db
      .selectFrom('user_groups')
      .selectAll()
      .orderBy('group_name')
      .execute();
    const byUser = new Map<string, string[]>();
    for (const g of groups) byUser.set(g.user_id, [...(byUser.get(g.user_id) ?? []), g.group_name]);
    return rows.map((r) => toUser(r, byUser.get(r.id) ?? []));
  }

  async findUser(username: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('username_lower', '=', username.toLowerCase())
      .executeTakeFirst();
    return row ? toUser(row, await this.groupsOf(row.id)) : undefined;
  }

  async getUserById(id: string): Promise<User | undefined> {
    if (id === ROOT_ID) return this.rootUser();
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toUser(row, await this.groupsOf(row.id)) : undefined;
  }

  /** Replaces a user's groups. @throws IdentityError UserNotFound */
  async setGroups(username: string, groups: readonly string[]): Promise<User> {
    const user = await this.requireUser(username);
    const normalized = normalizeGroups(groups);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('user_groups').where('user_id', '=', user.id).execute();
      for (const g of normalized)
        await trx.insertInto('user_groups').values({ user_id: user.id, group_name: g }).execute();
    });
    return { ...user, groups: normalized };
  }

  /** Sets a new password and signs the user out everywhere. */
  async setPassword(username: string, password: string): Promise<void> {
    validatePassword(password);
    const user = await this.requireUser(username);
    await this.db
      .updateTable('users')
      .set({ password_hash: await hashPassword(password), last_modified_ms: this.clock.nowMs() })
      .where('id', '=', user.id)
      .execute();
    await this.db.deleteFrom('sessions').where('principal', '=', user.id).execute();
  }

  /** Disabling signs the user out at once: every request re-reads the account. */
  async setDisabled(username: string, disabled: boolean): Promise<void> {
    const user = await this.requireUser(username);
    await this.db
      .updateTable('users')
      .set({ disabled: disabled ? 1 : 0, last_modified_ms: this.clock.nowMs() })
      .where('id', '=', user.id)
      .execute();
    if (disabled) await this.db.deleteFrom('sessions').where('principal', '=', user.id).execute();
  }

  async deleteUser(username: string): Promise<void> {
    const user = await this.requireUser(username);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('user_groups').where('user_id', '=', user.id).execute();
      await trx.deleteFrom('sessions').where('principal', '=', user.id).execute();
      // The user's access keys go with them (their table is access-keys.ts's).
      await (trx as unknown as Kysely<{ access_keys: { user_id: string } }>)
        .deleteFrom('access_keys')
        .where('user_id', '=', user.id)
        .execute();
      await trx.deleteFrom('users').where('id', '=', user.id).execute();
    });
  }

  /** Ids of the enabled users in any of `groups` (work team membership). */
  async userIdsInGroups(groups: readonly string[]): Promise<string[]> {
    if (groups.length === 0) return [];
    const rows = await this.db
      .selectFrom('user_groups')
      .innerJoin('users', 'users.id', 'user_groups.user_id')
      .select('users.id')
      .distinct()
      .where('user_groups.group_name', 'in', [...groups])
      .where('users.disabled', '=', 0)
      .execute();
    return rows.map((r) => r.id);
  }

  // ---- sessions ----------------------------------------------------------------------------

  /**
   * Checks a username and password (or the root access key id and secret) and opens a session.
   * @throws IdentityError TooManyRequests (429) past the rate limit, InvalidCredentials (401).
   */
  async login(username: string, password: string, ip: string): Promise<LoginResult> {
    const now = this.clock.nowMs();
    const key = `${username.toLowerCase()}|${ip}`;
    // Per user name from this address, and per address whatever the name (password spraying,
    // and each unknown-name attempt costs a scrypt hash). The address is the client's own when
    // APIARY_TRUST_PROXY names the proxy in front.
    const perName = this.byNameAndAddress.retryAfterSeconds(key, now);
    const perAddress = this.byAddress.retryAfterSeconds(ip, now);
    if (perName !== undefined || perAddress !== undefined) {
      const retryAfter = Math.max(perName ?? 0, perAddress ?? 0);
      throw new IdentityError(
        'TooManyRequests',
        perName !== undefined
          ? `Too many failed sign-ins for this username from your address; try again in ${retryAfter} seconds`
          : `Too many failed sign-ins from your address; try again in ${retryAfter} seconds`,
        429,
        retryAfter,
      );
    }
    const user = await this.checkPassword(username, password);
    if (!user) {
      this.byNameAndAddress.fail(key, now);
      this.byAddress.fail(ip, now);
      throw new IdentityError('InvalidCredentials', 'The username or password is incorrect', 401);
    }
    this.byNameAndAddress.reset(key);
    const sessionToken = randomBytes(32).toString('base64url');
    const expiresAtMs = now + this.sessionTtlMs;
    await this.db.deleteFrom('sessions').where('expires_at_ms', '<=', now).execute();
    await this.db
      .insertInto('sessions')
      .values({
        token_hash: sha256(sessionToken),
        principal: user.id,
        created_at_ms: now,
        expires_at_ms: expiresAtMs,
      })
      .execute();
    return { user, sessionToken, csrfToken: this.csrfTokenFor(sessionToken), expiresAtMs };
  }

  async logout(sessionToken: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('token_hash', '=', sha256(sessionToken)).execute();
  }

  /** The user behind a session token, or undefined when it is unknown, expired or disabled. */
  async authenticate(sessionToken: string | undefined): Promise<User | undefined> {
    if (!sessionToken || sessionToken.length > 200) return undefined;
    const row = await this.db
      .selectFrom('sessions')
      .select(['principal', 'expires_at_ms'])
      .where('token_hash', '=', sha256(sessionToken))
      .executeTakeFirst();
    if (!row || Number(row.expires_at_ms) <= this.clock.nowMs()) return undefined;
    const user = await this.getUserById(row.principal);
    if (!user || user.disabled) return undefined;
    return user;
  }

  csrfTokenFor(sessionToken: string): string {
    return createHmac('sha256', sessionToken).update('apiary-csrf-v1').digest('base64url');
  }

  /** Constant-time comparison of a presented CSRF token with the session's. */
  checkCsrf(sessionToken: string, presented: string | undefined): boolean {
    if (!presented) return false;
    const expected = Buffer.from(this.csrfTokenFor(sessionToken));
    const got = Buffer.from(presented);
    return got.length === expected.length && timingSafeEqual(got, expected);
  }

  // ---- internals ---------------------------------------------------------------------------

  private rootUser(): User {
    return {
      id: ROOT_ID,
      username: this.root.accessKeyId,
      role: 'admin',
      groups: [],
      root: true,
      disabled: false,
      createdAtMs: 0,
    };
  }

  private async checkPassword(username: string, password: string): Promise<User | undefined> {
    if (typeof username !== 'string' || typeof password !== 'string') return undefined;
    if (password.length > MAX_PASSWORD_LENGTH || username.length > 256) return undefined;
    if (username === this.root.accessKeyId) {
      const a = Buffer.from(sha256(password));
      const b = Buffer.from(sha256(this.rootPassword));
      return timingSafeEqual(a, b) ? this.rootUser() : undefined;
    }
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('username_lower', '=', username.toLowerCase())
      .executeTakeFirst();
    if (!row) {
      await verifyPassword(password, await dummyPasswordHash());
      return undefined;
    }
    if (!(await verifyPassword(password, row.password_hash)) || row.disabled) return undefined;
    return toUser(row, await this.groupsOf(row.id));
  }

  private async groupsOf(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('user_groups')
      .select('group_name')
      .where('user_id', '=', userId)
      .orderBy('group_name')
      .execute();
    return rows.map((r) => r.group_name);
  }

  private async requireUser(username: string): Promise<User> {
    const user = await this.findUser(username);
    if (!user) throw new IdentityError('UserNotFound', `No user named '${username}'`, 404);
    return user;
  }
}

function toUser(row: IdentityTables['users'], groups: string[]): User {
  return {
    id: row.id,
    username: row.username,
    role: row.role as Role,
    groups,
    root: false,
    disabled: Number(row.disabled) !== 0,
    createdAtMs: Number(row.created_at_ms),
  };
}

function validateUsername(username: string): void {
  if (typeof username !== 'string' || !USERNAME_PATTERN.test(username)) {
    throw new IdentityError(
      'ValidationError',
      'A username is 1-64 characters: letters, digits and . _ @ - (starting with a letter or digit)',
      400,
    );
  }
}

function validatePassword(password: string): void {
  if (
    typeof password !== 'string' ||
    password.length < MIN_PASSWORD_LENGTH ||
    password.length > MAX_PASSWORD_LENGTH
  ) {
    throw new IdentityError(
      'ValidationError',
      `A password is ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters long`,
      400,
    );
  }
}

function normalizeGroups(groups: readonly string[]): string[] {
  const out = new Set<string>();
  for (const g of groups) {
    const name = g.trim();
    if (!GROUP_PATTERN.test(name)) {
      throw new IdentityError(
        'ValidationError',
        'A group name is 1-128 visible characters without spaces',
        400,
      );
    }
    out.add(name);
  }
  return [...out].sort();
}
