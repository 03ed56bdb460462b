import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../shared/clock.js';
import { openDatabase, type Database } from '../store/index.js';
import { createIdentity, identityMigrations, IdentityError, type Identity } from './index.js';

// The HTTP surface (cookies, the requireUser guard) is tested in api/console/auth-routes.test.ts.
const root = { accessKeyId: 'AKAPROOTKEY000000001', secretAccessKey: 'root-secret-0123456789' };
let dir: string;
let database: Database;
let identity: Identity;
const clock = new FakeClock();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-identity-'));
  database = await openDatabase({ dataDir: dir, migrations: identityMigrations });
  identity = createIdentity({ db: database.db, clock, rootCredentials: root, maxLoginFailures: 3 });
  await identity.createUser({
    username: 'ada',
    password: 'correct horse',
    role: 'worker',
    groups: ['bees', 'wasps'],
  });
});
afterAll(async () => {
  await database?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('identity: accounts, sessions, CSRF and the login limit', () => {
  it('signs the root access key in as an admin', async () => {
    const r = await identity.login(root.accessKeyId, root.secretAccessKey, '10.0.0.1');
    expect(r.user).toMatchObject({ username: root.accessKeyId, role: 'admin', root: true });
    expect(await identity.authenticate(r.sessionToken)).toMatchObject({
      username: root.accessKeyId,
    });
  });

  it('stores passwords as scrypt hashes and sessions only as hashes', async () => {
    const r = await identity.login('ADA', 'correct horse', '10.0.0.1');
    expect(r.user).toMatchObject({
      username: 'ada',
      role: 'worker',
      groups: ['bees', 'wasps'],
      root: false,
    });
    const db = database.db as any;
    const users = await db.selectFrom('users').selectAll().execute();
    expect(users[0].password_hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(JSON.stringify(users)).not.toContain('correct horse');
    const sessions = await db.selectFrom('sessions').selectAll().execute();
    expect(JSON.stringify(sessions)).not.toContain(r.sessionToken);
  });

  it("binds the CSRF token to its session: one session's token fails for another", async () => {
    const a = await identity.login('ada', 'correct horse', '10.0.0.1');
    const b = await identity.login('ada', 'correct horse', '10.0.0.1');
    expect(identity.checkCsrf(a.sessionToken, a.csrfToken)).toBe(true);
    expect(identity.checkCsrf(a.sessionToken, b.csrfToken)).toBe(false);
    expect(identity.checkCsrf(a.sessionToken, undefined)).toBe(false);
  });

  it('fails wrong passwords with InvalidCredentials, then TooManyRequests with a retry time', async () => {
    await identity.createUser({ username: 'eve', password: 'eve-password', role: 'worker' });
    for (let i = 0; i < 3; i++) {
      await expect(identity.login('eve', 'wrong-password', '10.0.1.9')).rejects.toMatchObject({
        code: 'InvalidCredentials',
        message: 'The username or password is incorrect',
      });
    }
    const limited = await identity
      .login('eve', 'eve-password', '10.0.1.9')
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(IdentityError);
    expect(limited).toMatchObject({ code: 'TooManyRequests', retryAfterSeconds: 900 });
  });

  it('validates usernames, passwords and duplicates', async () => {
    await expect(
      identity.createUser({ username: '<img src=x>', password: 'longenough', role: 'worker' }),
    ).rejects.toMatchObject({
      code: 'ValidationError',
    });
    await expect(
      identity.createUser({ username: 'carol', password: 'short', role: 'worker' }),
    ).rejects.toMatchObject({
      message: 'A password is 8-1024 characters long',
    });
    await expect(
      identity.createUser({ username: 'Ada', password: 'longenough', role: 'worker' }),
    ).rejects.toMatchObject({
      code: 'UserExists',
      message: "A user named 'Ada' already exists",
    });
  });

  it('maps groups to user ids for work teams', async () => {
    const ada = await identity.findUser('ada');
    expect(await identity.userIdsInGroups(['wasps'])).toEqual([ada!.id]);
    expect(await identity.userIdsInGroups(['nobody'])).toEqual([]);
  });
});

describe('apiary users (CLI)', () => {
  it('adds a worker from stdin and lists it', async () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-cli-users-'));
    const env = {
      ...process.env,
      APIARY_DATA_DIR: data,
      APIARY_LOG_LEVEL: 'silent',
      APIARY_FROM_SOURCE: '1',
      NODE_NO_WARNINGS: '1',
    };
    const bin = path.resolve(import.meta.dirname, '../../bin/apiary');
    try {
      const add = await new Promise<string>((resolve, reject) => {
        const child = execFile(
          bin,
          ['users', 'add', 'wendy', '--role', 'worker', '--password-stdin', '--group', 'bees'],
          { env },
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        );
        child.stdin!.end('wendy-password\n');
      });
      expect(add).toBe("Created worker 'wendy' in groups bees\n");
      const { stdout } = await promisify(execFile)(bin, ['users', 'list'], { env });
      expect(stdout).toBe('USERNAME  ROLE    STATUS  GROUPS\nwendy     worker  active  bees\n');
      const dup = await promisify(execFile)(bin, ['users', 'add', 'wendy', '--role', 'admin'], {
        env,
      }).catch((e) => e);
      expect(dup.code).toBe(1);
      expect(dup.stderr).toBe("apiary: A user named 'wendy' already exists\n");
    } finally {
      fs.rmSync(data, { recursive: true, force: true });
    }
  });
});
