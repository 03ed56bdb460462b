import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { IdentityError, type Identity, type Role, type User } from './identity.js';

/** Cookie holding the session token (HttpOnly). */
export const SESSION_COOKIE = 'apiary_session';
/** Cookie holding the CSRF token (readable by the page: the double-submit half). */
export const CSRF_COOKIE = 'apiary_csrf';
/** Header a cookie-authenticated mutating request must carry, equal to the session's CSRF token. */
export const CSRF_HEADER = 'x-apiary-csrf';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by {@link requireUser}. */
    apiaryUser?: User;
  }
}

/** The JSON error shape of every `/_apiary/api` route: `{"error": {"code", "message"}}`. */
export function sendApiError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .send(JSON.stringify({ error: { code, message } }));
}

/** Sends a JSON body with the headers every `/_apiary/api` answer carries. */
export function sendApiJson(reply: FastifyReply, body: unknown, status = 200): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .send(JSON.stringify(body));
}

export class BadJsonError extends Error {}

/**
 * The JSON body of a request. The server registers no body parser (S3 streams its bodies), so this
 * reads the raw stream, up to `maxBytes`, unless a parser already did. Throws BadJsonError.
 */
export async function readJsonBody(req: FastifyRequest, maxBytes = 1024 * 1024): Promise<unknown> {
  if (req.body !== undefined && req.body !== null) {
    if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) return parse(req.body.toString());
    return req.body;
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw new BadJsonError(`The request body is larger than ${maxBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new BadJsonError(`The request body is larger than ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return parse(text === '' ? '{}' : text);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BadJsonError('The request body is not valid JSON');
  }
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name in out) continue; // first wins, as browsers send the most specific path first
    try {
      out[name] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      /* ignore a malformed cookie */
    }
  }
  return out;
}

export const sessionTokenOf = (req: FastifyRequest): string | undefined => parseCookies(req.headers.cookie)[SESSION_COOKIE];

const isHttps = (req: FastifyRequest): boolean => req.protocol === 'https';

function cookie(name: string, value: string, req: FastifyRequest, opts: { httpOnly: boolean; maxAgeSeconds: number }): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    'Path=/',
    `Max-Age=${opts.maxAgeSeconds}`,
    'SameSite=Strict',
    ...(opts.httpOnly ? ['HttpOnly'] : []),
    ...(isHttps(req) ? ['Secure'] : []),
  ].join('; ');
}

export const publicUser = (u: User) => ({
  username: u.username,
  role: u.role,
  groups: u.groups,
  root: u.root,
});

/**
 * `POST /_apiary/api/login` {username, password} → sets the session and CSRF cookies, answers
 * {user, csrfToken}; `POST /_apiary/api/logout`; `GET /_apiary/api/me` → {user, csrfToken} or 401.
 */
export function registerAuthRoutes(app: FastifyInstance, identity: Identity): void {
  app.post('/_apiary/api/login', async (req, reply) => {
    let body: unknown;
    try {
      body = await readJsonBody(req, 16 * 1024);
    } catch (err) {
      return sendApiError(reply, 400, 'BadRequest', (err as Error).message);
    }
    const { username, password } = (body ?? {}) as { username?: unknown; password?: unknown };
    if (typeof username !== 'string' || typeof password !== 'string' || username === '' || password === '') {
      return sendApiError(reply, 400, 'ValidationError', 'Send {"username": "...", "password": "..."}');
    }
    try {
      const r = await identity.login(username, password, req.ip);
      const maxAge = Math.floor(identity.sessionTtlMs / 1000);
      void reply.header('set-cookie', [
        cookie(SESSION_COOKIE, r.sessionToken, req, { httpOnly: true, maxAgeSeconds: maxAge }),
        cookie(CSRF_COOKIE, r.csrfToken, req, { httpOnly: false, maxAgeSeconds: maxAge }),
      ]);
      return sendApiJson(reply, { user: publicUser(r.user), csrfToken: r.csrfToken });
    } catch (err) {
      if (err instanceof IdentityError) {
        if (err.retryAfterSeconds) void reply.header('retry-after', String(err.retryAfterSeconds));
        return sendApiError(reply, err.status, err.code, err.message);
      }
      throw err;
    }
  });

  app.post('/_apiary/api/logout', async (req, reply) => {
    const token = sessionTokenOf(req);
    // Logging out needs the CSRF header too, so another site cannot sign a user out.
    if (token && (await identity.authenticate(token))) {
      if (!identity.checkCsrf(token, headerOf(req, CSRF_HEADER))) {
        return sendApiError(reply, 403, 'CsrfTokenInvalid', `Missing or wrong ${CSRF_HEADER} header`);
      }
      await identity.logout(token);
    }
    void reply.header('set-cookie', [
      cookie(SESSION_COOKIE, '', req, { httpOnly: true, maxAgeSeconds: 0 }),
      cookie(CSRF_COOKIE, '', req, { httpOnly: false, maxAgeSeconds: 0 }),
    ]);
    return sendApiJson(reply, {});
  });

  app.get('/_apiary/api/me', async (req, reply) => {
    const token = sessionTokenOf(req);
    const user = await identity.authenticate(token);
    if (!user || !token) return sendApiError(reply, 401, 'Unauthorized', 'Sign in first');
    return sendApiJson(reply, { user: publicUser(user), csrfToken: identity.csrfTokenFor(token) });
  });
}

function headerOf(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A Fastify preHandler: 401 without a valid session, 403 when the role is not in `roles`
 * (any role when omitted), 403 on a mutating method without the right `x-apiary-csrf` header.
 * On success `req.apiaryUser` holds the user.
 */
export function requireUser(identity: Identity, roles?: readonly Role[]): preHandlerAsyncHookHandler {
  return async function requireApiaryUser(req, reply) {
    const token = sessionTokenOf(req);
    const user = await identity.authenticate(token);
    if (!user || !token) {
      await sendApiError(reply, 401, 'Unauthorized', 'Sign in first');
      return;
    }
    if (roles && !roles.includes(user.role)) {
      await sendApiError(reply, 403, 'Forbidden', 'Your account may not use this page');
      return;
    }
    if (!SAFE_METHODS.has(req.method) && !identity.checkCsrf(token, headerOf(req, CSRF_HEADER))) {
      await sendApiError(reply, 403, 'CsrfTokenInvalid', `Missing or wrong ${CSRF_HEADER} header; reload the page`);
      return;
    }
    req.apiaryUser = user;
  };
}

/** The user set by {@link requireUser}; throws when the route forgot the preHandler. */
export function currentUser(req: FastifyRequest): User {
  if (!req.apiaryUser) throw new Error('route has no requireUser preHandler');
  return req.apiaryUser;
}
