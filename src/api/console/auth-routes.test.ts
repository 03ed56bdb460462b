import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentity, identityMigrations, type Identity } from '../../identity/index.js';
import { FakeClock } from '../../shared/clock.js';
import { openDatabase, type Database } from '../../store/index.js';
import { registerAuthRoutes } from './auth-routes.js';
import { currentUser, requireUser } from './http.js';

const root = { accessKeyId: 'AKAPROOTKEY000000001', secretAccessKey: 'root-secret-0123456789' };
let dir: string;
let database: Database;
let identity: Identity;
let app: FastifyInstance;
const clock = new FakeClock();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-auth-routes-'));
  database = await openDatabase({ dataDir: dir, migrations: identityMigrations });
  identity = createIdentity({ db: database.db, clock, rootCredentials: root, maxLoginFailures: 3 });
  app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));
  registerAuthRoutes(app, identity);
  app.get(
    '/_apiary/api/admin-only',
    { preHandler: requireUser(identity, ['admin']) },
    async (req) => ({
      who: currentUser(req).username,
    }),
  );
  app.post('/_apiary/api/any-user', { preHandler: requireUser(identity) }, async (req) => ({
    who: currentUser(req).username,
  }));
  await app.ready();
  await identity.createUser({
    username: 'ada',
    password: 'correct horse',
    role: 'worker',
    groups: ['bees', 'wasps'],
  });
});
afterAll(async () => {
  await app?.close();
  await database?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const login = (username: string, password: string, ip = '10.0.0.1') =>
  app.inject({
    method: 'POST',
    url: '/_apiary/api/login',
    payload: { username, password },
    remoteAddress: ip,
  });

function cookiesOf(res: { headers: Record<string, unknown> }): string {
  const set = res.headers['set-cookie'] as string[];
  return set.map((c) => c.split(';')[0]).join('; ');
}

describe('console sign-in routes: cookies, the requireUser guard, CSRF and the login limit', () => {
  it('signs the root access key in as an admin so a fresh install can open the console', async () => {
    const res = await login(root.accessKeyId, root.secretAccessKey);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.user).toEqual({
      username: root.accessKeyId,
      role: 'admin',
      groups: [],
      root: true,
    });
    const setCookie = res.headers['set-cookie'] as string[];
    expect(setCookie[0]).toMatch(
      /^apiary_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; SameSite=Strict; HttpOnly$/,
    );
    expect(setCookie[1]).toMatch(
      /^apiary_csrf=[A-Za-z0-9_-]+; Path=\/; Max-Age=43200; SameSite=Strict; HttpOnly$/,
    ); // scripts never read it: the page has it from this answer
    expect(setCookie[1]).toContain(body.csrfToken);
    const me = await app.inject({
      method: 'GET',
      url: '/_apiary/api/me',
      headers: { cookie: cookiesOf(res) },
    });
    expect(me.json()).toEqual({ user: body.user, csrfToken: body.csrfToken });
    const admin = await app.inject({
      method: 'GET',
      url: '/_apiary/api/admin-only',
      headers: { cookie: cookiesOf(res) },
    });
    expect(admin.json()).toEqual({ who: root.accessKeyId });
  });

  it('stores passwords as scrypt hashes and sessions only as hashes', async () => {
    const res = await login('ADA', 'correct horse');
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toEqual({
      username: 'ada',
      role: 'worker',
      groups: ['bees', 'wasps'],
      root: false,
    });
    const token = (res.headers['set-cookie'] as string[])[0]!.split(';')[0]!.split('=')[1]!;
    const db = database.db as any;
    const users = await db.selectFrom('users').selectAll().execute();
    expect(users[0].password_hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(JSON.stringify(users)).not.toContain('correct horse');
    const sessions = await db.selectFrom('sessions').selectAll().execute();
    expect(JSON.stringify(sessions)).not.toContain(token);
  });

  it('answers 401 without a session, 403 for the wrong role, 403 without the CSRF header', async () => {
    expect((await app.inject({ method: 'GET', url: '/_apiary/api/admin-only' })).json()).toEqual({
      error: { code: 'Unauthorized', message: 'Sign in first' },
    });
    const res = await login('ada', 'correct horse');
    const cookie = cookiesOf(res);
    const forbidden = await app.inject({
      method: 'GET',
      url: '/_apiary/api/admin-only',
      headers: { cookie },
    });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.code).toBe('Forbidden');
    const noCsrf = await app.inject({
      method: 'POST',
      url: '/_apiary/api/any-user',
      headers: { cookie },
    });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().error.code).toBe('CsrfTokenInvalid');
    const wrongCsrf = await app.inject({
      method: 'POST',
      url: '/_apiary/api/any-user',
      headers: { cookie, 'x-apiary-csrf': 'x'.repeat(43) },
    });
    expect(wrongCsrf.statusCode).toBe(403);
    const ok = await app.inject({
      method: 'POST',
      url: '/_apiary/api/any-user',
      headers: { cookie, 'x-apiary-csrf': res.json().csrfToken },
    });
    expect(ok.json()).toEqual({ who: 'ada' });
  });

  it("does not accept one session's CSRF token for another session", async () => {
    const a = await login('ada', 'correct horse');
    const b = await login('ada', 'correct horse');
    const res = await app.inject({
      method: 'POST',
      url: '/_apiary/api/any-user',
      headers: { cookie: cookiesOf(a), 'x-apiary-csrf': b.json().csrfToken },
    });
    expect(res.statusCode).toBe(403);
  });

  it('rate-limits failed sign-ins per username and address, then forgives after the window', async () => {
    await identity.createUser({ username: 'bob', password: 'bob-password', role: 'worker' });
    for (let i = 0; i < 3; i++) {
      const r = await login('bob', 'wrong-password', '10.0.0.9');
      expect(r.statusCode).toBe(401);
      expect(r.json()).toEqual({
        error: { code: 'InvalidCredentials', message: 'The username or password is incorrect' },
      });
    }
    const limited = await login('bob', 'bob-password', '10.0.0.9');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('900');
    expect(limited.json().error.code).toBe('TooManyRequests');
    // Another address is not locked out by someone else's guesses.
    expect((await login('bob', 'bob-password', '10.0.0.10')).statusCode).toBe(200);
    clock.advance(15 * 60_000 + 1);
    expect((await login('bob', 'bob-password', '10.0.0.9')).statusCode).toBe(200);
  });

  it('expires sessions, and logout, disabling or a new password ends them', async () => {
    const res = await login('ada', 'correct horse');
    const cookie = cookiesOf(res);
    const csrf = res.json().csrfToken;
    const out = await app.inject({
      method: 'POST',
      url: '/_apiary/api/logout',
      headers: { cookie, 'x-apiary-csrf': csrf },
    });
    expect(out.statusCode).toBe(200);
    expect(
      (await app.inject({ method: 'GET', url: '/_apiary/api/me', headers: { cookie } })).statusCode,
    ).toBe(401);

    const again = cookiesOf(await login('ada', 'correct horse'));
    await identity.setDisabled('ada', true);
    expect(
      (await app.inject({ method: 'GET', url: '/_apiary/api/me', headers: { cookie: again } }))
        .statusCode,
    ).toBe(401);
    expect((await login('ada', 'correct horse')).statusCode).toBe(401);
    await identity.setDisabled('ada', false);

    const third = cookiesOf(await login('ada', 'correct horse'));
    await identity.setPassword('ada', 'battery staple');
    expect(
      (await app.inject({ method: 'GET', url: '/_apiary/api/me', headers: { cookie: third } }))
        .statusCode,
    ).toBe(401);

    const fourth = cookiesOf(await login('ada', 'battery staple'));
    clock.advance(12 * 3600_000 + 1);
    expect(
      (await app.inject({ method: 'GET', url: '/_apiary/api/me', headers: { cookie: fourth } }))
        .statusCode,
    ).toBe(401);
  });

  it('answers a body that is not JSON with 400 BadRequest and a missing password with ValidationError', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/_apiary/api/login',
      payload: '{nope',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      error: { code: 'BadRequest', message: 'The request body is not valid JSON' },
    });
    const noPassword = await login('ada', '');
    expect(noPassword.statusCode).toBe(400);
    expect(noPassword.json()).toEqual({
      error: { code: 'ValidationError', message: 'Send {"username": "...", "password": "..."}' },
    });
  });
});
