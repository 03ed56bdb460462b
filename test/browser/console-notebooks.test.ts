import { describe, expect, it } from 'vitest';
import {
  DescribeNotebookInstanceCommand,
  DescribeNotebookInstanceLifecycleConfigCommand,
} from '@aws-sdk/client-sagemaker';
import { consoleSession, shot, visible } from './console-helpers.js';

const session = consoleSession();

describe('console: notebook instances', () => {
  it('creates an instance with a lifecycle script, opens JupyterLab through Apiary and runs a cell', async () => {
    const { page, sm } = session;
    await page.goto('/_apiary/ui/notebook-instances');
    await page.getByRole('link', { name: 'Create notebook instance' }).click();
    await page.getByLabel('Notebook instance name').fill('console-nb');
    await page.getByRole('button', { name: 'Lifecycle configuration' }).click();
    await page.getByText('Create a new lifecycle configuration').click();
    await page.getByLabel('Lifecycle configuration name').fill('console-lc');
    await page
      .getByLabel('Start notebook script')
      .fill('#!/bin/bash\necho hello from the console > /home/ec2-user/SageMaker/hello.txt\n');
    await shot(page, '60-create-notebook-instance');
    await page.getByRole('button', { name: 'Create notebook instance' }).click();
    // The Actions column offers Open JupyterLab once the instance is InService (the list polls).
    await visible(page.getByRole('link', { name: 'Open JupyterLab' }), 90_000);
    await visible(page.getByRole('row', { name: /console-nb.*InService/ }));
    await shot(page, '61-notebook-instances');
    const lc = await sm.send(
      new DescribeNotebookInstanceLifecycleConfigCommand({
        NotebookInstanceLifecycleConfigName: 'console-lc',
      }),
    );
    expect(Buffer.from(lc.OnStart![0]!.Content!, 'base64').toString()).toContain(
      'hello from the console',
    );
    expect(
      (await sm.send(new DescribeNotebookInstanceCommand({ NotebookInstanceName: 'console-nb' })))
        .NotebookInstanceLifecycleConfigName,
    ).toBe('console-lc');
    expect(session.problems).toEqual([]);
    expect(session.httpErrors).toEqual([]);

    // The console session opens JupyterLab (the link opens a new tab; the same cookies apply).
    const [lab] = await Promise.all([
      page.context().waitForEvent('page'),
      page.getByRole('link', { name: 'Open JupyterLab' }).click(),
    ]);
    await lab!.waitForURL(/\/_apiary\/notebooks\/console-nb\/lab/);
    const card = lab!.locator('.jp-LauncherCard[data-category="Notebook"][title="conda_python3"]');
    await card.waitFor({ timeout: 60_000 });
    await card.click();
    const editor = lab!.locator('.jp-Notebook .jp-Cell .cm-content').first();
    await editor.waitFor({ timeout: 30_000 });
    // Type once the kernel is up (the status bar says so): keystrokes before that may be lost.
    await visible(lab!.getByText('conda_python3 | Idle'), 60_000);
    const code = 'print(open("hello.txt").read().strip(), 6 * 7)';
    await editor.click();
    await lab!.keyboard.type(code);
    expect(await editor.textContent()).toBe(code);
    await lab!.keyboard.press('Shift+Enter');
    await visible(
      lab!.locator('.jp-OutputArea-output').getByText('hello from the console 42'),
      60_000,
    );
    // No prompt to fetch Jupyter's news (an instance has no network; SageMaker's do not ask):
    // install.sh's settings override answers it — JupyterLab's defaults say Never.
    const defaults = await lab!.evaluate(async () => {
      const r = await fetch(
        '/_apiary/notebooks/console-nb/lab/api/settings/@jupyterlab/apputils-extension:notification',
      );
      const body = (await r.json()) as {
        schema: { properties: Record<string, { default?: unknown }> };
      };
      return {
        fetchNews: body.schema.properties.fetchNews?.default,
        checkForUpdates: body.schema.properties.checkForUpdates?.default,
      };
    });
    expect(defaults).toEqual({ fetchNews: 'false', checkForUpdates: false });
    expect(await lab!.getByText(/get notified about official Jupyter news/).count()).toBe(0);
    await shot(lab!, '62-jupyterlab-cell');
    await lab!.close();
  }, 240_000);
});
