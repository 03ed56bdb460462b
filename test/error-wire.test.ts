import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';
import { signedFetch } from './helpers/signed-fetch.js';

const run = promisify(execFile);
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({}, {}, { tmpPrefix: 'apiary-error-wire-' });
});
afterAll(async () => {
  await server?.close();
});

/** Status, x-amzn-ErrorType and the JSON body of an AWS JSON / rest-json error answer. */
async function awsError(r: Response) {
  return {
    status: r.status,
    type: r.headers.get('x-amzn-errortype'),
    date: r.headers.get('date') !== null,
    body: await r.json(),
  };
}

describe('errors on the wire, one catalog per protocol', () => {
  it('CloudWatch Logs answers an unknown log group with ResourceNotFoundException, as the aws CLI reads it', async () => {
    const r = await signedFetch(server, {
      service: 'logs',
      target: 'Logs_20140328.DescribeLogStreams',
      body: JSON.stringify({ logGroupName: '/nope' }),
    });
    expect(await awsError(r)).toEqual({
      status: 400,
      type: 'ResourceNotFoundException',
      date: true,
      body: {
        __type: 'ResourceNotFoundException',
        message: 'The specified log group does not exist.',
        Message: 'The specified log group does not exist.',
      },
    });
    const cli = await run('aws', ['logs', 'describe-log-streams', '--log-group-name', '/nope'], {
      env: server.env,
    }).catch((e: { stderr: string }) => e);
    expect((cli as { stderr: string }).stderr).toContain(
      'An error occurred (ResourceNotFoundException) when calling the DescribeLogStreams operation: The specified log group does not exist.',
    );
  });

  it('SageMaker answers a signed request on another path with 404 UnknownOperationException', async () => {
    const r = await signedFetch(server, {
      service: 'sagemaker',
      method: 'GET',
      path: '/models/x',
      target: undefined,
    });
    expect(await awsError(r)).toMatchObject({
      status: 404,
      type: 'UnknownOperationException',
      body: {
        __type: 'UnknownOperationException',
        message: 'No sagemaker operation matches GET /models/x',
      },
    });
  });

  it('SageMaker answers a wrong secret with 403 InvalidSignatureException and no credentials echoed', async () => {
    const r = await signedFetch(server, {
      service: 'sagemaker',
      target: 'SageMaker.ListModels',
      body: '{}',
      secret: 'not-the-secret',
    });
    const e = await awsError(r);
    expect(e).toMatchObject({ status: 403, type: 'InvalidSignatureException', date: true });
    expect(JSON.stringify(e.body)).not.toContain(server.credentials.secretAccessKey);
  });

  it('SageMaker answers an unsigned JSON request with 403 MissingAuthenticationTokenException', async () => {
    const r = await fetch(server.url, {
      method: 'POST',
      headers: {
        'x-amz-target': 'SageMaker.ListModels',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{}',
    });
    expect(await awsError(r)).toMatchObject({
      status: 403,
      type: 'MissingAuthenticationTokenException',
      body: { message: 'Missing Authentication Token' },
    });
  });

  it('the runtime answers a wrong method with 404 UnknownOperationException and an unknown endpoint with 400 ValidationError', async () => {
    const wrong = await signedFetch(server, {
      service: 'sagemaker',
      method: 'GET',
      path: '/endpoints/nope/invocations',
    });
    expect(await awsError(wrong)).toMatchObject({ status: 404, type: 'UnknownOperationException' });
    const missing = await signedFetch(server, {
      service: 'sagemaker',
      path: '/endpoints/nope/invocations',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(await awsError(missing)).toMatchObject({
      status: 400,
      type: 'ValidationError',
      body: { message: `Endpoint nope of account ${server.apiary.settings.accountId} not found.` },
    });
  });

  it('the console answers in its own shape: 401 Unauthorized, 400 BadRequest for a body that is not JSON', async () => {
    const r = await fetch(`${server.url}/_apiary/api/s3/buckets`);
    expect([r.status, await r.json()]).toEqual([
      401,
      { error: { code: 'Unauthorized', message: 'Sign in first' } },
    ]);
    const bad = await fetch(`${server.url}/_apiary/api/login`, {
      method: 'POST',
      body: '{nope',
      headers: { 'content-type': 'application/json' },
    });
    expect([bad.status, await bad.json()]).toEqual([
      400,
      { error: { code: 'BadRequest', message: 'The request body is not valid JSON' } },
    ]);
  });
});
