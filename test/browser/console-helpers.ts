import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Locator,
  type Page,
} from 'playwright-core';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { sdkConfig, startTestServer, type TestServer } from '../helpers/server.js';
import { JOB_SCRIPT, SYSTEM_PYTHON, TEST_IMAGE } from '../training-helpers.js';

export const SCREENSHOTS = path.resolve('test-output/screenshots');
const DIST = path.resolve('web/dist/index.html');

/**
 * Builds the console once when web/dist is missing (a fresh checkout); `npm test` builds it first
 * (scripts/test.sh), so this is only a fallback for running one file by hand.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  if (fs.existsSync(DIST)) return;
  // Browser test files run in parallel workers: one builds, the others wait for it.
  const lock = path.resolve('web/.build-lock');
  try {
    fs.mkdirSync(lock);
  } catch {
    for (let i = 0; i < 1800 && !fs.existsSync(DIST); i++)
      await new Promise((r) => setTimeout(r, 100));
    if (fs.existsSync(DIST)) return;
    fs.rmSync(lock, { recursive: true, force: true });
    return ensureConsoleBuilt();
  }
  try {
    // Built aside and renamed into place, so a waiting worker never sees half a build.
    const tmp = path.resolve('web/.dist-building');
    fs.rmSync(tmp, { recursive: true, force: true });
    execFileSync(
      'npx',
      [
        'vite',
        'build',
        '--config',
        'web/vite.config.ts',
        '--logLevel',
        'warn',
        '--outDir',
        tmp,
        '--emptyOutDir',
      ],
      { stdio: 'inherit', timeout: 170_000 },
    );
    fs.renameSync(tmp, path.dirname(DIST));
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Debian's chromium, headless; never downloads a browser. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.APIARY_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

export interface ConsolePage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors, page errors and CSP violations seen so far. */
  readonly problems: string[];
  /** Every answer with status >= 400, as `STATUS METHOD /path` (the browser logs each as an error). */
  readonly httpErrors: string[];
}

export async function openConsole(browser: Browser, server: TestServer): Promise<ConsolePage> {
  const context = await browser.newContext({
    baseURL: server.url,
    viewport: { width: 1400, height: 900 },
  });
  const page = await context.newPage();
  const problems: string[] = [];
  const httpErrors: string[] = [];
  page.on('console', (m) => {
    // Chromium logs each >= 400 answer as "Failed to load resource"; httpErrors lists them precisely.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
      problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400)
      httpErrors.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  return { context, page, problems, httpErrors };
}

/** Signs in through the login form with the root access key. */
export async function signIn(cp: ConsolePage, server: TestServer): Promise<void> {
  const { page } = cp;
  await page.goto('/_apiary/ui/');
  await page.getByLabel('User name').fill(server.credentials.accessKeyId);
  await page.getByLabel('Password').fill(server.credentials.secretAccessKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Side navigation' }).waitFor();
}

export async function shot(page: Page, name: string): Promise<void> {
  // Every table on a page fits the box it scrolls in at the sessions' 1,400 px: no column hides
  // past its container's edge (long cells wrap).
  const overflowing = await page.evaluate(() =>
    [...document.querySelectorAll('table')]
      .filter((t) => t.scrollWidth > t.parentElement!.clientWidth)
      .map(
        (t) =>
          `'${t.getAttribute('aria-label')}' ${t.scrollWidth} px in ${t.parentElement!.clientWidth} px`,
      ),
  );
  expect(overflowing, `tables wider than their box on ${name}`).toEqual([]);
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Waits until the locator is visible (Playwright's own expect is not part of playwright-core). */
export async function visible(locator: Locator, timeout = 15_000): Promise<void> {
  await locator.first().waitFor({ state: 'visible', timeout });
}

/** Waits until the locator matches exactly `n` elements; fails with the last count. */
export async function count(locator: Locator, n: number, timeout = 15_000): Promise<void> {
  const end = Date.now() + timeout;
  let last = -1;
  while (Date.now() < end) {
    last = await locator.count();
    if (last === n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected ${n} elements for ${String(locator)}, found ${last}`);
}

/**
 * What the training and tuning pages drive: the small custom algorithm
 * (test/training-fixtures/job.py logs three epochs of loss and writes a model) registered as
 * TEST_IMAGE, and a `data` bucket holding one training object.
 */
export async function prepareCustomAlgorithm(server: TestServer): Promise<void> {
  await server.apiary.training.registerImage(TEST_IMAGE, [SYSTEM_PYTHON, JOB_SCRIPT]);
  const s3 = new S3Client(sdkConfig(server));
  await s3.send(new CreateBucketCommand({ Bucket: 'data' }));
  await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'train/a.txt', Body: 'hello' }));
  s3.destroy();
}

/** One browser test file's world: the server, its SDK clients, and a console page in Chromium. */
export interface ConsoleSession extends ConsolePage {
  readonly server: TestServer;
  readonly browser: Browser;
  readonly sm: SageMakerClient;
  readonly s3: S3Client;
}

export interface ConsoleSessionOptions {
  /** Starts the server; default `startTestServer()`. */
  readonly start?: () => Promise<TestServer>;
  /** Runs after the server is up and before the browser opens (users, buckets, fixtures). */
  readonly prepare?: (session: Pick<ConsoleSession, 'server' | 'sm' | 's3'>) => Promise<void>;
  /** Signs in with the root access key before the first test; default true. */
  readonly signIn?: boolean;
}

/**
 * Registers the file's beforeAll / afterAll: builds the console if needed, starts the server,
 * prepares it, opens a console page (signed in unless told not to) and tears it all down after.
 * The returned session's members are there from the first test on.
 */
export function consoleSession(options: ConsoleSessionOptions = {}): ConsoleSession {
  let live: ConsoleSession | undefined;
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  let cp: ConsolePage | undefined;
  let sm: SageMakerClient | undefined;
  let s3: S3Client | undefined;
  beforeAll(async () => {
    await ensureConsoleBuilt();
    server = await (options.start ?? startTestServer)();
    sm = new SageMakerClient(sdkConfig(server));
    s3 = new S3Client(sdkConfig(server));
    await options.prepare?.({ server, sm, s3 });
    browser = await launchBrowser();
    cp = await openConsole(browser, server);
    live = { ...cp, server, browser, sm, s3 };
    if (options.signIn ?? true) await signIn(cp, server);
  });
  afterAll(async () => {
    await cp?.context.close();
    await browser?.close();
    sm?.destroy();
    s3?.destroy();
    await server?.close();
  });
  const get = <K extends keyof ConsoleSession>(key: K): ConsoleSession[K] => {
    if (!live)
      throw new Error(
        `the console session's ${key} is used before its beforeAll ran (or after it failed)`,
      );
    return live[key];
  };
  return {
    get server() {
      return get('server');
    },
    get browser() {
      return get('browser');
    },
    get sm() {
      return get('sm');
    },
    get s3() {
      return get('s3');
    },
    get context() {
      return get('context');
    },
    get page() {
      return get('page');
    },
    get problems() {
      return get('problems');
    },
    get httpErrors() {
      return get('httpErrors');
    },
  };
}
