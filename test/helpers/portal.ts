import { expect } from 'vitest';
import type { Browser, Locator, Page, Response } from 'playwright-core';
import { CreateWorkteamCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { openConsole, type ConsolePage } from '../browser/console-helpers.js';
import type { TestServer } from './server.js';

/** The worker the portal's browser tests sign in as. */
export const WORKER = { username: 'wren', password: 'wren-password', group: 'hive-team' } as const;

/**
 * Creates {@link WORKER} (role `worker`) and the work team `hive` whose members are the worker's
 * group; returns the team's ARN.
 */
export async function createWorkerTeam(server: TestServer, sm: SageMakerClient): Promise<string> {
  await server.apiary.identity.createUser({
    username: WORKER.username,
    password: WORKER.password,
    role: 'worker',
    groups: [WORKER.group],
  });
  const team = await sm.send(
    new CreateWorkteamCommand({
      WorkteamName: 'hive',
      Description: 'hive',
      MemberDefinitions: [{ OidcMemberDefinition: { Groups: [WORKER.group] } }],
    }),
  );
  return team.WorkteamArn!;
}

/** A page signed in to the worker portal, with the answer to its first load. */
export interface PortalSession extends ConsolePage {
  /** The answer to the first `GET /_apiary/ui/` (its headers carry the CSP). */
  readonly response: Response | null;
}

/**
 * Opens a fresh page in Chromium and signs {@link WORKER} in through the login form (the task
 * list comes next). `problems` and `httpErrors` see the page from its first load on; so do
 * listeners that `beforeLoad` adds.
 */
export async function portalSession(
  browser: Browser,
  server: TestServer,
  options: { readonly beforeLoad?: (page: Page) => void } = {},
): Promise<PortalSession> {
  const cp = await openConsole(browser, server);
  options.beforeLoad?.(cp.page);
  const response = await cp.page.goto('/_apiary/ui/');
  await cp.page.getByLabel('User name').fill(WORKER.username);
  await cp.page.getByLabel('Password').fill(WORKER.password);
  await cp.page.getByRole('button', { name: 'Sign in' }).click();
  return { ...cp, response };
}

/** The labeling canvas of the open task, with image-pixel → screen helpers. */
export interface TaskCanvas {
  readonly canvas: Locator;
  /** The screen point of image pixel (ix, iy). */
  at(ix: number, iy: number): { x: number; y: number };
  /** Drags the mouse between two image pixels (draws a box, or moves one). */
  drag(from: [number, number], to: [number, number]): Promise<void>;
}

/** Waits until the task's canvas is laid out (its scale is known), then measures it. */
export async function taskCanvas(page: Page): Promise<TaskCanvas> {
  const canvas = page.getByTestId('label-canvas');
  await canvas.waitFor();
  await expect.poll(async () => Number(await canvas.getAttribute('data-scale'))).toBeGreaterThan(0);
  const b = (await canvas.boundingBox())!;
  const scale = Number(await canvas.getAttribute('data-scale'));
  const ox = Number(await canvas.getAttribute('data-offset-x'));
  const oy = Number(await canvas.getAttribute('data-offset-y'));
  const at = (ix: number, iy: number) => ({ x: b.x + ox + ix * scale, y: b.y + oy + iy * scale });
  const drag = async (from: [number, number], to: [number, number]) => {
    const p = at(...from);
    const q = at(...to);
    await page.mouse.move(p.x, p.y);
    await page.mouse.down();
    await page.mouse.move((p.x + q.x) / 2, (p.y + q.y) / 2, { steps: 4 });
    await page.mouse.move(q.x, q.y, { steps: 4 });
    await page.mouse.up();
  };
  return { canvas, at, drag };
}

/** Opens the job's next task from the portal's task list and measures its canvas. */
export async function openTask(page: Page, job: string): Promise<TaskCanvas> {
  await page.goto('/_apiary/ui/');
  await page.getByRole('button', { name: `Start working on ${job}` }).click();
  return taskCanvas(page);
}

/** Waits for the draft to be saved, submits the task (Enter) and waits for the empty list. */
export async function submitTask(page: Page): Promise<void> {
  await page.getByTestId('save-state').getByText('Saved').waitFor();
  await page.keyboard.press('Enter');
  await page.getByText('No more tasks for you in this job right now.').waitFor();
}
