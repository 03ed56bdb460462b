import { describe, expect, it } from 'vitest';
import { AppError, ErrorCodes } from '../../shared/errors.js';
import { loadServiceModel } from '../service-model.js';
import { LOGS_ERRORS } from '../logs/errors.js';
import { AWS_JSON_ERRORS, SAGEMAKER_ERRORS, sageMakerError } from './errors.js';
import { JsonProtocol, type JsonResponse } from './protocol.js';

const sagemakerModel = loadServiceModel('sagemaker-2017-07-24');

describe('the SageMaker JSON 1.1 error catalog', () => {
  it('gives every code an HTTP status and a default message', () => {
    for (const catalog of [AWS_JSON_ERRORS, SAGEMAKER_ERRORS, LOGS_ERRORS]) {
      for (const [code, spec] of Object.entries(catalog)) {
        expect(Number.isInteger(spec.status) && spec.status >= 400 && spec.status < 600, code).toBe(
          true,
        );
        expect(spec.message.length, code).toBeGreaterThan(0);
      }
    }
  });

  it("answers each exception botocore's sagemaker model declares with its status (400: none has one)", () => {
    const modeled = Object.entries(sagemakerModel.shapes).filter(([, s]) => s.exception);
    expect(modeled.map(([n]) => n).sort()).toEqual([
      'ConflictException',
      'ResourceInUse',
      'ResourceLimitExceeded',
      'ResourceNotFound',
    ]);
    for (const [name] of modeled)
      expect(SAGEMAKER_ERRORS[name as keyof typeof SAGEMAKER_ERRORS].status, name).toBe(400);
  });

  it('has a row for every code a context throws', () => {
    for (const code of Object.values(ErrorCodes))
      expect(SAGEMAKER_ERRORS[code], code).toBeDefined();
  });

  it('knows the statuses AWS documents for the common errors', () => {
    expect(SAGEMAKER_ERRORS.ValidationException.status).toBe(400);
    expect(SAGEMAKER_ERRORS.ThrottlingException.status).toBe(400);
    expect(SAGEMAKER_ERRORS.InternalFailure.status).toBe(500);
    expect(SAGEMAKER_ERRORS.ServiceUnavailable.status).toBe(503);
    expect(SAGEMAKER_ERRORS.MissingAuthenticationTokenException.status).toBe(403);
    expect(SAGEMAKER_ERRORS.PayloadTooLarge).toMatchObject({
      status: 413,
      wireCode: 'SerializationException',
    });
  });

  it("matches the Logs rows to exceptions botocore's logs model declares", () => {
    const logsModel = loadServiceModel('logs-2014-03-28');
    for (const code of [
      'ResourceNotFoundException',
      'InvalidParameterException',
      'InvalidOperationException',
      'LimitExceededException',
      'ServiceUnavailableException',
    ]) {
      expect(logsModel.shapes[code]?.exception, code).toBe(true);
      expect(code in LOGS_ERRORS, code).toBe(true);
    }
  });
});

describe('JsonProtocol: the one place an error takes its wire shape', () => {
  const logged: { err: unknown; requestId: string }[] = [];
  const protocol = new JsonProtocol(
    sagemakerModel,
    'SageMaker',
    {
      DescribeTrainingJob: async () => {
        throw new AppError(ErrorCodes.Validation, 'Requested resource not found.');
      },
      DescribeLabelingJob: async () => {
        throw sageMakerError('ResourceNotFound', 'Could not find requested job with name x');
      },
      DescribeModel: async () => {
        throw new Error('ENOENT: no such file or directory, open /var/lib/apiary/secret');
      },
      DescribeEndpoint: async () => {
        throw new AppError(
          ErrorCodes.Internal,
          'illegal transition InService -> Creating in /src/hosting/x.ts',
        );
      },
    },
    SAGEMAKER_ERRORS,
    (err, requestId) => logged.push({ err, requestId }),
  );
  const call = (op: string, input: unknown = {}) =>
    protocol.handle(`SageMaker.${op}`, Buffer.from(JSON.stringify(input)), 'AKID', 'req-1');
  const body = (r: JsonResponse) => JSON.parse(r.body) as Record<string, unknown>;

  it('answers a context error with its code, message, the header and the status from the catalog', async () => {
    const r = await call('DescribeTrainingJob', { TrainingJobName: 'x' });
    expect(r.status).toBe(400);
    expect(r.headers['x-amzn-errortype']).toBe('ValidationException');
    expect(r.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(r.headers.date).toBeDefined();
    expect(body(r)).toEqual({
      __type: 'ValidationException',
      message: 'Requested resource not found.',
      Message: 'Requested resource not found.',
    });
    expect(
      (await call('DescribeLabelingJob', { LabelingJobName: 'x' })).headers['x-amzn-errortype'],
    ).toBe('ResourceNotFound');
  });

  it('answers anything unexpected as InternalFailure without internals, logged with the request id', async () => {
    logged.length = 0;
    for (const r of [
      await call('DescribeModel', { ModelName: 'm' }),
      await call('DescribeEndpoint', { EndpointName: 'e' }),
    ]) {
      expect(r.status).toBe(500);
      expect(body(r)).toMatchObject({
        __type: 'InternalFailure',
        message:
          'The request processing has failed because of an unknown error (request id req-1).',
      });
      expect(r.body).not.toMatch(/\/var\/lib|\/src\/|ENOENT|at /);
    }
    expect(logged.map((l) => l.requestId)).toEqual(['req-1', 'req-1']);
    expect((logged[0]!.err as Error).message).toContain('ENOENT');
  });

  it("answers the protocol's own errors: unknown operation, bad JSON, constraint violations", async () => {
    const unknown = await protocol.handle('SageMaker.Nope', Buffer.from('{}'), 'AKID', 'r');
    expect([unknown.status, body(unknown).__type]).toEqual([400, 'UnknownOperationException']);
    const bad = await protocol.handle('SageMaker.DescribeModel', Buffer.from('{nope'), 'AKID', 'r');
    expect([bad.status, body(bad).__type]).toEqual([400, 'SerializationException']);
    const invalid = await call('DescribeModel', { ModelName: '../x' });
    expect([invalid.status, body(invalid).__type]).toEqual([400, 'ValidationException']);
    expect(body(invalid).message).toContain(
      "Value '../x' at 'modelName' failed to satisfy constraint",
    );
  });

  it('treats a code that is not in the catalog as internal (a Logs code thrown at SageMaker)', async () => {
    const logs = new JsonProtocol(
      loadServiceModel('logs-2014-03-28'),
      'Logs_20140328',
      {
        DescribeLogStreams: async () => {
          throw new AppError(ErrorCodes.NotFound, 'no such job');
        },
      },
      LOGS_ERRORS,
      () => {},
    );
    const r = await logs.handle(
      'Logs_20140328.DescribeLogStreams',
      Buffer.from('{"logGroupName":"g"}'),
      'AKID',
      'r2',
    );
    expect([r.status, body(r).__type]).toEqual([500, 'InternalFailure']);
  });
});
