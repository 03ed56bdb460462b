import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';
import { documentToScript } from './helpers/tutorial-doc.js';
import { PortalClient } from './labeling-helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
let server: TestServer;
let work: string;

beforeAll(async () => {
  server = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-tutorial-'));
  fs.symlinkSync(path.join(ROOT, '.venv'), path.join(work, '.venv'));
  await server.apiary.identity.createUser({ username: 'alice', password: 'alice-password-1', role: 'worker', groups: ['bee-team'] });
});
afterAll(async () => {
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

interface Truth {
  [file: string]: { label: string; left: number; top: number; width: number; height: number }[];
}

/** The generator's pre-labelled manifest: what a careful worker would draw. */
function truthBoxes(): Truth {
  const truth: Truth = {};
  for (const line of fs.readFileSync(path.join(work, 'bees', 'output.manifest'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line) as { 'source-ref': string; 'bounding-box': { annotations: { left: number; top: number; width: number; height: number }[] } };
    truth[rec['source-ref'].split('/').pop()!] = rec['bounding-box'].annotations.map((a) => ({ label: 'bee', ...a }));
  }
  return truth;
}

/** A worker in the portal: takes tasks and submits the true boxes until the queue is empty. */
async function labelEverything(signal: { done: boolean }): Promise<number> {
  const alice = new PortalClient(server.url);
  expect((await alice.login('alice', 'alice-password-1')).status).toBe(200);
  let labelled = 0;
  let idleRounds = 0;
  while (!signal.done) {
    const jobs = (await alice.call('GET', '/_apiary/api/labeling/jobs')).json.jobs as { name: string }[];
    let progressed = false;
    for (const job of jobs) {
      for (;;) {
        const next = await alice.call('POST', `/_apiary/api/labeling/jobs/${job.name}/next`);
        const task = next.json?.task;
        if (!task) break;
        const truth = truthBoxes()[task.sourceName] ?? [];
        const img = await fetch(server.url + task.imageUrl, { headers: { cookie: alice.cookie } });
        expect(img.status).toBe(200);
        const submitted = await alice.call('POST', `/_apiary/api/labeling/tasks/${task.taskId}/submit`, {
          version: task.version,
          submissionId: `alice-${task.taskId}`,
          answer: { imageWidth: 128, imageHeight: 128, boxes: truth },
        });
        expect(submitted.status).toBe(200);
        labelled++;
        progressed = true;
      }
    }
    if (!progressed) {
      if (labelled > 0 && ++idleRounds > 3) break;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  return labelled;
}

describe('docs/tutorial.md', () => {
  it('runs as written: label with a worker, split, train, deploy, invoke, tune, clean up', async () => {
    const script = documentToScript(path.join(ROOT, 'docs', 'tutorial.md'));
    fs.writeFileSync(path.join(work, 'tutorial.py'), script);
    const env = {
      ...server.env,
      TUTORIAL_IMAGES: '16',
      TUTORIAL_EPOCHS: '1',
      TUTORIAL_IMAGE_SHAPE: '64',
      TUTORIAL_TUNING_JOBS: '2',
      PYTHONUNBUFFERED: '1',
    };
    const child = spawn('python3', ['tutorial.py'], { cwd: work, env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    const signal = { done: false };
    void exited.then(() => (signal.done = true));
    // The worker starts once the generator has written the truth manifest.
    while (!fs.existsSync(path.join(work, 'bees', 'output.manifest')) && !signal.done) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const labelled = signal.done ? 0 : await labelEverything(signal);
    const code = await exited;
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
