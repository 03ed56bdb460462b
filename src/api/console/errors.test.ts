import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvokeError } from '../../hosting/index.js';
import { IdentityError } from '../../identity/index.js';
import { TaskError } from '../../labeling/index.js';
import { ObjectStoreError } from '../../objects/index.js';
import { AppError, ErrorCodes } from '../../shared/errors.js';
import { CONSOLE_ERRORS, ConsoleError, sendConsoleError } from './errors.js';

describe('the console and worker-portal error catalog', () => {
  it('gives every code an HTTP status and a default message', () => {
    for (const [code, spec] of Object.entries(CONSOLE_ERRORS)) {
      expect(Number.isInteger(spec.status) && spec.status >= 400 && spec.status < 600, code).toBe(
        true,
      );
      expect(spec.message.length, code).toBeGreaterThan(0);
    }
  });

  // The object store's, hosting's, labeling's and identity's codes are checked when errors.ts compiles.
  it('has a row for every code a context throws as AppError', () => {
    for (const code of Object.values(ErrorCodes)) expect(code in CONSOLE_ERRORS, code).toBe(true);
  });

  it("answers the S3 codes with the S3 API's statuses (EntityTooLarge is 400, as in S3)", () => {
    expect(CONSOLE_ERRORS.EntityTooLarge.status).toBe(400);
    expect(CONSOLE_ERRORS.NoSuchKey.status).toBe(404);
    expect(CONSOLE_ERRORS.BucketNotEmpty.status).toBe(409);
    expect(CONSOLE_ERRORS.PreconditionFailed.status).toBe(412);
    expect(CONSOLE_ERRORS.Unauthorized.status).toBe(401);
    expect(CONSOLE_ERRORS.CsrfTokenInvalid.status).toBe(403);
  });
});

describe('sendConsoleError: the console boundary', () => {
  const app = Fastify({ logger: false });
  const failures: Record<string, () => unknown> = {
    console: () => new ConsoleError('NoSuchBucket', "The bucket 'b' does not exist"),
    app: () => new AppError(ErrorCodes.NotFound, 'Could not find requested job with name j'),
    objects: () => new ObjectStoreError('EntityTooLarge', 'The object is larger than 5 GiB'),
    task: () => new TaskError('Conflict', 'The task changed since you loaded it', 7),
    login: () => new IdentityError('TooManyRequests', 'Too many failed sign-ins', 429, 60),
    model: () => new InvokeError('ModelError', 'The model failed to run on the input'),
    bug: () => new Error('EACCES: permission denied, open /srv/apiary/data/db.sqlite'),
    internal: () => new AppError(ErrorCodes.Internal, 'illegal transition at /src/x.ts'),
  };
  beforeAll(async () => {
    app.get<{ Params: { kind: string } }>('/:kind', async (req, reply) =>
      sendConsoleError(reply, failures[req.params.kind]!()),
    );
    await app.ready();
  });
  afterAll(() => app.close());
  const get = async (kind: string) => {
    const r = await app.inject({ method: 'GET', url: `/${kind}` });
    return {
      status: r.statusCode,
      headers: r.headers,
      body: r.json() as { error: Record<string, unknown> },
    };
  };

  it("answers each context's error with its code, message and the catalog's status", async () => {
    expect(await get('console')).toMatchObject({
      status: 404,
      body: { error: { code: 'NoSuchBucket', message: "The bucket 'b' does not exist" } },
    });
    expect(await get('app')).toMatchObject({
      status: 404,
      body: { error: { code: 'ResourceNotFound' } },
    });
    expect(await get('objects')).toMatchObject({
      status: 400,
      body: { error: { code: 'EntityTooLarge' } },
    });
    expect(await get('model')).toMatchObject({
      status: 424,
      body: { error: { code: 'ModelError' } },
    });
  });

  it("keeps a stale save's currentVersion and a rate limit's Retry-After", async () => {
    expect((await get('task')).body).toEqual({
      error: {
        code: 'Conflict',
        message: 'The task changed since you loaded it',
        currentVersion: 7,
      },
    });
    const limited = await get('login');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('60');
  });

  it('answers anything unexpected as InternalFailure with the request id and no internals', async () => {
    for (const kind of ['bug', 'internal']) {
      const r = await get(kind);
      expect(r.status).toBe(500);
      expect(r.body.error.code).toBe('InternalFailure');
      expect(r.body.error.message).toMatch(
        /^The request processing has failed because of an unknown error \(request id .+\)\.$/,
      );
      expect(JSON.stringify(r.body)).not.toMatch(/\/srv|\/src|EACCES/);
    }
  });
});
