import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { CreateLabelingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { sdkConfig, startTestServer, type TestServer } from '../helpers/server.js';
import { BOX_PALETTE } from '../../src/shared/boxes.js';
import { getText, PRE_BOX, putObject, uploadDataset, waitForStatus } from '../labeling-helpers.js';
import { createWorkerTeam, portalSession, taskCanvas } from '../helpers/portal.js';
import { launchBrowser, shot } from './console-helpers.js';

const XSS = '<img src=x onerror=alert(1)>';

/** Rebuilds the SPA when the portal's sources are newer than the build (running this file by hand). */
function ensurePortalBuilt(): void {
  const dist = path.resolve('web/dist/index.html');
  const src = path.resolve('web/src/portal');
  const newest = Math.max(
    ...fs.readdirSync(src).map((f) => fs.statSync(path.join(src, f)).mtimeMs),
  );
  if (fs.existsSync(dist) && fs.statSync(dist).mtimeMs > newest) return;
  execFileSync('npx', ['vite', 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
    stdio: 'inherit',
  });
}

let server: TestServer;
let browser: Browser;
let sm: SageMakerClient;
let data: Awaited<ReturnType<typeof uploadDataset>>;

beforeAll(async () => {
  ensurePortalBuilt();
  server = await startTestServer();
  browser = await launchBrowser();
  sm = new SageMakerClient(sdkConfig(server));
  data = await uploadDataset(server, 'hive', {
    n: 1,
    labels: ['bee', `drone ${XSS}`],
    width: 400,
    height: 300,
    names: [`"><svg onload=alert(2)>.png`],
  });
  const template = `<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-bounding-box name="boundingBox" src="{{ task.input.taskObject | grant_read_access }}" header="Box every bee ${XSS}" labels="{{ task.input.labels | to_json | escape }}">
    <full-instructions header="Bounding box instructions"><p>Draw tight boxes. ${XSS}</p><script>alert(3)</script></full-instructions>
    <short-instructions>
      <h3><span style="color: rgb(0, 138, 0);">Good example</span></h3><p>Tight around the bee &lt;b&gt;</p>
      <h3><span style="color: rgb(230, 0, 0);">Bad example</span></h3><p>Loose box &lt;img src=x onerror=alert(1)&gt;</p><p>Raw markup ${XSS} is dropped</p>
    </short-instructions>
  </crowd-bounding-box>
</crowd-form>`;
  await putObject(data.s3, 'hive', 'templates/box.liquid.html', template);
  const teamArn = await createWorkerTeam(server, sm);
  await sm.send(
    new CreateLabelingJobCommand({
      LabelingJobName: 'hive-boxes',
      LabelAttributeName: 'bee-boxes',
      InputConfig: { DataSource: { S3DataSource: { ManifestS3Uri: data.manifestUri } } },
      OutputConfig: { S3OutputPath: 's3://hive/out' },
      RoleArn: 'arn:aws:iam::000000000000:role/labeling',
      LabelCategoryConfigS3Uri: data.labelsUri,
      HumanTaskConfig: {
        WorkteamArn: teamArn,
        UiConfig: { UiTemplateS3Uri: 's3://hive/templates/box.liquid.html' },
        PreHumanTaskLambdaArn: PRE_BOX,
        TaskTitle: `Bees ${XSS}`,
        TaskDescription: 'Draw a box around every bee',
        NumberOfHumanWorkersPerDataObject: 1,
        TaskTimeLimitInSeconds: 600,
      },
    }),
  );
  await waitForStatus(sm, 'hive-boxes', ['InProgress']);
});
afterAll(async () => {
  sm?.destroy();
  await browser?.close();
  await server?.close();
});

describe('the worker portal', () => {
  it('lets a worker draw boxes with the mouse and keys, keeps the draft over a reload, and submits pixels', async () => {
    const dialogs: string[] = [];
    const cp = await portalSession(browser, server, {
      beforeLoad: (page) =>
        page.on('dialog', (d) => {
          dialogs.push(d.message());
          void d.dismiss();
        }),
    });
    const { page } = cp;
    expect(cp.response!.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByRole('button', { name: 'Start working on hive-boxes' }).click();

    const { canvas, drag } = await taskCanvas(page);
    // Escaped everywhere: payloads show as text and never run.
    expect(await page.getByText(`Bees ${XSS}`).count()).toBeGreaterThan(0);
    expect(await page.getByText(`Loose box ${XSS}`).count()).toBe(1);
    expect(await page.getByText('Raw markup', { exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: `drone ${XSS}` }).count()).toBe(1);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.locator('svg[onload]').count()).toBe(0);

    // Label swatches take the shared palette's colours (label i, colour i), as the boxes do.
    const swatches = await page
      .locator('.apiary-labels .apiary-swatch')
      .evaluateAll((els) => els.map((e) => getComputedStyle(e).backgroundColor));
    expect(swatches).toEqual(
      BOX_PALETTE.slice(0, 2).map(
        (c) =>
          `rgb(${parseInt(c.slice(1, 3), 16)}, ${parseInt(c.slice(3, 5), 16)}, ${parseInt(c.slice(5, 7), 16)})`,
      ),
    );

    await drag([40, 50], [140, 130]); // a bee
    await page.keyboard.press('Escape'); // deselect: a label key would relabel the selected box
    await page.keyboard.press('2'); // label 2 for the next box
    await drag([200, 60], [300, 200]); // a drone
    await page.keyboard.press('Control+z');
    expect(await canvas.getAttribute('aria-label')).toBe('Image to label, 1 boxes');
    await page.keyboard.press('Control+Shift+z');
    expect(await canvas.getAttribute('aria-label')).toBe('Image to label, 2 boxes');
    await drag([300, 220], [380, 290]); // a mistake…
    await page.keyboard.press('Delete'); // …deleted (a fresh box is selected)
    expect(await canvas.getAttribute('aria-label')).toBe('Image to label, 2 boxes');
    // Move the bee box right by 10 pixels.
    await drag([90, 90], [100, 90]);
    await page.getByTestId('save-state').getByText('Saved').waitFor();
    await shot(page, 'portal-task-drawn');

    // Reload mid-task: the draft comes back from the server.
    await page.reload();
    await canvas.waitFor();
    await page.waitForFunction(
      "document.querySelector('canvas')?.getAttribute('aria-label') === 'Image to label, 2 boxes'",
    );
    await page.waitForFunction("Number(document.querySelector('canvas')?.dataset.scale ?? 0) > 0");
    await page.keyboard.press('Enter');
    await page.getByText('No more tasks for you in this job right now.').waitFor();

    const done = await waitForStatus(sm, 'hive-boxes', ['Completed']);
    expect(done.LabelingJobOutput!.OutputDatasetS3Uri).toBe(
      's3://hive/out/hive-boxes/manifests/output/output.manifest',
    );
    const line = JSON.parse(
      (await getText(data.s3, 'hive', 'out/hive-boxes/manifests/output/output.manifest')).trim(),
    );
    expect(line['bee-boxes'].image_size).toEqual([{ width: 400, height: 300, depth: 3 }]);
    const anns = line['bee-boxes'].annotations as {
      class_id: number;
      left: number;
      top: number;
      width: number;
      height: number;
    }[];
    expect(anns).toHaveLength(2);
    const near = (a: number, b: number) => Math.abs(a - b) <= 2;
    const bee = anns.find((a) => a.class_id === 0)!;
    const drone = anns.find((a) => a.class_id === 1)!;
    expect(
      [bee.left, bee.top, bee.width, bee.height].every((v, i) => near(v, [50, 50, 100, 80][i]!)),
    ).toBe(true);
    expect(
      [drone.left, drone.top, drone.width, drone.height].every((v, i) =>
        near(v, [200, 60, 100, 140][i]!),
      ),
    ).toBe(true);
    expect(line['bee-boxes-metadata']['class-map']).toEqual({ '0': 'bee', '1': `drone ${XSS}` });
    expect(dialogs).toEqual([]);
    expect(cp.problems.filter((p) => !/status of 40[14]/.test(p))).toEqual([]);
  });
});
