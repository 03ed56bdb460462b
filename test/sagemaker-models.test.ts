import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SageMakerClient,
  CreateModelCommand,
  DescribeModelCommand,
  ListModelsCommand,
  DeleteModelCommand,
  CreateEndpointConfigCommand,
  DescribeEndpointConfigCommand,
  DeleteEndpointConfigCommand,
  ListEndpointConfigsCommand,
  AddTagsCommand,
  ListTagsCommand,
  DeleteTagsCommand,
} from '@aws-sdk/client-sagemaker';
import { startTestServer, sdkConfig, type TestServer } from './helpers/server.js';
import { signedFetch } from './helpers/signed-fetch.js';

let server: TestServer;
let sm: SageMakerClient;

beforeAll(async () => {
  server = await startTestServer();
  sm = new SageMakerClient(sdkConfig(server));
});
afterAll(async () => {
  sm?.destroy();
  await server?.close();
});

const container = {
  Image: '811284229777.dkr.ecr.us-east-1.amazonaws.com/object-detection:1',
  ModelDataUrl: 's3://bees/output/job/output/model.tar.gz',
};

describe('SageMaker models and endpoint configs over the real JSON 1.1 protocol', () => {
  it('creates, describes, lists and deletes a model with the AWS SDK', async () => {
    const created = await sm.send(
      new CreateModelCommand({
        ModelName: 'Bee-Model',
        PrimaryContainer: container,
        ExecutionRoleArn: 'arn:aws:iam::000000000000:role/x',
      }),
    );
    expect(created.ModelArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:model/bee-model');
    const described = await sm.send(new DescribeModelCommand({ ModelName: 'Bee-Model' }));
    expect(described.PrimaryContainer?.ModelDataUrl).toBe(container.ModelDataUrl);
    expect(described.CreationTime).toBeInstanceOf(Date);
    expect(Math.abs(described.CreationTime!.getTime() - Date.now())).toBeLessThan(60_000);
    const listed = await sm.send(new ListModelsCommand({ NameContains: 'bee' }));
    expect(listed.Models?.map((m) => m.ModelName)).toEqual(['Bee-Model']);
    await sm.send(new DeleteModelCommand({ ModelName: 'Bee-Model' }));
    await expect(
      sm.send(new DescribeModelCommand({ ModelName: 'Bee-Model' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/bee-model".',
    });
  });

  it('rejects a duplicate model name case-insensitively', async () => {
    await sm.send(new CreateModelCommand({ ModelName: 'dup', PrimaryContainer: container }));
    await expect(
      sm.send(new CreateModelCommand({ ModelName: 'DUP', PrimaryContainer: container })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Cannot create already existing model'),
    });
  });

  it("answers a bad name with SageMaker's validation message", async () => {
    await expect(
      sm.send(new CreateModelCommand({ ModelName: '../x', PrimaryContainer: container })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message:
        "1 validation error detected: Value '../x' at 'modelName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?$",
    });
  });

  it('accepts a 63-character name and rejects a 64-character one', async () => {
    const ok = 'a'.repeat(63);
    await sm.send(new CreateModelCommand({ ModelName: ok, PrimaryContainer: container }));
    await expect(
      sm.send(new CreateModelCommand({ ModelName: ok + 'b', PrimaryContainer: container })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Member must have length less than or equal to 63'),
    });
  });

  it('rejects a ModelDataUrl outside the object store', async () => {
    await expect(
      sm.send(
        new CreateModelCommand({
          ModelName: 'filemodel',
          PrimaryContainer: { ...container, ModelDataUrl: 'file:///etc/passwd' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('creates endpoint configs only for existing models and pages through lists', async () => {
    await sm.send(new CreateModelCommand({ ModelName: 'cfgmodel', PrimaryContainer: container }));
    await expect(
      sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: 'bad',
          ProductionVariants: [
            {
              VariantName: 'AllTraffic',
              ModelName: 'nope',
              InitialInstanceCount: 1,
              InstanceType: 'ml.m5.large',
            },
          ],
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Could not find model'),
    });
    for (let i = 0; i < 5; i++) {
      await sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: `cfg-${i}`,
          ProductionVariants: [
            {
              VariantName: 'AllTraffic',
              ModelName: 'cfgmodel',
              InitialInstanceCount: 1,
              InstanceType: 'ml.m5.large',
            },
          ],
          Tags: [{ Key: 'team', Value: 'bees' }],
        }),
      );
    }
    const d = await sm.send(new DescribeEndpointConfigCommand({ EndpointConfigName: 'cfg-3' }));
    expect(d.ProductionVariants?.[0]?.ModelName).toBe('cfgmodel');
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await sm.send(
        new ListEndpointConfigsCommand({
          MaxResults: 2,
          NextToken: token,
          SortBy: 'Name',
          SortOrder: 'Ascending',
        }),
      );
      names.push(...(page.EndpointConfigs ?? []).map((c) => c.EndpointConfigName!));
      token = page.NextToken;
    } while (token);
    expect(names).toEqual(['cfg-0', 'cfg-1', 'cfg-2', 'cfg-3', 'cfg-4']);
    const tags = await sm.send(new ListTagsCommand({ ResourceArn: d.EndpointConfigArn }));
    expect(tags.Tags).toEqual([{ Key: 'team', Value: 'bees' }]);
    await sm.send(
      new AddTagsCommand({
        ResourceArn: d.EndpointConfigArn,
        Tags: [{ Key: 'stage', Value: 'dev' }],
      }),
    );
    await sm.send(new DeleteTagsCommand({ ResourceArn: d.EndpointConfigArn, TagKeys: ['team'] }));
    expect((await sm.send(new ListTagsCommand({ ResourceArn: d.EndpointConfigArn }))).Tags).toEqual(
      [{ Key: 'stage', Value: 'dev' }],
    );
    await sm.send(new DeleteEndpointConfigCommand({ EndpointConfigName: 'cfg-3' }));
    await expect(
      sm.send(new DescribeEndpointConfigCommand({ EndpointConfigName: 'cfg-3' })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('names an operation Apiary does not implement', async () => {
    const res = await signedFetch(server, {
      service: 'sagemaker',
      target: 'SageMaker.ListPipelines',
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(((await res.json()) as { message: string; __type: string }).message).toContain(
      'does not implement the operation ListPipelines',
    );
  });

  it('answers malformed JSON, deep nesting, wrong types and huge bodies with 400-class errors quickly', async () => {
    const bad = await signedFetch(server, {
      service: 'sagemaker',
      target: 'SageMaker.DescribeModel',
      body: '{"ModelName":',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string; __type: string }).__type).toBe(
      'SerializationException',
    );
    const deep = await signedFetch(server, {
      service: 'sagemaker',
      target: 'SageMaker.DescribeModel',
      body: '['.repeat(10_000) + ']'.repeat(10_000),
    });
    expect(deep.status).toBe(400);
    const typed = await signedFetch(server, {
      service: 'sagemaker',
      target: 'SageMaker.DescribeModel',
      body: '{"ModelName": 5}',
    });
    expect(typed.status).toBe(400);
    expect(((await typed.json()) as { message: string; __type: string }).__type).toBe(
      'SerializationException',
    );
    const started = Date.now();
    const huge = await signedFetch(server, {
      service: 'sagemaker',
      target: 'SageMaker.DescribeModel',
      body: JSON.stringify({ ModelName: 'x'.repeat(10 * 1024 * 1024) }),
    });
    expect([400, 413]).toContain(huge.status);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('rejects a wrong secret, a skewed clock and a missing signature', async () => {
    const wrong = await signedFetch(server, {
      service: 'sagemaker',
      target: 'SageMaker.ListModels',
      body: '{}',
      secret: 'not-the-secret',
    });
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    const skewed = await signedFetch(server, {
      service: 'sagemaker',
      target: 'SageMaker.ListModels',
      body: '{}',
      date: new Date(Date.now() - 20 * 60_000),
    });
    expect(skewed.status).toBe(403);
    expect(((await skewed.json()) as { message: string; __type: string }).message).toContain(
      'Signature expired',
    );
    const unsigned = await fetch(server.url + '/', {
      method: 'POST',
      headers: {
        'x-amz-target': 'SageMaker.ListModels',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{}',
    });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
  });
});
