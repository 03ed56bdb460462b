import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessKeys, Identity, KeyStatus } from '../../identity/index.js';
import { ConsoleError, sendConsoleError } from './errors.js';
import { currentUser, readJsonBody, requireUser, sendApiJson } from './http.js';

/**
 * Access keys of console users, for the console page (identity/access-keys.ts holds them):
 * a user manages their own keys; admins anyone's (`?user=` / `{"user"}`).
 * `GET /_apiary/api/access-keys[?user=]` → {user, keys}; `POST` {user?} → the new key with its
 * secret (the only time it is shown); `POST /_apiary/api/access-keys/:id` {user?, status};
 * `DELETE /_apiary/api/access-keys/:id[?user=]`.
 */
export function registerAccessKeyRoutes(
  app: FastifyInstance,
  deps: { readonly identity: Identity; readonly accessKeys: AccessKeys },
): void {
  const { identity, accessKeys } = deps;
  const guard = { preHandler: requireUser(identity) };

  /** The user whose keys a request names: the caller's own unless an admin names another. */
  const target = (req: FastifyRequest, named: unknown): string => {
    const me = currentUser(req);
    const name = typeof named === 'string' && named !== '' ? named : me.username;
    if (name.toLowerCase() !== me.username.toLowerCase() && me.role !== 'admin') {
      throw new ConsoleError('Forbidden', "Only an admin may manage another user's access keys");
    }
    if (me.root && name === me.username) {
      throw new ConsoleError(
        'ValidationError',
        'The root access key is configuration (credentials.json or APIARY_ROOT_*): pick a user',
      );
    }
    return name;
  };
  const query = (req: FastifyRequest): Record<string, unknown> =>
    (req.query ?? {}) as Record<string, unknown>;

  app.get('/_apiary/api/access-keys', guard, async (req, reply) => {
    try {
      const me = currentUser(req);
      const named = query(req).user;
      // Root has no keys of its own: its page starts with the user picker.
      if (me.root && (typeof named !== 'string' || named === '')) {
        return sendApiJson(reply, { user: null, keys: [] });
      }
      const user = target(req, named);
      return sendApiJson(reply, { user, keys: await accessKeys.list(user) });
    } catch (err) {
      return sendConsoleError(reply, err);
    }
  });

  app.post('/_apiary/api/access-keys', guard, async (req, reply) => {
    try {
      const body = ((await readJsonBody(req, 4096)) ?? {}) as Record<string, unknown>;
      return sendApiJson(reply, await accessKeys.create(target(req, body.user)), 201);
    } catch (err) {
      return sendConsoleError(reply, err);
    }
  });

  app.post<{ Params: { id: string } }>(
    '/_apiary/api/access-keys/:id',
    guard,
    async (req, reply) => {
      try {
        const body = ((await readJsonBody(req, 4096)) ?? {}) as Record<string, unknown>;
        await accessKeys.setStatus(target(req, body.user), req.params.id, body.status as KeyStatus);
        return sendApiJson(reply, {});
      } catch (err) {
        return sendConsoleError(reply, err);
      }
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/_apiary/api/access-keys/:id',
    guard,
    async (req, reply) => {
      try {
        await accessKeys.remove(target(req, query(req).user), req.params.id);
        return sendApiJson(reply, {});
      } catch (err) {
        return sendConsoleError(reply, err);
      }
    },
  );
}
