import { describe, expect, it } from 'vitest';
import { InvokeErrorCodes } from '../../hosting/index.js';
import { loadServiceModel } from '../service-model.js';
import { RUNTIME_ERRORS } from './errors.js';

describe('the SageMaker Runtime error catalog', () => {
  it('gives every code an HTTP status and a default message', () => {
    for (const [code, spec] of Object.entries(RUNTIME_ERRORS)) {
      expect(Number.isInteger(spec.status) && spec.status >= 400 && spec.status < 600, code).toBe(
        true,
      );
      expect(spec.message.length, code).toBeGreaterThan(0);
    }
  });

  it("answers each exception InvokeEndpoint can raise with the status botocore's model gives it", () => {
    const model = loadServiceModel('sagemaker-runtime-2017-05-13');
    const errors = model.operations.InvokeEndpoint!.errors!.map((e) => e.shape);
    expect(errors.length).toBeGreaterThan(0);
    for (const name of errors) {
      const declared = (model.shapes[name] as { error?: { httpStatusCode?: number } }).error
        ?.httpStatusCode;
      expect(RUNTIME_ERRORS[name as keyof typeof RUNTIME_ERRORS]?.status, name).toBe(
        declared ?? 400,
      );
    }
  });

  it('knows the well-known statuses and has a row for every code hosting throws', () => {
    expect(RUNTIME_ERRORS.ValidationError.status).toBe(400);
    expect(RUNTIME_ERRORS.ModelError.status).toBe(424);
    expect(RUNTIME_ERRORS.ModelNotReadyException.status).toBe(429);
    expect(RUNTIME_ERRORS.ServiceUnavailable.status).toBe(503);
    expect(RUNTIME_ERRORS.InternalDependencyException.status).toBe(530);
    expect(RUNTIME_ERRORS.PayloadTooLarge).toMatchObject({
      status: 413,
      wireCode: 'ValidationError',
    });
    for (const code of Object.keys(InvokeErrorCodes))
      expect(code in RUNTIME_ERRORS, code).toBe(true);
  });
});
