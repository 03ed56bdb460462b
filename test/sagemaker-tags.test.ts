import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddTagsCommand,
  CreateModelCommand,
  DeleteModelCommand,
  DeleteTagsCommand,
  ListTagsCommand,
  paginateListTags,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';

// Tags belong to resources: AddTags / ListTags / DeleteTags resolve the ARN to the resource.

let server: TestServer;
let sm: SageMakerClient;
const arn = 'arn:aws:sagemaker:us-east-1:000000000000:model/tagged-model';

beforeAll(async () => {
  server = await startTestServer();
  sm = new SageMakerClient(sdkConfig(server));
  await sm.send(
    new CreateModelCommand({
      ModelName: 'Tagged-Model',
      PrimaryContainer: { Image: 'example/detector:1', ModelDataUrl: 's3://bees/model.tar.gz' },
      Tags: [{ Key: 'team', Value: 'bees' }],
    }),
  );
});
afterAll(async () => {
  sm?.destroy();
  await server?.close();
});

const tagKeys = async (resourceArn: string): Promise<string[]> =>
  ((await sm.send(new ListTagsCommand({ ResourceArn: resourceArn }))).Tags ?? []).map(
    (t) => t.Key!,
  );

describe('SageMaker tags with the AWS SDK', () => {
  it('treats an ARN spelled in another case as the same resource', async () => {
    await sm.send(
      new AddTagsCommand({
        ResourceArn: 'arn:aws:sagemaker:us-east-1:000000000000:model/TAGGED-MODEL',
        Tags: [{ Key: 'stage', Value: 'dev' }],
      }),
    );
    expect(await tagKeys(arn)).toEqual(['stage', 'team']);
    expect(await tagKeys('arn:aws:sagemaker:us-east-1:000000000000:model/Tagged-Model')).toEqual([
      'stage',
      'team',
    ]);
    await sm.send(
      new DeleteTagsCommand({
        ResourceArn: 'arn:aws:sagemaker:us-east-1:000000000000:model/Tagged-Model',
        TagKeys: ['stage'],
      }),
    );
    expect(await tagKeys(arn)).toEqual(['team']);
  });

  it.each([
    ['another account', 'arn:aws:sagemaker:us-east-1:111111111111:model/tagged-model'],
    ['another region', 'arn:aws:sagemaker:eu-west-1:000000000000:model/tagged-model'],
    ['a name nobody has', 'arn:aws:sagemaker:us-east-1:000000000000:model/no-such-model'],
    ['another resource type', 'arn:aws:sagemaker:us-east-1:000000000000:endpoint/tagged-model'],
    ['a type Apiary does not have', 'arn:aws:sagemaker:us-east-1:000000000000:app/x'],
    [
      'a notebook instance nobody has',
      'arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/x',
    ],
  ])('answers ValidationException for an ARN of %s', async (_what, other) => {
    for (const command of [
      new AddTagsCommand({ ResourceArn: other, Tags: [{ Key: 'k', Value: 'v' }] }),
      new ListTagsCommand({ ResourceArn: other }),
      new DeleteTagsCommand({ ResourceArn: other, TagKeys: ['k'] }),
    ]) {
      await expect(sm.send(command as ListTagsCommand)).rejects.toMatchObject({
        name: 'ValidationException',
        message: `Resource ${other} does not exist`,
      });
    }
    expect(await tagKeys(arn)).toEqual(['team']);
  });

  it('forgets the tags of a deleted resource: a new one of that name starts bare', async () => {
    const model = {
      ModelName: 'short-lived',
      PrimaryContainer: { Image: 'example/detector:1', ModelDataUrl: 's3://bees/model.tar.gz' },
    };
    const shortLived = 'arn:aws:sagemaker:us-east-1:000000000000:model/short-lived';
    await sm.send(new CreateModelCommand({ ...model, Tags: [{ Key: 'old', Value: '1' }] }));
    await sm.send(new DeleteModelCommand({ ModelName: 'short-lived' }));
    await expect(sm.send(new ListTagsCommand({ ResourceArn: shortLived }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await sm.send(new CreateModelCommand(model));
    expect(await tagKeys(shortLived)).toEqual([]);
  });

  it('pages ListTags by MaxResults (default 50) and NextToken, and the paginator reads all 80', async () => {
    const many = Array.from({ length: 80 }, (_, i) => ({
      Key: `k${String(i).padStart(2, '0')}`,
      Value: `${i}`,
    }));
    await sm.send(new AddTagsCommand({ ResourceArn: arn, Tags: many.slice(0, 40) }));
    await sm.send(new AddTagsCommand({ ResourceArn: arn, Tags: many.slice(40) }));

    const first = await sm.send(new ListTagsCommand({ ResourceArn: arn }));
    expect(first.Tags).toHaveLength(50);
    expect(first.Tags![0]).toEqual({ Key: 'k00', Value: '0' });
    expect(first.NextToken).toEqual(expect.any(String));
    const second = await sm.send(
      new ListTagsCommand({ ResourceArn: arn, NextToken: first.NextToken }),
    );
    expect(second.Tags!.map((t) => t.Key)).toEqual([...many.slice(50).map((t) => t.Key), 'team']);
    expect(second.NextToken).toBeUndefined();

    const wide = await sm.send(new ListTagsCommand({ ResourceArn: arn, MaxResults: 100 }));
    expect(wide.Tags).toHaveLength(81);
    expect(wide.NextToken).toBeUndefined();

    const all: string[] = [];
    for await (const page of paginateListTags({ client: sm, pageSize: 60 }, { ResourceArn: arn })) {
      expect(page.Tags!.length).toBeLessThanOrEqual(60);
      all.push(...page.Tags!.map((t) => t.Key!));
    }
    expect(all).toEqual([...many.map((t) => t.Key), 'team']);
  });

  it('holds AddTags and ListTags to the service model: 50 tags a call, MaxResults of at least 50, a real token', async () => {
    const tooMany = Array.from({ length: 51 }, (_, i) => ({ Key: `x${i}`, Value: '' }));
    await expect(
      sm.send(new AddTagsCommand({ ResourceArn: arn, Tags: tooMany })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Member must have length less than or equal to 50'),
    });
    await expect(
      sm.send(new ListTagsCommand({ ResourceArn: arn, MaxResults: 10 })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Member must have value greater than or equal to 50'),
    });
    await expect(
      sm.send(new ListTagsCommand({ ResourceArn: arn, NextToken: 'garbage' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Invalid pagination token'),
    });
  });
});
