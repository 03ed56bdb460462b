import { describe, expect, it } from 'vitest';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkConfig } from '../helpers/server.js';
import { consoleSession, count, shot, visible } from './console-helpers.js';

const session = consoleSession({
  signIn: false,
  prepare: async ({ server }) => {
    await server.apiary.identity.createUser({
      username: 'ada',
      password: 'ada-password-1',
      role: 'admin',
    });
    await server.apiary.identity.createUser({
      username: 'wil',
      password: 'wil-password-1',
      role: 'worker',
    });
  },
});

describe('console: access keys', () => {
  it("an admin creates a key (secret shown once), deactivates and deletes it, and manages a worker's", async () => {
    const { page, server } = session;
    await page.goto('/_apiary/ui/');
    await page.getByLabel('User name').fill('ada');
    await page.getByLabel('Password').fill('ada-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Side navigation' }).waitFor();
    await page.getByRole('link', { name: 'Access keys' }).click();
    await visible(page.getByText('Keys of ada (at most two)'));
    await page.getByRole('button', { name: 'Create access key' }).click();
    const secret = page.getByTestId('new-secret');
    await visible(secret);
    const secretAccessKey = (await secret.textContent())!.trim();
    expect(secretAccessKey).toHaveLength(40);
    const keys = await server.apiary.accessKeys.list('ada');
    expect(keys).toHaveLength(1);
    const accessKeyId = keys[0]!.accessKeyId;
    await visible(page.getByRole('row', { name: new RegExp(`${accessKeyId}.*Active`) }));
    await shot(page, '90-access-keys');

    // The key signs S3 requests as ada (an admin: everything root may).
    const s3 = new S3Client({
      ...sdkConfig(server),
      credentials: { accessKeyId, secretAccessKey },
    });
    expect((await s3.send(new ListBucketsCommand({}))).Buckets).toEqual([]);

    await page.getByRole('radio', { name: accessKeyId }).click();
    await page.getByRole('button', { name: 'Deactivate' }).click();
    await visible(page.getByRole('row', { name: new RegExp(`${accessKeyId}.*Inactive`) }));
    await expect(s3.send(new ListBucketsCommand({}))).rejects.toThrow(/Access Key Id/);
    s3.destroy();
    await page.getByRole('radio', { name: accessKeyId }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await visible(page.getByText('No access keys'));

    // An admin manages another user's keys.
    await page.getByLabel('User', { exact: true }).fill('wil');
    await page.getByRole('button', { name: 'Show keys' }).click();
    await visible(page.getByText('Keys of wil (at most two)'));
    await page.getByRole('button', { name: 'Create access key' }).click();
    await visible(page.getByTestId('new-secret'));
    await count(page.getByRole('row', { name: /AKIA.*Active/ }), 1);
    expect((await server.apiary.accessKeys.list('wil')).map((k) => k.status)).toEqual(['Active']);
    expect(session.problems).toEqual([]);
    expect(session.httpErrors).toEqual([]);
  });

  it('a worker manages their own keys from the portal', async () => {
    const { browser, server } = session;
    const context = await browser.newContext({ baseURL: server.url });
    const page = await context.newPage();
    try {
      await page.goto('/_apiary/ui/');
      await page.getByLabel('User name').fill('wil');
      await page.getByLabel('Password').fill('wil-password-1');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/portal/);
      await page.getByRole('button', { name: 'wil' }).click();
      await page.getByRole('menuitem', { name: 'Access keys' }).click();
      await page.waitForURL(/\/portal\/access-keys/);
      await visible(page.getByText('Keys of wil (at most two)'));
      expect(await page.getByLabel('User', { exact: true }).count()).toBe(0);
      await page.getByRole('button', { name: 'Create access key' }).click();
      await visible(page.getByTestId('new-secret'));
      await count(page.getByRole('row', { name: /AKIA.*Active/ }), 2);
      await shot(page, '91-worker-access-keys');
      expect((await server.apiary.accessKeys.list('wil')).length).toBe(2);
      // A third is refused (IAM's limit): the button is disabled at two.
      expect(await page.getByRole('button', { name: 'Create access key' }).isDisabled()).toBe(true);
    } finally {
      await context.close();
    }
  });
});
