import { describe, expect, it } from 'vitest';
import { DescribeTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { TEST_IMAGE } from '../training-helpers.js';
import { consoleSession, prepareCustomAlgorithm, shot, visible } from './console-helpers.js';

const session = consoleSession({ prepare: ({ server }) => prepareCustomAlgorithm(server) });

describe('console: training jobs', () => {
  it('explains what is wrong before sending: names, required and out-of-range hyperparameters, channels', async () => {
    const { page } = session;
    await page.goto('/_apiary/ui/training-jobs/create');
    await page.getByLabel('Hyperparameter learning_rate value').fill('2');
    await page.getByRole('button', { name: 'Create training job' }).click();
    await visible(page.getByText('Fix the fields marked below.'));
    await visible(page.getByText('Enter a name.'));
    await visible(page.getByText('num_classes is required: an integer >= 1.'));
    await visible(page.getByText('Expected a number in (0, 1]; got 2.'));
    await visible(page.getByText('Enter an S3 URI such as s3://bucket/train/.'));
    await visible(page.getByText('Enter an S3 URI such as s3://bucket/output/.'));
    await shot(page, '20-create-training-job-validation');
  });

  it('creates a job with a custom algorithm image, File mode and a metric, and follows it live to Completed', async () => {
    const { page } = session;
    await page.getByLabel('Job name').fill('console-train');
    await page.getByRole('radio', { name: 'Your own algorithm container' }).check();
    await page.getByLabel('Training image').fill(TEST_IMAGE);
    await page.getByRole('radio', { name: 'File', exact: true }).check();
    // Custom images start without the built-in defaults; the two channel rows are the only ones.
    await page.getByRole('button', { name: 'Remove' }).last().click();
    await page.getByRole('button', { name: /Channel 1 data type/ }).click();
    await page.getByRole('option', { name: 'S3Prefix' }).click();
    await page.getByLabel('Channel 1 S3 location').fill('s3://data/train/');
    await page.getByLabel('Channel 1 content type').fill('text/plain');
    await page.getByRole('button', { name: /Channel 1 record wrapper/ }).click();
    await page.getByRole('option', { name: 'None' }).click();
    await page.getByRole('button', { name: 'Add metric' }).click();
    await page.getByLabel('Metric 1 name').fill('train:loss');
    await page.getByLabel('Metric 1 regex').fill('loss=(\\S+)');
    await page.getByRole('button', { name: 'Add hyperparameter' }).click();
    await page.getByLabel('Hyperparameter 1 name').fill('mode');
    await page.getByLabel('Hyperparameter mode value').fill('ok');
    await page.getByLabel('S3 output path').fill('s3://data/output/');
    await shot(page, '21-create-training-job');
    await page.getByRole('button', { name: 'Create training job' }).click();

    await visible(page.getByRole('heading', { name: 'Status history' }));
    // The page follows the job without reloads: status, transitions, log lines, metric chart.
    await visible(page.getByText('Completed').first(), 45_000);
    await visible(page.getByRole('table', { name: 'Status history' }).getByText('Uploading'));
    await visible(page.getByLabel('Training job log').getByText(/epoch=2 loss=0\.3333/));
    await visible(page.getByRole('table', { name: 'Final metrics' }).getByText('0.3333'));
    await visible(page.getByText('train:loss').first());
    const d = await session.sm.send(
      new DescribeTrainingJobCommand({ TrainingJobName: 'console-train' }),
    );
    expect(d.TrainingJobStatus).toBe('Completed');
    expect(d.HyperParameters).toEqual({ mode: 'ok' });
    expect(d.InputDataConfig?.[0]).toMatchObject({
      ChannelName: 'train',
      ContentType: 'text/plain',
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://data/train/' } },
    });
    await shot(page, '22-training-job-detail');

    // Completed → create a model from its artifacts, prefilled.
    await page.getByRole('button', { name: 'Create model' }).click();
    expect(await page.getByLabel('Location of model artifacts').inputValue()).toBe(
      's3://data/output/console-train/output/model.tar.gz',
    );
  });

  it('lists the job with its status', async () => {
    const { page } = session;
    await page.goto('/_apiary/ui/training-jobs');
    await visible(page.getByRole('link', { name: 'console-train' }));
    await visible(page.getByRole('table', { name: 'Training jobs' }).getByText('Completed'));
  });

  it('logged no browser console errors and no failed requests', () => {
    expect(session.problems).toEqual([]);
    expect(session.httpErrors).toEqual([]);
  });
});
