import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  ListEndpointsCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { sdkConfig } from '../helpers/server.js';
import { hostingFixtures, startHostingServer, uploadFixtures } from '../fixtures/hosting.js';
import { consoleSession, count, shot, visible } from './console-helpers.js';

let modelUri: string;
let picturePath: string;

const session = consoleSession({
  start: startHostingServer,
  prepare: async ({ server }) => {
    const dir = await hostingFixtures();
    // The "oracle" model finds the white rectangle (score 0.9) and adds two weak boxes (0.2, 0.1).
    modelUri = (await uploadFixtures(server, dir, ['oracle.tar.gz']))['oracle.tar.gz']!;
    const raw = Buffer.alloc(200 * 100 * 3);
    for (let y = 25; y < 75; y++) raw.fill(255, (y * 200 + 50) * 3, (y * 200 + 150) * 3);
    picturePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-console-')), 'rect.png');
    fs.writeFileSync(
      picturePath,
      await sharp(raw, { raw: { width: 200, height: 100, channels: 3 } })
        .png()
        .toBuffer(),
    );
  },
});

describe('console: models, endpoint configurations, endpoints', () => {
  it('shows validation errors, then creates a model', async () => {
    const { page } = session;
    await page.goto('/_apiary/ui/models/create');
    await page.getByLabel('Model name').fill('bad_name!');
    await page.getByRole('button', { name: 'Create model' }).click();
    await visible(
      page.getByText('Use letters, digits and hyphens; begin and end with a letter or digit.'),
    );
    await visible(
      page.getByText('The built-in algorithm needs the model.tar.gz a training job wrote.'),
    );
    await shot(page, '10-create-model-validation');
    await page.getByLabel('Model name').fill('oracle-model');
    await page.getByLabel('Location of model artifacts').fill(modelUri);
    await page.getByRole('button', { name: 'Create model' }).click();
    await visible(page.getByRole('heading', { name: 'Container definition' }));
    await visible(page.getByText(modelUri));
    expect(new URL(page.url()).pathname).toBe('/_apiary/ui/models/oracle-model');

    // The server's own validation reaches the form: SageMaker's message for a duplicate.
    await page.goto('/_apiary/ui/models/create');
    await page.getByLabel('Model name').fill('Oracle-Model');
    await page.getByLabel('Location of model artifacts').fill(modelUri);
    await page.getByRole('button', { name: 'Create model' }).click();
    await visible(
      page.getByText(
        'ValidationException: Cannot create already existing model "arn:aws:sagemaker:us-east-1:000000000000:model/oracle-model".',
      ),
    );
    await shot(page, '11-create-model-server-error');
  });

  it('creates an endpoint configuration with a variant and an endpoint, and follows it to InService', async () => {
    const { page } = session;
    await page.goto('/_apiary/ui/models/oracle-model');
    await page.getByRole('button', { name: 'Create endpoint configuration' }).click();
    await page.getByLabel('Endpoint configuration name').fill('oracle-config');
    await page.getByLabel('Variant 1 weight').fill('2');
    await shot(page, '12-create-endpoint-config');
    await page.getByRole('button', { name: 'Create endpoint configuration' }).click();
    const variants = page.getByRole('table', { name: 'Production variants' });
    await visible(variants.getByText('AllTraffic'));
    await visible(variants.getByRole('link', { name: 'oracle-model' }));

    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.getByLabel('Endpoint name').fill('oracle');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    // Live: the status changes on the page without a reload.
    await visible(page.getByText('InService').first(), 60_000);
    const d = await session.sm.send(new DescribeEndpointCommand({ EndpointName: 'oracle' }));
    expect(d.EndpointStatus).toBe('InService');
  });

  it('tests the endpoint with an uploaded picture: boxes drawn, threshold slider and best-N', async () => {
    const { page } = session;
    await page.locator('input[type=file]').setInputFiles(picturePath);
    await page.getByRole('button', { name: 'Send request' }).click();
    const canvas = page.getByRole('img', { name: 'rect.png, 1 box drawn' });
    await visible(canvas);
    await visible(page.getByText('1 of 3 detections shown'));
    const detections = page.getByRole('table', { name: 'Detections' });
    await count(detections.locator('tbody tr'), 1);
    // The live traffic table counts the invocation (pushed by the server, no reload).
    // with the latency of that invocation, and what the running instance holds.
    await visible(
      page
        .getByRole('table', { name: 'Traffic and latency' })
        .getByRole('row', { name: /^AllTraffic 1 0 0 [\d.]+ ms [\d.]+ ms [\d.]+ ms just now$/ }),
    );
    await visible(
      page.getByRole('table', { name: 'Resources held' }).getByRole('row', {
        name: /^AllTraffic-1 Built-in \(ONNX Runtime\) ≈ [\d.]+ (B|KB|MB) \(growth at load\) \d+ threads?, no CPU when idle$/,
      }),
    );
    await shot(page, '13-test-invocation');

    // Threshold to 0: all three boxes; best N = 2 keeps the two best.
    const slider = page.getByRole('slider', { name: 'Confidence threshold' });
    await slider.focus();
    await page.keyboard.press('Home');
    await visible(page.getByRole('img', { name: 'rect.png, 3 boxes drawn' }));
    await page.getByLabel('Best N boxes').fill('2');
    await visible(page.getByRole('img', { name: 'rect.png, 2 boxes drawn' }));
    await visible(page.getByText('2 of 3 detections shown'));
    expect(await detections.locator('tbody tr td:nth-child(2)').allTextContents()).toEqual([
      '0.900',
      '0.200',
    ]);
    await shot(page, '14-test-invocation-threshold');
  });

  it('deletes from the lists', async () => {
    const { page } = session;
    await page.goto('/_apiary/ui/endpoints');
    // The list shows what each serving endpoint holds and when it was last invoked.
    await visible(page.getByRole('row', { name: /oracle InService just now 1 [\d.]+ (B|KB|MB)/ }));
    await shot(page, '15-endpoints-usage');
    await page.getByRole('checkbox', { name: 'Select oracle' }).check();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await visible(page.getByText('Deleted endpoint oracle.'));
    await visible(page.getByText('No endpoints'));
    expect((await session.sm.send(new ListEndpointsCommand({}))).Endpoints).toEqual([]);

    await page.goto('/_apiary/ui/endpoint-configs');
    await page.getByRole('checkbox', { name: 'Select oracle-config' }).check();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await visible(page.getByText('Deleted endpoint configuration oracle-config.'));

    await page.goto('/_apiary/ui/models');
    await page.getByRole('checkbox', { name: 'Select oracle-model' }).check();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await visible(page.getByText('No models'));
    await shot(page, '16-deleted');
  });

  it('lists the loaded models of a multi-model endpoint and compares a shadow with production', async () => {
    const { page, sm, s3, server } = session;
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'models',
        Key: 'mme/bees.tar.gz',
        CopySource: 'models/fixtures/oracle.tar.gz',
      }),
    );
    await sm.send(
      new CreateModelCommand({
        ModelName: 'many',
        PrimaryContainer: {
          Image: 'object-detection:1',
          ModelDataUrl: 's3://models/mme/',
          Mode: 'MultiModel',
        },
      }),
    );
    await sm.send(
      new CreateModelCommand({
        ModelName: 'one',
        PrimaryContainer: { Image: 'object-detection:1', ModelDataUrl: modelUri },
      }),
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'extras',
        ProductionVariants: [
          {
            VariantName: 'Many',
            ModelName: 'many',
            InitialInstanceCount: 1,
            InstanceType: 'ml.m5.large',
          },
        ],
        ShadowProductionVariants: [
          {
            VariantName: 'Shadow',
            ModelName: 'one',
            InitialInstanceCount: 1,
            InstanceType: 'ml.m5.large',
          },
        ],
      }),
    );
    await sm.send(
      new CreateEndpointCommand({ EndpointName: 'extras', EndpointConfigName: 'extras' }),
    );
    // The form creates a serverless variant with data capture.
    await page.goto('/_apiary/ui/endpoint-configs/create');
    await page.getByLabel('Endpoint configuration name').fill('sls-config');
    await page.getByRole('button', { name: /Variant 1 model/ }).click();
    await page.getByRole('option', { name: 'one', exact: true }).click();
    await page.getByRole('button', { name: /Variant 1 instance type/ }).click();
    await page.getByRole('option', { name: 'Serverless, 2048 MB' }).click();
    await page.getByRole('checkbox', { name: 'Capture requests and responses' }).check();
    await page.getByLabel('Capture destination').fill('s3://models/capture');
    await page.getByLabel('Sampling percentage').fill('50');
    await shot(page, '18-create-serverless-capture-config');
    await page.getByRole('button', { name: 'Create endpoint configuration' }).click();
    await visible(page.getByText('Created endpoint configuration sls-config.'));
    const cfg = await sm.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: 'sls-config' }),
    );
    expect(cfg.ProductionVariants![0]).toMatchObject({
      VariantName: 'AllTraffic',
      ModelName: 'one',
      ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 20 },
    });
    expect(cfg.DataCaptureConfig).toMatchObject({
      InitialSamplingPercentage: 50,
      DestinationS3Uri: 's3://models/capture',
    });
    for (
      let i = 0;
      i < 600 &&
      (await sm.send(new DescribeEndpointCommand({ EndpointName: 'extras' }))).EndpointStatus !==
        'InService';
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const rt = new SageMakerRuntimeClient({ ...sdkConfig(server), maxAttempts: 1 });
    const r = await rt.send(
      new InvokeEndpointCommand({
        EndpointName: 'extras',
        TargetModel: 'bees.tar.gz',
        ContentType: 'image/png',
        Body: fs.readFileSync(picturePath),
      }),
    );
    rt.destroy();
    expect(r.InvokedProductionVariant).toBe('Many');
    await page.goto('/_apiary/ui/endpoints/extras');
    await visible(
      page
        .getByRole('table', { name: 'Loaded models' })
        .getByRole('row', { name: /^bees\.tar\.gz Many [\d.]+ (B|KB) 1 / }),
    );
    await visible(
      page
        .getByRole('table', { name: 'Shadow vs production' })
        .getByRole('row', { name: /^Shadow · Many 1 0 .* 100\.0 % of 1 1$/ }),
    );
    await shot(page, '17-multi-model-and-shadow');
    await sm.send(new DeleteEndpointCommand({ EndpointName: 'extras' }));
  });

  it('logged no browser console errors; the only failed request was the duplicate model', () => {
    expect(session.problems).toEqual([]);
    expect(session.httpErrors).toEqual(['400 POST /_apiary/api/sagemaker']);
  });
});
