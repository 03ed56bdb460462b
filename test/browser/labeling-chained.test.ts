import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  CreateLabelingJobCommand,
  DescribeLabelingJobCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { createWorkerTeam, openTask, portalSession, submitTask } from '../helpers/portal.js';
import { sdkConfig, startTestServer, type TestServer } from '../helpers/server.js';
import { getText, PRE_BOX, putObject, uploadDataset, waitForStatus } from '../labeling-helpers.js';
import {
  ensureConsoleBuilt,
  launchBrowser,
  openConsole,
  shot,
  signIn,
  visible,
} from './console-helpers.js';

const PRE = (fn: string) => `arn:aws:lambda:us-east-1:432418664414:function:PRE-${fn}`;

let server: TestServer;
let browser: Browser;
let sm: SageMakerClient;
let data: Awaited<ReturnType<typeof uploadDataset>>;
let teamArn: string;

/** A one-worker box-family job over `manifestUri`, with its label category file. */
async function createJob(
  name: string,
  attr: string,
  manifestUri: string,
  pre: string,
  labels: string[],
  audit?: string,
  until: 'InProgress' | 'Failed' = 'InProgress',
): Promise<void> {
  await putObject(
    data.s3,
    'hive',
    `config/${name}.json`,
    JSON.stringify({
      'document-version': '2018-11-28',
      labels: labels.map((label) => ({ label })),
      ...(audit ? { auditLabelAttributeName: audit } : {}),
    }),
  );
  await sm.send(
    new CreateLabelingJobCommand({
      LabelingJobName: name,
      LabelAttributeName: attr,
      InputConfig: { DataSource: { S3DataSource: { ManifestS3Uri: manifestUri } } },
      OutputConfig: { S3OutputPath: 's3://hive/out' },
      RoleArn: 'arn:aws:iam::000000000000:role/labeling',
      LabelCategoryConfigS3Uri: `s3://hive/config/${name}.json`,
      HumanTaskConfig: {
        WorkteamArn: teamArn,
        UiConfig: {
          HumanTaskUiArn: 'arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/BoundingBox',
        },
        PreHumanTaskLambdaArn: pre,
        TaskTitle: name,
        TaskDescription: name,
        NumberOfHumanWorkersPerDataObject: 1,
        TaskTimeLimitInSeconds: 600,
      },
    }),
  );
  await waitForStatus(sm, name, [until]);
}

async function outputLine(job: string): Promise<Record<string, any>> {
  const done = await waitForStatus(sm, job, ['Completed']);
  const uri = done.LabelingJobOutput!.OutputDatasetS3Uri!;
  expect(uri).toBe(`s3://hive/out/${job}/manifests/output/output.manifest`);
  return JSON.parse((await getText(data.s3, 'hive', uri.replace('s3://hive/', ''))).trim());
}

beforeAll(async () => {
  await ensureConsoleBuilt();
  server = await startTestServer();
  browser = await launchBrowser();
  sm = new SageMakerClient(sdkConfig(server));
  data = await uploadDataset(server, 'hive', {
    n: 1,
    labels: ['bee', 'drone'],
    width: 400,
    height: 300,
  });
  teamArn = await createWorkerTeam(server, sm);
}, 120_000);

afterAll(async () => {
  sm?.destroy();
  await browser?.close();
  await server?.close();
});

describe('chained labeling jobs through the portal', () => {
  it('bounding box → adjustment (a box moved) → verification (rated), with Ground Truth output shapes', async () => {
    // 1. Bounding boxes: the worker draws one bee.
    await createJob('boxes', 'bee-boxes', data.manifestUri, PRE_BOX, ['bee', 'drone']);
    const cp = await portalSession(browser, server);
    const { page } = cp;
    await page.getByRole('button', { name: 'Start working on boxes' }).waitFor();
    {
      const { canvas, drag } = await openTask(page, 'boxes');
      await drag([40, 50], [140, 130]);
      expect(await canvas.getAttribute('aria-label')).toBe('Image to label, 1 boxes');
      await submitTask(page);
    }
    const first = await outputLine('boxes');
    expect(first['bee-boxes-metadata'].type).toBe('groundtruth/object-detection');
    const [drawn] = first['bee-boxes'].annotations;
    expect(drawn).toMatchObject({ class_id: 0, left: 40, top: 50, width: 100, height: 80 });

    // 2. Adjustment on the first job's output manifest: the box starts on the canvas; the worker
    //    moves it 20 px right.
    await createJob(
      'adjust',
      'adjusted-boxes',
      's3://hive/out/boxes/manifests/output/output.manifest',
      PRE('AdjustmentBoundingBox'),
      ['bee', 'drone'],
      'bee-boxes',
    );
    {
      const { canvas, drag } = await openTask(page, 'adjust');
      expect(await canvas.getAttribute('aria-label')).toBe('Image to label, 1 boxes');
      await drag([90, 90], [110, 90]);
      await shot(page, 'portal-adjustment-task');
      await submitTask(page);
    }
    const second = await outputLine('adjust');
    // The earlier label stays; the new attribute has the same structure plus adjustment-status.
    expect(second['bee-boxes']).toEqual(first['bee-boxes']);
    expect(second['adjusted-boxes'].image_size).toEqual([{ width: 400, height: 300, depth: 3 }]);
    expect(second['adjusted-boxes'].annotations).toEqual([
      { class_id: 0, left: 60, top: 50, width: 100, height: 80 },
    ]);
    expect(second['adjusted-boxes-metadata']).toMatchObject({
      type: 'groundtruth/object-detection',
      'adjustment-status': 'adjusted',
      'class-map': { '0': 'bee' },
      'human-annotated': 'yes',
      'job-name': 'labeling-job/adjust',
    });
    expect(second['adjusted-boxes-metadata'].objects).toHaveLength(1);

    // 3. Verification on the adjustment's output: the worker sees the adjusted box (read-only),
    //    rates it and leaves a comment.
    await createJob(
      'verify',
      'verified',
      's3://hive/out/adjust/manifests/output/output.manifest',
      PRE('VerificationBoundingBox'),
      ['Correct', 'Incorrect'],
      'adjusted-boxes',
    );
    {
      const { canvas, drag } = await openTask(page, 'verify');
      expect(await canvas.getAttribute('aria-label')).toBe('Image to label, 1 boxes');
      await drag([40, 40], [200, 200]); // read-only: drawing adds nothing
      expect(await canvas.getAttribute('aria-label')).toBe('Image to label, 1 boxes');
      await page.getByRole('button', { name: '1 Correct', exact: true }).click(); // key 1 · Correct
      await page.getByLabel('Comment').fill('Tight enough');
      await page.getByLabel('Comment').blur();
      await submitTask(page);
    }
    const third = await outputLine('verify');
    expect(third['adjusted-boxes']).toEqual(second['adjusted-boxes']);
    expect(third.verified).toBe(0);
    expect(third['verified-metadata']).toMatchObject({
      'class-name': 'Correct',
      type: 'groundtruth/label-verification',
      'human-annotated': 'yes',
      'job-name': 'labeling-job/verify',
      'worker-feedback': [{ comment: 'Tight enough' }],
    });
    expect(cp.problems).toEqual([]);
    await cp.context.close();
  });

  it('an adjustment job that reuses the audited LabelAttributeName fails with the reason', async () => {
    await createJob(
      'same-attr',
      'bee-boxes',
      's3://hive/out/boxes/manifests/output/output.manifest',
      PRE('AdjustmentBoundingBox'),
      ['bee', 'drone'],
      'bee-boxes',
      'Failed',
    );
    const d = await waitForStatus(sm, 'same-attr', ['Failed']);
    expect(d.FailureReason).toMatch(
      /LabelAttributeName other than the one it audits \(bee-boxes\)/,
    );
  });

  it('the console chains a verification job from a completed box job', async () => {
    const cp = await openConsole(browser, server);
    const { page } = cp;
    await signIn(cp, server);
    await page.goto('/_apiary/ui/labeling-jobs/boxes');
    await page.getByRole('button', { name: 'Chain: adjust / verify' }).click();
    await page.getByRole('menuitem', { name: 'Verify its boxes' }).click();
    await expect.poll(() => page.getByLabel('Job name').inputValue()).toBe('boxes-verified');
    expect(await page.getByLabel('Label attribute name').inputValue()).toBe('bee-boxes-verified');
    await visible(page.getByText('Chained from boxes: verification'));
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Next' }).click(); // the team created above is chosen
    expect(await page.getByLabel('Label 1').inputValue()).toBe('Correct');
    expect(await page.getByLabel('Label 2').inputValue()).toBe('Incorrect');
    await page.getByRole('button', { name: 'Create labeling job' }).click();
    await shot(page, 'console-chain-created');
    await visible(page.getByRole('heading', { name: 'Progress' }), 30_000);
    const d = await sm.send(new DescribeLabelingJobCommand({ LabelingJobName: 'boxes-verified' }));
    expect(d.InputConfig!.DataSource!.S3DataSource!.ManifestS3Uri).toBe(
      's3://hive/out/boxes/manifests/output/output.manifest',
    );
    expect(d.HumanTaskConfig!.PreHumanTaskLambdaArn).toMatch(/PRE-VerificationBoundingBox$/);
    const cfg = JSON.parse(
      await getText(data.s3, 'hive', d.LabelCategoryConfigS3Uri!.replace('s3://hive/', '')),
    );
    expect(cfg.auditLabelAttributeName).toBe('bee-boxes');
    await waitForStatus(sm, 'boxes-verified', ['InProgress']);
    expect(cp.problems).toEqual([]);
    await cp.context.close();
  });
});
