import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { Browser } from 'playwright-core';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateLabelingJobCommand,
  CreateModelCommand,
  SageMakerClient,
  waitUntilEndpointInService,
} from '@aws-sdk/client-sagemaker';
import { ConsoleClient } from '../helpers/console-client.js';
import { createWorkerTeam, portalSession, submitTask, taskCanvas } from '../helpers/portal.js';
import { sdkConfig, type TestServer } from '../helpers/server.js';
import {
  BUILTIN_IMAGE,
  hostingFixtures,
  startHostingServer,
  uploadFixtures,
} from '../fixtures/hosting.js';
import { getText, PRE_BOX, putObject, uploadDataset, waitForStatus } from '../labeling-helpers.js';
import { ensureConsoleBuilt, launchBrowser, shot } from './console-helpers.js';

/** A dark 400×300 image with one bright rectangle: the oracle model "detects" it (score 0.9). */
const beeImage = () =>
  sharp({ create: { width: 400, height: 300, channels: 3, background: '#101010' } })
    .composite([
      {
        input: { create: { width: 120, height: 100, channels: 3, background: '#ffffff' } },
        left: 240,
        top: 150,
      },
    ])
    .png()
    .toBuffer();

let server: TestServer;
let browser: Browser;
let sm: SageMakerClient;
let data: Awaited<ReturnType<typeof uploadDataset>>;

async function createJob(name: string, endpoint: string, teamArn: string): Promise<void> {
  await sm.send(
    new CreateLabelingJobCommand({
      LabelingJobName: name,
      LabelAttributeName: 'bee-boxes',
      InputConfig: { DataSource: { S3DataSource: { ManifestS3Uri: data.manifestUri } } },
      OutputConfig: { S3OutputPath: 's3://hive/out' },
      RoleArn: 'arn:aws:iam::000000000000:role/labeling',
      LabelCategoryConfigS3Uri: data.labelsUri,
      HumanTaskConfig: {
        WorkteamArn: teamArn,
        UiConfig: {
          HumanTaskUiArn: 'arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/BoundingBox',
        },
        PreHumanTaskLambdaArn: PRE_BOX,
        TaskTitle: 'Bees',
        TaskDescription: 'Box every bee',
        NumberOfHumanWorkersPerDataObject: 1,
        TaskTimeLimitInSeconds: 600,
      },
      // The oracle's three boxes: the bright region (bee, 0.9), the whole image (drone, 0.2) and
      // its top-left quarter (drone, 0.1); a floor of 0.05 shows all three.
      Tags: [
        { Key: 'apiary:prelabel-endpoint', Value: endpoint },
        { Key: 'apiary:prelabel-min-score', Value: '0.05' },
      ],
    }),
  );
  await waitForStatus(sm, name, ['InProgress']);
}

beforeAll(async () => {
  await ensureConsoleBuilt();
  const fixtures = await hostingFixtures();
  server = await startHostingServer();
  browser = await launchBrowser();
  sm = new SageMakerClient(sdkConfig(server));
  const urls = await uploadFixtures(server, fixtures, ['oracle.tar.gz']);
  await sm.send(
    new CreateModelCommand({
      ModelName: 'oracle',
      PrimaryContainer: { Image: BUILTIN_IMAGE, ModelDataUrl: urls['oracle.tar.gz'] },
    }),
  );
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'oracle',
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: 'oracle',
          InitialInstanceCount: 1,
          InstanceType: 'ml.m5.large',
        },
      ],
    }),
  );
  await sm.send(
    new CreateEndpointCommand({ EndpointName: 'bees-od', EndpointConfigName: 'oracle' }),
  );
  await waitUntilEndpointInService(
    { client: sm, maxWaitTime: 120, minDelay: 1 },
    { EndpointName: 'bees-od' },
  );
  data = await uploadDataset(server, 'hive', { n: 1, labels: ['bee', 'drone'] });
  await putObject(data.s3, 'hive', 'images/bee-0.png', await beeImage(), 'image/png');
  const teamArn = await createWorkerTeam(server, sm);
  await createJob('prelabeled', 'bees-od', teamArn);
  await createJob('endpoint-gone', 'no-such-endpoint', teamArn);
}, 240_000);

afterAll(async () => {
  sm?.destroy();
  await browser?.close();
  await server?.close();
});

describe('pre-labeling in the worker portal', () => {
  it('shows the model boxes as suggestions; the worker keeps one, adjusts one, deletes one, adds one; the job records it', async () => {
    const cp = await portalSession(browser, server);
    const { page } = cp;

    // An endpoint that does not exist: the task opens without suggestions, with a notice.
    await page.getByRole('button', { name: 'Start working on endpoint-gone' }).click();
    await page.getByTestId('suggestion-notice').waitFor();
    expect(await page.getByTestId('suggestion-notice').textContent()).toMatch(
      /endpoint no-such-endpoint could not be asked.*Label it by hand/,
    );
    expect(await page.getByTestId('label-canvas').getAttribute('aria-label')).toBe(
      'Image to label, 0 boxes',
    );

    await page.goto('/_apiary/ui/');
    await page.getByRole('button', { name: 'Start working on prelabeled' }).click();
    const canvas = page.getByTestId('label-canvas');
    await canvas.waitFor();
    // The three suggestions start on the canvas.
    await expect.poll(() => canvas.getAttribute('aria-label')).toBe('Image to label, 3 boxes');
    const status = page.getByTestId('suggestion-status');
    expect(await status.textContent()).toContain('3 kept · 0 adjusted · 0 deleted · 0 added');
    expect(await page.getByText('3 suggested boxes from bees-od').count()).toBe(1);
    // Measured once the suggestions and their notice are laid out.
    const { at: screen, drag } = await taskCanvas(page);

    // Delete the whole-image "drone": select it where no other box lies, then Delete.
    const p = screen(330, 60);
    await page.mouse.click(p.x, p.y);
    await page.keyboard.press('Delete');
    expect(await canvas.getAttribute('aria-label')).toBe('Image to label, 2 boxes');
    // Adjust the top-left quarter "drone": move it 20 px right and 10 px down.
    await drag([60, 40], [80, 50]);
    await page.keyboard.press('Escape');
    // Add the box the model missed.
    await drag([20, 180], [140, 280]);
    expect(await canvas.getAttribute('aria-label')).toBe('Image to label, 3 boxes');
    expect(await status.textContent()).toContain('1 kept · 1 adjusted · 1 deleted · 1 added');
    await page.getByTestId('save-state').getByText('Saved').waitFor();
    await shot(page, 'portal-prelabel-suggestions');
    await submitTask(page);

    await waitForStatus(sm, 'prelabeled', ['Completed']);
    // The worker response records the model's boxes and what the worker did with each.
    const listed = await data.s3.send(
      new ListObjectsV2Command({
        Bucket: 'hive',
        Prefix: 'out/prelabeled/annotations/worker-response/iteration-1/0/',
      }),
    );
    expect(listed.Contents).toHaveLength(1);
    const response = JSON.parse(await getText(data.s3, 'hive', listed.Contents![0]!.Key!));
    const record = response.answers[0]['apiary:prelabel'];
    expect(record.suggestions.map((s: { label: string }) => s.label)).toEqual([
      'bee',
      'drone',
      'drone',
    ]);
    const actions = Object.fromEntries(
      record.edits.map((e: { action: string; suggestion?: number }) => [
        e.suggestion ?? 'new',
        e.action,
      ]),
    );
    expect(actions).toEqual({ 0: 'kept', 1: 'deleted', 2: 'moved', new: 'added' });
    const moved = record.edits.find((e: { action: string }) => e.action === 'moved');
    expect(moved.iou).toBeGreaterThan(0.6);
    expect(moved.iou).toBeLessThan(0.95);
    const boxes = response.answers[0].answerContent.boundingBox.boundingBoxes;
    expect(boxes).toHaveLength(3);

    // The per-job summary the console reads.
    const admin = await ConsoleClient.signIn(server);
    const summary = await (
      await admin.fetch('/_apiary/api/labeling/jobs/prelabeled/prelabel')
    ).json();
    expect(summary).toMatchObject({
      endpoint: 'bees-od',
      objectsWithSuggestions: 1,
      answers: 1,
      suggested: 3,
      kept: 1,
      moved: 1,
      deleted: 1,
      added: 1,
    });
    expect(cp.problems).toEqual([]);
    await cp.context.close();
  });
});
