import { describe, expect, it } from 'vitest';
import { CreateBucketCommand, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { DescribeLabelingJobCommand } from '@aws-sdk/client-sagemaker';
import { PortalClient, png } from '../labeling-helpers.js';
import { consoleSession, shot, visible } from './console-helpers.js';

const session = consoleSession({
  prepare: async ({ server, s3 }) => {
    await server.apiary.identity.createUser({
      username: 'alice',
      password: 'alice-password-1',
      role: 'worker',
      groups: ['bee-team'],
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'bees' }));
    for (let i = 0; i < 5; i++)
      await s3.send(
        new PutObjectCommand({
          Bucket: 'bees',
          Key: `images/bee-${i}.png`,
          Body: await png(128, 96, i),
          ContentType: 'image/png',
        }),
      );
  },
});

const BOX_ANSWER = {
  imageWidth: 128,
  imageHeight: 96,
  boxes: [{ label: 'bee', left: 30, top: 20, width: 50, height: 40 }],
};

/** Alice, in the worker portal's API, answers every task of the job until none are left (one box by default). */
async function aliceLabelsEverything(
  job = 'bees-label',
  answer: Record<string, unknown> = BOX_ANSWER,
): Promise<number> {
  const alice = new PortalClient(session.server.url);
  expect((await alice.login('alice', 'alice-password-1')).status).toBe(200);
  let n = 0;
  for (let round = 0; round < 50 && n < 5; round++) {
    const next = await alice.call('POST', `/_apiary/api/labeling/jobs/${job}/next`);
    const task = next.json?.task;
    if (!task) {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    const submitted = await alice.call(
      'POST',
      `/_apiary/api/labeling/tasks/${task.taskId}/submit`,
      {
        version: task.version,
        submissionId: `alice-${task.taskId}`,
        answer,
      },
    );
    expect(submitted.status).toBe(200);
    n++;
  }
  return n;
}

describe('console: labeling jobs', () => {
  it('walks the create wizard: data setup from a prefix, task type, a new work team, labels and instructions', async () => {
    const { page } = session;
    await page.goto('/_apiary/ui/labeling-jobs/create');
    await page.getByRole('button', { name: 'Next' }).click();
    await visible(
      page.getByText('Enter the input manifest, or complete the data setup from a prefix.'),
    );
    await page.getByLabel('Job name').fill('bees-label');
    // SageMaker's console default: the label attribute is the job name.
    expect(await page.getByLabel('Label attribute name').inputValue()).toBe('bees-label');
    await page.getByLabel('S3 location for input datasets').fill('s3://bees/images/');
    await page.getByRole('button', { name: 'Complete data setup' }).click();
    await visible(
      page.getByText(
        /^Data setup complete: 5 images in s3:\/\/bees\/images\/dataset-\d{8}T\d{6}\.manifest\.$/,
      ),
    );
    expect(await page.getByLabel('S3 location for output datasets').inputValue()).toBe(
      's3://bees/images/output/',
    );
    await shot(page, '30-labeling-wizard-data-setup');
    await page.getByRole('button', { name: 'Next' }).click();
    await visible(page.getByRole('radio', { name: 'Bounding box' }));
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('New team name').fill('bee-team');
    await page.getByLabel('Apiary user group').fill('bee-team');
    await page.getByRole('button', { name: 'Next' }).click();
    await visible(page.getByLabel('Label 1'));
    await page.getByLabel('Good example').fill('A tight box around the whole <bee>.');
    await shot(page, '31-labeling-wizard-labels');
    await page.getByRole('button', { name: 'Create labeling job' }).click();
    await page
      .getByRole('heading', { name: 'Progress' })
      .or(page.locator('[class*="awsui_error"]'))
      .first()
      .waitFor({ timeout: 15_000 });
    expect(
      await page.getByRole('heading', { name: 'Progress' }).count(),
      await page.locator('main').innerText(),
    ).toBe(1);
    await visible(page.getByText('0 of 5 dataset objects'));

    const d = await session.sm.send(
      new DescribeLabelingJobCommand({ LabelingJobName: 'bees-label' }),
    );
    expect(d.LabelAttributeName).toBe('bees-label');
    expect(d.LabelCategoryConfigS3Uri).toBe(
      's3://bees/images/output/bees-label/annotation-tool/data.json',
    );
    const config = JSON.parse(
      await (
        await session.s3.send(
          new GetObjectCommand({
            Bucket: 'bees',
            Key: 'images/output/bees-label/annotation-tool/data.json',
          }),
        )
      ).Body!.transformToString(),
    );
    expect(config.labels).toEqual([{ label: 'bee' }]);
    expect(config.instructions.shortInstruction).toContain(
      '<h3>Good example</h3><p>A tight box around the whole &lt;bee&gt;.</p>',
    );
  });

  it('follows the progress live while a worker labels, shows the labelled images with boxes, and splits them', async () => {
    const { page } = session;
    expect(await aliceLabelsEverything()).toBe(5);
    await visible(page.getByText('5 of 5 dataset objects'), 30_000);
    await visible(page.getByText('Completed').first(), 30_000);
    await visible(page.getByRole('heading', { name: 'Labelled images' }), 30_000);
    await visible(page.getByRole('img', { name: /bee-\d\.png, 1 box drawn/ }));
    await shot(page, '32-labeling-job-detail');

    await page.getByRole('button', { name: 'Split into train and validation' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Split' }).click();
    await visible(
      page.getByText(
        's3://bees/images/output/bees-label/manifests/output/train.manifest (4 lines) and s3://bees/images/output/bees-label/manifests/output/validation.manifest (1 lines).',
      ),
    );
    await shot(page, '33-labeling-split');
    await page.getByRole('button', { name: 'Create training job' }).click();
    expect(await page.getByLabel('Channel 1 S3 location').inputValue()).toBe(
      's3://bees/images/output/bees-label/manifests/output/train.manifest',
    );
    expect(await page.getByLabel('Channel 2 S3 location').inputValue()).toBe(
      's3://bees/images/output/bees-label/manifests/output/validation.manifest',
    );
  });

  it('creates an image-classification job in the wizard; the chosen labels show in the gallery', async () => {
    const { page } = session;
    await page.goto('/_apiary/ui/labeling-jobs/create');
    await page.getByLabel('Job name').fill('bees-classes');
    await page.getByLabel('S3 location for input datasets').fill('s3://bees/images/');
    await page.getByRole('button', { name: 'Complete data setup' }).click();
    await visible(page.getByText(/^Data setup complete: 5 images/));
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('radio', { name: /Image classification \(single label\)/ }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Next' }).click(); // the team created above is chosen
    await visible(page.getByRole('heading', { name: 'Image classification labeling tool' }));
    // Defaults switched with the task type: two labels (SageMaker's minimum for classification).
    expect(await page.getByLabel('Label 1').inputValue()).toBe('bee');
    expect(await page.getByLabel('Label 2').inputValue()).toBe('no-bee');
    await shot(page, '34-labeling-wizard-classification');
    await page.getByRole('button', { name: 'Create labeling job' }).click();
    await visible(page.getByText('0 of 5 dataset objects'), 15_000);
    const d = await session.sm.send(
      new DescribeLabelingJobCommand({ LabelingJobName: 'bees-classes' }),
    );
    expect(d.LabelAttributeName).toBe('bees-classes');
    expect(d.HumanTaskConfig?.PreHumanTaskLambdaArn).toMatch(/function:PRE-ImageMultiClass$/);
    expect(d.HumanTaskConfig?.UiConfig?.HumanTaskUiArn).toMatch(/human-task-ui\/ImageMultiClass$/);

    expect(await aliceLabelsEverything('bees-classes', { label: 'bee' })).toBe(5);
    await visible(page.getByText('5 of 5 dataset objects'), 30_000);
    await visible(page.getByRole('heading', { name: 'Labelled images' }), 30_000);
    await visible(page.getByText(/line 1 · bee \(bees-classes\)/));
    await shot(page, '35-labeling-classification-detail');
  });

  it('logged no browser console errors; no request failed', () => {
    expect(session.problems).toEqual([]);
    expect(session.httpErrors).toEqual([]);
  });
});
