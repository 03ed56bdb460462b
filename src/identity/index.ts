/**
 * Identity: Apiary user accounts (admin, worker), groups, sessions, CSRF and the login rate limit.
 * See README.md for how the console and the worker portal use it.
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
export { identityMigrations } from './migrations.js';
export {
  registerAuthRoutes,
  requireUser,
  currentUser,
  readJsonBody,
  BadJsonError,
  sendApiError,
  sendApiJson,
  publicUser,
  parseCookies,
  sessionTokenOf,
  SESSION_COOKIE,
  CSRF_COOKIE,
  CSRF_HEADER,
} from './http.js';

export const createIdentity = (deps: IdentityDeps): Identity => new Identity(deps);
