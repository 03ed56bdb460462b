/**
 * Identity: Apiary user accounts (admin, worker), groups, sessions, CSRF and the login rate limit.
 * No HTTP framework inside: the cookie and JSON surface is `api/console/` (README.md).
 */
import { Identity, type IdentityDeps } from './identity.js';

export {
  Identity,
  IdentityError,
  Roles,
  ROLES,
  USERNAME_PATTERN,
  MIN_PASSWORD_LENGTH,
  type Role,
  type User,
  type IdentityDeps,
  type IdentityOptions,
  type LoginResult,
} from './identity.js';
export {
  AccessKeys,
  SecretBox,
  KeyStatuses,
  MAX_KEYS_PER_USER,
  type AccessKey,
  type AccessKeysDeps,
  type KeyOwner,
  type KeyStatus,
} from './access-keys.js';
export { identityMigrations } from './migrations.js';

/** Builds the identity context (console users, passwords and sessions). */
export const createIdentity = (deps: IdentityDeps): Identity => new Identity(deps);
