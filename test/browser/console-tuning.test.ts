import { describe, expect, it } from 'vitest';
import { DescribeHyperParameterTuningJobCommand } from '@aws-sdk/client-sagemaker';
import { TEST_IMAGE } from '../training-helpers.js';
import { consoleSession, count, prepareCustomAlgorithm, shot, visible } from './console-helpers.js';

const session = consoleSession({ prepare: ({ server }) => prepareCustomAlgorithm(server) });

describe('console: hyperparameter tuning', () => {
  it('checks ranges before sending', async () => {
    const { page } = session;
    await page.goto('/_apiary/ui/tuning-jobs/create');
    await page.getByLabel('Range 1 minimum').fill('0');
    await page.getByLabel('Range 2 maximum').fill('4');
    await page.getByRole('button', { name: 'Create tuning job' }).click();
    await visible(page.getByText('Logarithmic scaling needs a minimum above 0.'));
    await visible(page.getByText('The minimum (8) is greater than the maximum (4).'));
    await visible(page.getByText('Enter a name.'));
    await shot(page, '40-create-tuning-job-validation');
    await page.getByLabel('Range 1 minimum').fill('0.001');
    await page.getByLabel('Range 2 maximum').fill('32');
  });

  it('tunes a custom algorithm, shows the leaderboard live and deploys the best job', async () => {
    const { page } = session;
    await page.getByLabel('Tuning job name').fill('console-tune');
    await page.getByLabel('Maximum training jobs').fill('2');
    await page.getByRole('radio', { name: 'Your own algorithm container' }).check();
    await page.getByLabel('Objective metric').fill('train:loss');
    await page.getByRole('button', { name: /^Objective Maximize/ }).click();
    await page.getByRole('option', { name: 'Minimize' }).click();
    await page.getByLabel('Training image').fill(TEST_IMAGE);
    await page.getByRole('button', { name: 'Add metric' }).click();
    await page.getByLabel('Metric 1 name').fill('train:loss');
    await page.getByLabel('Metric 1 regex').fill('loss=(\\S+)');
    await page.getByRole('radio', { name: 'File', exact: true }).check();
    await page.getByRole('button', { name: 'Remove' }).last().click();
    await page.getByRole('button', { name: /Channel 1 data type/ }).click();
    await page.getByRole('option', { name: 'S3Prefix' }).click();
    await page.getByLabel('Channel 1 S3 location').fill('s3://data/train/');
    await page.getByRole('button', { name: /Channel 1 record wrapper/ }).click();
    await page.getByRole('option', { name: 'None' }).click();
    await page.getByLabel('S3 output path').fill('s3://data/tuning/');
    await shot(page, '41-create-tuning-job');
    await page.getByRole('button', { name: 'Create tuning job' }).click();

    const board = page.getByRole('table', { name: 'Training jobs of the tuning job' });
    await visible(page.getByRole('heading', { name: 'Best training job' }), 60_000);
    await count(board.locator('tbody tr'), 2, 60_000);
    await visible(page.getByText('Completed').first(), 60_000);
    await visible(board.getByText('0.3333'));
    const d = await session.sm.send(
      new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'console-tune' }),
    );
    expect(d.HyperParameterTuningJobConfig?.HyperParameterTuningJobObjective).toEqual({
      Type: 'Minimize',
      MetricName: 'train:loss',
    });
    expect(d.HyperParameterTuningJobConfig?.ParameterRanges?.CategoricalParameterRanges).toEqual([
      { Name: 'optimizer', Values: ['sgd', 'adam'] },
    ]);
    await shot(page, '42-tuning-job-leaderboard');

    await page.getByRole('button', { name: 'Deploy best model' }).click();
    const best = d.BestTrainingJob!.TrainingJobName!;
    expect(await page.getByLabel('Model name').inputValue()).toBe(best);
    expect(await page.getByLabel('Location of model artifacts').inputValue()).toBe(
      `s3://data/tuning/${best}/output/model.tar.gz`,
    );
  });

  it('logged no browser console errors and no failed requests', () => {
    expect(session.problems).toEqual([]);
    expect(session.httpErrors).toEqual([]);
  });
});
