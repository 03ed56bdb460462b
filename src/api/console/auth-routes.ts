import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Identity } from '../../identity/index.js';
import { ConsoleError, sendApiError, sendConsoleError } from './errors.js';
import {
  CSRF_COOKIE,
  CSRF_HEADER,
  headerOf,
  publicUser,
  readJsonBody,
  sendApiJson,
  SESSION_COOKIE,
  sessionTokenOf,
} from './http.js';

const isHttps = (req: FastifyRequest): boolean => req.protocol === 'https';

function cookie(
  name: string,
  value: string,
  req: FastifyRequest,
  opts: { httpOnly: boolean; maxAgeSeconds: number },
): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    'Path=/',
    `Max-Age=${opts.maxAgeSeconds}`,
    'SameSite=Strict',
    ...(opts.httpOnly ? ['HttpOnly'] : []),
    ...(isHttps(req) ? ['Secure'] : []),
  ].join('; ');
}

/**
 * Sign-in over HTTP for the console and the worker portal (the identity context holds accounts,
 * sessions and CSRF; this is their cookie and JSON surface): `POST /_apiary/api/login`
 * {username, password} → sets the session and CSRF cookies, answers {user, csrfToken};
 * `POST /_apiary/api/logout`; `GET /_apiary/api/me` → {user, csrfToken} or 401.
 */
export function registerAuthRoutes(app: FastifyInstance, identity: Identity): void {
  app.post('/_apiary/api/login', async (req, reply) => {
    try {
      const body = await readJsonBody(req, 16 * 1024);
      const { username, password } = (body ?? {}) as { username?: unknown; password?: unknown };
      if (
        typeof username !== 'string' ||
        typeof password !== 'string' ||
        username === '' ||
        password === ''
      ) {
        throw new ConsoleError('ValidationError', 'Send {"username": "...", "password": "..."}');
      }
      const r = await identity.login(username, password, req.ip);
      const maxAge = Math.floor(identity.sessionTtlMs / 1000);
      void reply.header('set-cookie', [
        cookie(SESSION_COOKIE, r.sessionToken, req, { httpOnly: true, maxAgeSeconds: maxAge }),
        // Not readable by scripts: the page learns the token from this answer and from /me.
        cookie(CSRF_COOKIE, r.csrfToken, req, { httpOnly: true, maxAgeSeconds: maxAge }),
      ]);
      return sendApiJson(reply, { user: publicUser(r.user), csrfToken: r.csrfToken });
    } catch (err) {
      return sendConsoleError(reply, err);
    }
  });

  app.post('/_apiary/api/logout', async (req, reply) => {
    const token = sessionTokenOf(req);
    // Logging out needs the CSRF header too, so another site cannot sign a user out.
    if (token && (await identity.authenticate(token))) {
      if (!identity.checkCsrf(token, headerOf(req, CSRF_HEADER))) {
        return sendApiError(reply, 'CsrfTokenInvalid', `Missing or wrong ${CSRF_HEADER} header`);
      }
      await identity.logout(token);
    }
    void reply.header('set-cookie', [
      cookie(SESSION_COOKIE, '', req, { httpOnly: true, maxAgeSeconds: 0 }),
      cookie(CSRF_COOKIE, '', req, { httpOnly: true, maxAgeSeconds: 0 }),
    ]);
    return sendApiJson(reply, {});
  });

  app.get('/_apiary/api/me', async (req, reply) => {
    const token = sessionTokenOf(req);
    const user = await identity.authenticate(token);
    if (!user || !token) return sendApiError(reply, 'Unauthorized', 'Sign in first');
    return sendApiJson(reply, { user: publicUser(user), csrfToken: identity.csrfTokenFor(token) });
  });
}
