import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';
import { runTutorial } from './helpers/tutorial-run.js';

let server: TestServer;
let work: string;

beforeAll(async () => {
  server = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-tutorial-'));
  await server.apiary.identity.createUser({
    username: 'alice',
    password: 'alice-password-1',
    role: 'worker',
    groups: ['bee-team'],
  });
});
afterAll(async () => {
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('docs/tutorial.md', () => {
  it('runs as written: label with a worker, split, train, deploy, invoke, tune, clean up', async () => {
    const { code, out, labelled } = await runTutorial({
      url: server.url,
      work,
      worker: { name: 'alice', password: 'alice-password-1' },
      env: {
        ...server.env,
        TUTORIAL_IMAGES: '16',
        TUTORIAL_EPOCHS: '1',
        TUTORIAL_IMAGE_SHAPE: '64',
        TUTORIAL_TUNING_JOBS: '2',
      },
    });
    expect(code, out).toBe(0);
    expect(labelled).toBe(16);
    expect(out).toMatch(/Completed \{'TotalLabeled': 16/);
    expect(out).toMatch(/13 train, 3 validation|12 train, 4 validation/);
    expect(out).toContain('Training job ended with status: Completed');
    expect(out).toMatch(/validation:mAP\s+\d\.\d{4}/);
    expect(out).toContain('Endpoint status: InService');
    expect(out).toMatch(/test-\d+\.jpg \[/);
    expect(out).toMatch(/best: bees-hpo-\d+-00\d-[0-9a-f]{8}/);
    expect(out).toContain('endpoint deleted');
  }, 600_000);
});
