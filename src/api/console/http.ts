import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Identity, Role, User } from '../../identity/index.js';
import { ConsoleError, sendApiError } from './errors.js';
import { bodyDeadline } from '../http.js';

/** Cookie holding the session token (HttpOnly). */
export const SESSION_COOKIE = 'apiary_session';
/** Cookie holding the CSRF token (HttpOnly: the page takes the token from the login and /me answers). */
export const CSRF_COOKIE = 'apiary_csrf';
/** Header a cookie-authenticated mutating request must carry, equal to the session's CSRF token. */
export const CSRF_HEADER = 'x-apiary-csrf';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by {@link requireUser}. */
    apiaryUser?: User;
  }
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

/** A request body that is not the JSON the route needs: 400 `BadRequest`. */
export class BadJsonError extends ConsoleError {
  override readonly name: string = 'BadJsonError';
  constructor(message: string) {
    super('BadRequest', message);
  }
}

/**
 * The JSON body of a request. The server registers no body parser (S3 streams its bodies), so this
 * reads the raw stream, up to `maxBytes`, unless a parser already did. Throws BadJsonError.
 */
export async function readJsonBody(req: FastifyRequest, maxBytes = 1024 * 1024): Promise<unknown> {
  if (req.body !== undefined && req.body !== null) {
    if (typeof req.body === 'string' || Buffer.isBuffer(req.body))
      return parse(req.body.toString());
    return req.body;
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes)
    throw new BadJsonError(`The request body is larger than ${maxBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  const disarm = bodyDeadline(req.raw);
  try {
    for await (const chunk of req.raw) {
      size += (chunk as Buffer).length;
      if (size > maxBytes)
        throw new BadJsonError(`The request body is larger than ${maxBytes} bytes`);
      chunks.push(chunk as Buffer);
    }
  } finally {
    disarm();
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

export const sessionTokenOf = (req: FastifyRequest): string | undefined =>
  parseCookies(req.headers.cookie)[SESSION_COOKIE];

export function headerOf(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export const publicUser = (u: User) => ({
  username: u.username,
  role: u.role,
  groups: u.groups,
  root: u.root,
});

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A Fastify preHandler: 401 without a valid session, 403 when the role is not in `roles`
 * (any role when omitted), 403 on a mutating method without the right `x-apiary-csrf` header.
 * On success `req.apiaryUser` holds the user.
 */
export function requireUser(
  identity: Identity,
  roles?: readonly Role[],
): preHandlerAsyncHookHandler {
  return async function requireApiaryUser(req, reply) {
    const token = sessionTokenOf(req);
    const user = await identity.authenticate(token);
    if (!user || !token) {
      await sendApiError(reply, 'Unauthorized', 'Sign in first');
      return;
    }
    if (roles && !roles.includes(user.role)) {
      await sendApiError(reply, 'Forbidden', 'Your account may not use this page');
      return;
    }
    if (!SAFE_METHODS.has(req.method) && !identity.checkCsrf(token, headerOf(req, CSRF_HEADER))) {
      await sendApiError(
        reply,
        'CsrfTokenInvalid',
        `Missing or wrong ${CSRF_HEADER} header; reload the page`,
      );
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
